import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** The image DESIGN.md §9's container fallback runs. */
const POSTGRES_IMAGE = 'postgres:16-alpine';
const POSTGRES_PORT = 5432;
const SKIP_NOTICE = '[audsync tests] PostgreSQL suite skipped: set AUDSYNC_TEST_POSTGRES_URL or start a Docker engine';
/** DROP DATABASE right after terminating its sessions can still see them leaving: retry briefly. */
const DROP_ATTEMPTS = 20;
const DROP_RETRY_MS = 100;

let found: Promise<string | undefined> | undefined;

/**
 * A PostgreSQL server for the suites: AUDSYNC_TEST_POSTGRES_URL if set; else a
 * throwaway container when a Docker engine is reachable (removed by
 * testcontainers' reaper when the test process exits); else undefined, with one
 * notice on stderr. Resolved once per test process.
 */
export function postgresTestUrl(): Promise<string | undefined> {
  found ??= findServer();
  return found;
}

async function findServer(): Promise<string | undefined> {
  const given = process.env.AUDSYNC_TEST_POSTGRES_URL;
  if (given) return given;
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    noticeSkippedOnce();
    return undefined;
  }
  const container = await new GenericContainer(POSTGRES_IMAGE)
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(POSTGRES_PORT)
    // The entrypoint starts the server twice (init, then for real): wait for the second.
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return `postgres://postgres@${container.getHost()}:${container.getMappedPort(POSTGRES_PORT)}/postgres`;
}

/** Test files run in separate worker processes: a marker file keyed by the runner's pid keeps the notice to one. */
function noticeSkippedOnce(): void {
  const marker = path.join(os.tmpdir(), `audsync-pg-skip-notice-${process.ppid}`);
  try {
    fs.closeSync(fs.openSync(marker, 'wx'));
  } catch {
    return;
  }
  process.stderr.write(`${SKIP_NOTICE}\n`);
}

/** A database of its own for one test file or project, dropped afterwards. */
export async function freshDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `audsync_t_${randomBytes(6).toString('hex')}`;
  await withClient(url, (c) => c.query(`CREATE DATABASE ${name}`));
  const own = new URL(url);
  own.pathname = `/${name}`;
  return {
    url: own.toString(),
    async drop() {
      await withClient(url, async (c) => {
        for (let attempt = 1; ; attempt++) {
          await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
          try {
            await c.query(`DROP DATABASE IF EXISTS ${name}`);
            return;
          } catch (e) {
            // 55006: object_in_use, a terminated session has not gone yet.
            if ((e as { code?: string }).code !== '55006' || attempt >= DROP_ATTEMPTS) throw e;
            await sleep(DROP_RETRY_MS);
          }
        }
      });
    },
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
