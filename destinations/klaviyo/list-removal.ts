import { type Operation, type RowResult, DestinationError } from '../../engine/destination/index.js';
import { describe, parseErrors, type KlaviyoApi } from './klaviyo-api.js';
import { KLAVIYO_MAX_FILTER_VALUES, KLAVIYO_MAX_LIST_REMOVE, KLAVIYO_MAX_SUPPRESS, KLAVIYO_PAGE_SIZE } from './klaviyo-limits.js';
import { identifiersOf, PROFILE_IDENTIFIERS, type ProfileIdentifier } from './profile-payload.js';

export interface RemoveSettings {
  listId: string;
  /** Also suppress the email globally (explicit opt-in; removing from a list alone never changes consent). */
  suppressOnRemove: boolean;
}

type Row = { readonly at: number; readonly op: Operation };

/** A pointer to one entry of a relationships body, e.g. `/data/3/id`. */
const ENTRY_POINTER = /^\/data\/(\d+)(\/|$)/;

/**
 * Removes rows from the list by Klaviyo profile id (the destination_record_id
 * kept when they were imported; looked up by identifier when there is none, as
 * in `remove` mode). Only the list membership changes: the profile, its consent
 * and its subscriptions stay as they are unless `suppressOnRemove` is set.
 */
export async function removeFromList(api: KlaviyoApi, rows: readonly Row[], s: RemoveSettings): Promise<Map<number, RowResult>> {
  const results = new Map<number, RowResult>();
  const ids = new Map<number, string>();
  const unknown: Row[] = [];
  for (const r of rows) {
    if (r.op.destinationRecordId) ids.set(r.at, r.op.destinationRecordId);
    else unknown.push(r);
  }
  const found = await lookUpProfileIds(api, unknown);
  for (const r of unknown) {
    const id = found.get(r.at);
    if (id !== undefined) ids.set(r.at, id);
    else if (Object.keys(identifiersOf(r.op.fields)).length === 0) {
      results.set(r.at, { status: 'rejected', code: 'missing_identifier', message: `no Klaviyo profile id and no ${PROFILE_IDENTIFIERS.join(', ')} value to find the profile by` });
    }
    // No profile with these identifiers: it cannot be in the list, so the removal holds already.
    else results.set(r.at, { status: 'succeeded' });
  }
  const toRemove = rows.filter((r) => ids.has(r.at));
  for (let i = 0; i < toRemove.length; i += KLAVIYO_MAX_LIST_REMOVE) {
    for (const [at, res] of await deleteRelationships(api, toRemove.slice(i, i + KLAVIYO_MAX_LIST_REMOVE), ids, s.listId)) results.set(at, res);
  }
  if (s.suppressOnRemove) await suppress(api, rows.filter((r) => results.get(r.at)?.status === 'succeeded'), results);
  return results;
}

