import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allDialectNames, getDialect } from '../engine/warehouse/warehouse-registry.js';
import type { Dialect } from '../engine/warehouse/dialect.js';
import { createPlanSql, ensureSyncTablesSql, materializeMembersSql, streamPlanSql } from '../engine/plan/plan-sql.js';
import { syncTables, type SyncTables } from '../engine/plan/plan-tables.js';
import { abortRowsSql, commitBatchSql, logRangesSql, pendingFromLogSql, recountRunSql, uncertainRowsSql } from '../engine/state/plan-log-sql.js';
import { audienceEventsSql, emptyCounts, finishRunSql } from '../engine/state/state-sql.js';
import { releaseStaleRejectionsSql } from '../engine/state/rejection-sql.js';

/**
 * The exact statements each dialect sends, one file per case under
 * test/golden/<dialect>/. A change to the SQL shows as a diff of these files.
 * To accept a deliberate change: AUDSYNC_UPDATE_GOLDEN=1 npx vitest run test/golden-sql.test.ts
 * (then read the diff before committing).
 */
const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE = process.env.AUDSYNC_UPDATE_GOLDEN === '1';
const AT = '2026-01-01T00:00:00.000Z';

const CASES: Record<string, (d: Dialect, t: SyncTables) => string[]> = {
  'sync-tables': (d, t) => ensureSyncTablesSql(d, t),
  membership: (d, t) => [...materializeMembersSql(d, t, MEMBERSHIP, true), ...audienceEventsSql(d, 'audsync', t, 'm', 'r1', AT)],
  // Key and hash only: the fields are read again for the plan's rows (a run after the first).
  'membership-light': (d, t) => materializeMembersSql(d, t, MEMBERSHIP, false),
  'plan-mirror': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false }),
  'plan-mirror-light': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false, fieldsFrom: MEMBERSHIP }),
  'plan-mirror-reconciling': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false, withPending: true }),
  'plan-mirror-reconciling-light': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false, withPending: true, fieldsFrom: MEMBERSHIP }),
  'plan-full-refresh-reconciling': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: true, withPending: true }),
  'plan-update': (d, t) => createPlanSql(d, t, { mode: 'update', fullRefresh: false }),
  'plan-remove': (d, t) => createPlanSql(d, t, { mode: 'remove', fullRefresh: false }),
  // A sync with quarantined rows: they stay out of the plan while their fields are the same.
  'plan-mirror-quarantine': (d, t) => createPlanSql(d, t, { mode: 'mirror', fullRefresh: false, quarantineOf: 's' }),
  'plan-upsert-quarantine-light': (d, t) => createPlanSql(d, t, { mode: 'upsert', fullRefresh: false, quarantineOf: 's', fieldsFrom: MEMBERSHIP }),
  'plan-remove-quarantine': (d, t) => createPlanSql(d, t, { mode: 'remove', fullRefresh: false, quarantineOf: 's' }),
  'release-stale-rejections': (d, t) => [releaseStaleRejectionsSql(d, t, 's')],
  'plan-stream': (_d, t) => [streamPlanSql(t)],
  'commit-batch': (d, t) =>
    commitBatchSql(d, 'audsync', t, { runId: 'r1', sync: 's', batches: [{ ranges: [[1, 500], [1001, 1200]], attemptedAt: AT }], mayReplace: true, keepRemoved: false, settlesPending: true, hasFailed: true, hasRejected: true, hadTracked: true, quarantineAfterRuns: 3 }),
  // An initial load's batch: adds of keys the snapshot lacks, nothing pending, no failure.
  'commit-batch-new-members': (d, t) =>
    commitBatchSql(d, 'audsync', t, { runId: 'r1', sync: 's', batches: [{ ranges: [[1, 10000]], attemptedAt: AT }], mayReplace: false, keepRemoved: false, settlesPending: false, hasFailed: false, hasRejected: false, hadTracked: false, quarantineAfterRuns: 3 }),
  // Batches committed together: one transaction, each row keeping its own batch's attempt time.
  'commit-batch-group': (d, t) =>
    commitBatchSql(d, 'audsync', t, {
      runId: 'r1',
      sync: 's',
      batches: [
        { ranges: [[1, 10000]], attemptedAt: AT },
        { ranges: [[10001, 20000]], attemptedAt: '2026-01-01T00:00:01.000Z' },
      ],
      mayReplace: false,
      keepRemoved: false,
      settlesPending: false,
      hasFailed: false,
      hasRejected: true,
      hadTracked: false,
      quarantineAfterRuns: 3,
    }),
  'plan-log': (d, t) => [logRangesSql(d, t, 'r1', 'planned', [[1, 1200]], AT), logRangesSql(d, t, 'r1', 'intent', [[1, 500]], AT)],
  'settle-last-plan': (d, t) => [
    uncertainRowsSql(d, 'audsync', t, 'r0', 's', [[501, 1000]], AT),
    abortRowsSql(d, 'audsync', t, 'r0', 's', [[1001, 1200]], AT, 'not sent'),
    ...pendingFromLogSql(d, t, t.pending, 'r0', [[501, 1000]], [[1001, 1200]]),
    recountRunSql(d, 'audsync', 'r0', 's'),
  ],
  'finish-run': (d) => [finishRunSql(d, 'audsync', 'r1', 's', 'warning', AT, { ...emptyCounts(), members: 3, planned_add: 3, succeeded_add: 2, failed: 1 }, `1 failed: it's \\ odd`)],
};

/** A small projection: key, one plain field and one identifier (an e-mail), as compileMembership makes them. */
const MEMBERSHIP = {
  projected: 'SELECT CAST(m."id" AS VARCHAR) AS record_key,\n  m."tier" AS "f_0",\n  m."email" AS "f_1"\nFROM (\nselect id, tier, email from shop.customers\n) AS m',
  fieldsJson: `json_object('tier', p."f_0", 'email', p."f_1")`,
  invalidReason: `CASE WHEN p.record_key IS NULL THEN 'null key' WHEN p."f_1" IS NULL THEN 'no usable identifier' END`,
};

const render = (statements: string[]): string => `${statements.join(';\n\n')};\n`;

describe.each(allDialectNames())('golden SQL for %s', (name) => {
  const d = getDialect(name);
  const t = syncTables(d, 'audsync', 's', 'm');
  it.each(Object.keys(CASES))('%s', (kase) => {
    const file = path.join(GOLDEN_DIR, name, `${kase}.sql`);
    const actual = render(CASES[kase]!(d, t));
    if (UPDATE) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, actual);
    }
    expect(fs.existsSync(file), `missing ${path.relative(process.cwd(), file)}: run with AUDSYNC_UPDATE_GOLDEN=1 to record it`).toBe(true);
    expect(actual).toBe(fs.readFileSync(file, 'utf8'));
  });
});
