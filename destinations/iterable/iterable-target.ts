import { ConfigError, type OptionSpec } from '../../engine/destination/index.js';

export type IdentifyBy = 'email' | 'userId';

export interface IterableTarget {
  readonly listId: number;
  /** Which subscriber field names the user: email (default) or userId. */
  readonly identifyBy: IdentifyBy;
}

export const ITERABLE_TARGET_OPTIONS: Record<string, OptionSpec> = {
  listId: { type: 'number', required: true, description: 'id of the Iterable list (a static list)' },
  identifyBy: {
    type: 'enum',
    values: ['email', 'userId'],
    description: "'email' (default): subscribers are named by the email field (or the record key); 'userId': by the userId field (or the record key)",
  },
};

export function readIterableTarget(target: Readonly<Record<string, unknown>>, at: string): IterableTarget {
  const listId = target.listId;
  if (typeof listId !== 'number' || !Number.isSafeInteger(listId) || listId <= 0) {
    throw new ConfigError(`${at}.listId: expected the numeric id of an Iterable list, e.g. 123456`);
  }
  return { listId, identifyBy: target.identifyBy === 'userId' ? 'userId' : 'email' };
}
