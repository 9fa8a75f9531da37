/**
 * What a sync sends, and every rule that differs by mode, in one place: which
 * operations its plan keeps, how a member is sent, whether the model lists
 * members or removals, how removes are kept in the snapshot, and how the
 * removal guardrail reads. On the lowest floor, so config, plan, run and
 * destinations all read the same rules without importing one another.
 */
export const SYNC_MODES = ['mirror', 'upsert', 'add', 'update', 'remove'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/** An operation of a plan, as a destination receives it. */
export type Op = 'add' | 'change' | 'remove';

export interface ModeRules {
  /** One line for docs and errors. */
  readonly summary: string;
  /** The operations the plan keeps (the diff's others are dropped). */
  readonly ops: readonly Op[];
  /**
   * The model lists members to remove, not the audience: each listed member is
   * sent once as a remove. Every other mode diffs the audience against the snapshot.
   */
  readonly modelListsRemovals: boolean;
  /**
   * A member is sent as an add unless the destination holds it ('add-or-change'),
   * or always as a change ('change': the destination updates records it has and
   * skips the rest, never creating one).
   */
  readonly membersAs: 'add-or-change' | 'change';
  /** A removed member stays in the snapshot (remembered as removed, so it is never removed twice). */
  readonly snapshotKeepsRemoved: boolean;
  /**
   * What `maxRemovePercent` is a share of: the members the destination holds
   * ('snapshot'), or everything the sync will have removed, this run's included
   * ('removed': the destination's size is not known to a sync that only removes).
   */
  readonly removeShareOf: 'snapshot' | 'removed';
  /** `maxRemovePercent` when the sync sets none (undefined: the project default). */
  readonly defaultMaxRemovePercent: number | undefined;
}

const AUDIENCE = { modelListsRemovals: false, membersAs: 'add-or-change', snapshotKeepsRemoved: false, removeShareOf: 'snapshot', defaultMaxRemovePercent: undefined } as const;

export const MODES: Readonly<Record<SyncMode, ModeRules>> = {
  mirror: { ...AUDIENCE, summary: 'the destination holds exactly the audience: add, change, remove', ops: ['add', 'change', 'remove'] },
  upsert: { ...AUDIENCE, summary: 'add and change; nobody is removed', ops: ['add', 'change'] },
  add: { ...AUDIENCE, summary: 'new members only', ops: ['add'] },
  update: { ...AUDIENCE, summary: 'changes only, to records the destination already has', ops: ['change'], membersAs: 'change' },
  remove: {
    summary: 'the model lists who to remove; each is removed once',
    ops: ['remove'],
    modelListsRemovals: true,
    membersAs: 'add-or-change',
    snapshotKeepsRemoved: true,
    removeShareOf: 'removed',
    // An emptied model removes nothing here: the default that catches one in the other modes does not apply.
    defaultMaxRemovePercent: 100,
  },
};