async function deleteRelationships(api: KlaviyoApi, rows: Row[], ids: ReadonlyMap<number, string>, listId: string): Promise<Map<number, RowResult>> {
  const out = new Map<number, RowResult>();
  let pending = rows;
  for (let round = 0; pending.length > 0; round++) {
    const body = JSON.stringify({ data: pending.map((r) => ({ type: 'profile', id: ids.get(r.at) })) });
    const res = await api.write('DELETE', `/api/lists/${encodeURIComponent(listId)}/relationships/profiles`, body);
    if (res.status >= 200 && res.status < 300) {
      for (const r of pending) out.set(r.at, { status: 'succeeded', id: ids.get(r.at) ?? null });
      return out;
    }
    const errors = parseErrors(res.text);
    if (res.status === 404) {
      throw new DestinationError(`${api.who}: Klaviyo has no list ${JSON.stringify(listId)}${errors[0] ? ` (${describe(errors[0])})` : ''}`, {
        retryable: false,
        code: errors[0]?.code ?? '404',
        hint: 'Check target.listId: it must be the id of an existing Klaviyo list.',
      });
    }
    const blamed = new Map<number, string>();
    for (const e of errors) {
      const m = e.pointer ? ENTRY_POINTER.exec(e.pointer) : null;
      if (m && Number(m[1]) < pending.length) blamed.set(Number(m[1]), `${e.code}: ${describe(e)}`);
    }
    if (blamed.size === 0 || round > 0) {
      const why = errors[0] ? `${errors[0].code}: ${describe(errors[0])}` : `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
      for (const r of pending) out.set(r.at, { status: 'rejected', code: errors[0]?.code ?? String(res.status), message: `list removal refused: ${why}` });
      return out;
    }
    const rest: Row[] = [];
    pending.forEach((r, i) => {
      const reason = blamed.get(i);
      if (reason === undefined) rest.push(r);
      else out.set(r.at, { status: 'rejected', code: reason.slice(0, reason.indexOf(':')), message: reason });
    });
    pending = rest;
  }
  return out;
}

/**
 * Profile ids for rows that have none, found by the identifiers last sent
 * (external_id, then email, then phone_number) with `GET /api/profiles?filter=any(...)`.
 */
async function lookUpProfileIds(api: KlaviyoApi, rows: readonly Row[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const kind of PROFILE_IDENTIFIERS) {
    const wanted = new Map<string, number[]>();
    for (const r of rows) {
      if (out.has(r.at)) continue;
      const v = identifiersOf(r.op.fields)[kind];
      if (v !== undefined) wanted.set(v, [...(wanted.get(v) ?? []), r.at]);
    }
    const values = [...wanted.keys()];
    for (let i = 0; i < values.length; i += KLAVIYO_MAX_FILTER_VALUES) {
      const filter = `any(${kind},[${values.slice(i, i + KLAVIYO_MAX_FILTER_VALUES).map((v) => JSON.stringify(v)).join(',')}])`;
      const profiles = await api.readAll(`/api/profiles?filter=${encodeURIComponent(filter)}&fields[profile]=${PROFILE_IDENTIFIERS.join(',')}&page[size]=${KLAVIYO_PAGE_SIZE}`);
      for (const p of profiles) {
        const v = identifiersOf(p.attributes)[kind as ProfileIdentifier];
        for (const at of (v === undefined ? undefined : wanted.get(v)) ?? []) if (!out.has(at)) out.set(at, p.id);
      }
    }
  }
  return out;
}

/** The explicit opt-in: suppress the removed rows' emails (Bulk Suppress Profiles, 100 per request). */
async function suppress(api: KlaviyoApi, rows: readonly Row[], results: Map<number, RowResult>): Promise<void> {
  const withEmail: Array<{ at: number; email: string }> = [];
  for (const r of rows) {
    const email = identifiersOf(r.op.fields).email;
    if (email === undefined) results.set(r.at, { status: 'rejected', code: 'missing_email', message: 'removed from the list, but suppressOnRemove needs an email to suppress' });
    else withEmail.push({ at: r.at, email });
  }
  for (let i = 0; i < withEmail.length; i += KLAVIYO_MAX_SUPPRESS) {
    const part = withEmail.slice(i, i + KLAVIYO_MAX_SUPPRESS);
    const body = JSON.stringify({
      data: { type: 'profile-suppression-bulk-create-job', attributes: { profiles: { data: part.map((p) => ({ type: 'profile', attributes: { email: p.email } })) } } },
    });
    const res = await api.write('POST', '/api/profile-suppression-bulk-create-jobs', body);
    if (res.status >= 200 && res.status < 300) continue;
    const e = parseErrors(res.text)[0];
    for (const p of part) {
      results.set(p.at, { status: 'rejected', code: e?.code ?? String(res.status), message: `removed from the list, but suppression was refused: ${e ? describe(e) : `HTTP ${res.status}`}` });
    }
  }
}
