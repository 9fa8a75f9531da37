import { ConfigError, type OptionSpec } from '../../engine/destination/index.js';
import { BRAZE_ATTRIBUTE_NAME_MAX } from './braze-limits.js';

/** The sync's `target` for Braze, as the connector uses it. */
export interface BrazeTarget {
  /** Custom attribute that marks membership: true while a member. */
  readonly attribute: string;
  /** What the attribute becomes on removal: false, or null (unset on the profile). */
  readonly removeValue: false | null;
  /** Subscription group to subscribe new members to, only when configured. */
  readonly subscriptionGroupId: string | undefined;
  /** Unsubscribe removed members from that group; only when explicitly true. */
  readonly unsubscribeOnRemove: boolean;
}

export const BRAZE_TARGET_OPTIONS: Record<string, OptionSpec> = {
  attribute: { type: 'string', description: 'custom attribute set to true for members (default audsync_<sync name>)' },
  removeValue: { type: 'enum', values: ['false', 'null'], description: "value the attribute gets on removal: 'false' (default) or 'null' (unset)" },
  subscriptionGroupId: { type: 'string', description: 'subscription group to subscribe members to when they enter the audience (off unless set)' },
  unsubscribeOnRemove: { type: 'boolean', description: 'also unsubscribe removed members from subscriptionGroupId (default false: removal never touches consent)' },
};

/** Reads and checks the target; `at` is the config path for messages. */
export function readBrazeTarget(target: Readonly<Record<string, unknown>>, syncName: string, at: string): BrazeTarget {
  const attribute = typeof target.attribute === 'string' ? target.attribute : `audsync_${syncName}`;
  if (attribute.length === 0 || attribute.length > BRAZE_ATTRIBUTE_NAME_MAX || attribute.startsWith('$')) {
    throw new ConfigError(`${at}.attribute: Braze custom attribute names are 1 to ${BRAZE_ATTRIBUTE_NAME_MAX} characters and do not start with '$'`);
  }
  const subscriptionGroupId = typeof target.subscriptionGroupId === 'string' && target.subscriptionGroupId !== '' ? target.subscriptionGroupId : undefined;
  const unsubscribeOnRemove = target.unsubscribeOnRemove === true;
  if (unsubscribeOnRemove && subscriptionGroupId === undefined) {
    throw new ConfigError(`${at}.unsubscribeOnRemove: needs subscriptionGroupId (the group to unsubscribe removed members from)`);
  }
  return { attribute, removeValue: target.removeValue === 'null' ? null : false, subscriptionGroupId, unsubscribeOnRemove };
}
