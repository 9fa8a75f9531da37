import type { Operation, RowResult } from '../../engine/destination/index.js';
import type { BrazeTarget } from './braze-target.js';
import { BRAZE_SUBSCRIPTION_MAX_IDS } from './braze-limits.js';
import { externalIdOf } from './braze-attributes.js';
import { parseObject } from './braze-track-response.js';

export type SubscriptionState = 'subscribed' | 'unsubscribed';

/** One /v2/subscription/status/set request: ids share a state, at most 50 of them. */
export interface SubscriptionCall {
  readonly state: SubscriptionState;
  /** Positions in the batch of the rows this call is for. */
  readonly rows: readonly number[];
  readonly body: string;
}

/**
 * Which rows change subscription state, only when a group is configured.
 * A member is subscribed once, when first sent (an add without a recorded id):
 * re-sending a member later (a change, a full refresh) must not re-subscribe
 * someone who unsubscribed in the meantime. Removal unsubscribes only when
 * `unsubscribeOnRemove` says so explicitly.
 */
export function subscriptionCalls(ops: readonly Operation[], results: readonly RowResult[], target: BrazeTarget): SubscriptionCall[] {
  const group = target.subscriptionGroupId;
  if (group === undefined) return [];
  const byState: Record<SubscriptionState, number[]> = { subscribed: [], unsubscribed: [] };
  ops.forEach((op, i) => {
    if (results[i]?.status !== 'succeeded') return;
    if (op.op === 'add' && op.destinationRecordId === null) byState.subscribed.push(i);
    else if (op.op === 'remove' && target.unsubscribeOnRemove) byState.unsubscribed.push(i);
  });
  const calls: SubscriptionCall[] = [];
  for (const state of ['subscribed', 'unsubscribed'] as const) {
    const rows = byState[state];
    for (let i = 0; i < rows.length; i += BRAZE_SUBSCRIPTION_MAX_IDS) {
      const chunk = rows.slice(i, i + BRAZE_SUBSCRIPTION_MAX_IDS);
      const ids = chunk.map((r) => externalIdOf(ops[r]!));
      const body = JSON.stringify({ subscription_groups: [{ subscription_group_id: group, subscription_state: state, external_ids: ids }] });
      calls.push({ state, rows: chunk, body });
    }
  }
  return calls;
}

/** A subscription call Braze refused: its rows are rejected (the attribute write is retried with them next run). */
export function subscriptionRefusal(status: number, text: string, state: SubscriptionState): RowResult {
  const message = parseObject(text)?.message;
  const why = typeof message === 'string' ? message : text.slice(0, 300);
  return { status: 'rejected', code: `subscription_${status}`, message: `Braze refused to set subscription state ${state}: HTTP ${status}: ${why}` };
}
