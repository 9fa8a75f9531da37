/**
 * What a sync sends, the vocabulary config, plan and destinations share: on
 * the lowest floor, so none of them imports another for it.
 * mirror: add, change, remove · upsert: add, change · add: new members only ·
 * update: changes only · remove: the model lists who to remove.
 */
export const SYNC_MODES = ['mirror', 'upsert', 'add', 'update', 'remove'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];
