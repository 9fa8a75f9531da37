import { ConfigError, type OptionSpec } from '../../engine/destination/index.js';

/** Statuses a contact new to the Mailchimp audience may get in tag mode. */
export const NEW_CONTACT_STATUSES = ['transactional', 'subscribed', 'pending'] as const;
export type NewContactStatus = (typeof NEW_CONTACT_STATUSES)[number];

export interface MailchimpTarget {
  readonly listId: string;
  /** tag: membership is a tag, consent untouched. status: membership is the subscription status. */
  readonly membership: 'tag' | 'status';
  readonly tag: string;
  readonly statusIfNew: NewContactStatus;
}

/** Mailchimp tag names are at most 100 characters. */
const TAG_MAX = 100;

export const MAILCHIMP_TARGET_OPTIONS: Record<string, OptionSpec> = {
  listId: { type: 'string', required: true, description: 'audience (list) id' },
  membership: {
    type: 'enum',
    values: ['tag', 'status'],
    description: "'tag' (default): members carry a tag, subscription status untouched; 'status': members are subscribed and removals unsubscribed",
  },
  tag: { type: 'string', description: 'tag that marks members in tag mode (default audsync_<sync name>)' },
  statusIfNew: {
    type: 'enum',
    values: NEW_CONTACT_STATUSES,
    description: "status of contacts new to the audience in tag mode: 'transactional' (default, no marketing consent implied), 'subscribed' (they opted in elsewhere) or 'pending' (Mailchimp sends an opt-in email)",
  },
};

export function readMailchimpTarget(target: Readonly<Record<string, unknown>>, syncName: string, at: string): MailchimpTarget {
  const listId = String(target.listId ?? '');
  if (!/^[A-Za-z0-9]+$/.test(listId)) throw new ConfigError(`${at}.listId: expected a Mailchimp audience id such as 'a1b2c3d4e5'`);
  const tag = typeof target.tag === 'string' ? target.tag.trim() : `audsync_${syncName}`;
  if (tag.length === 0 || tag.length > TAG_MAX) throw new ConfigError(`${at}.tag: Mailchimp tag names are 1 to ${TAG_MAX} characters`);
  return {
    listId,
    membership: target.membership === 'status' ? 'status' : 'tag',
    tag,
    statusIfNew: (NEW_CONTACT_STATUSES as readonly unknown[]).includes(target.statusIfNew) ? (target.statusIfNew as NewContactStatus) : 'transactional',
  };
}
