import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckdbWarehouse } from './support/warehouses.js';
import { CliProject, finished, type CliResult } from './support/cli-project.js';
import { closeServer, listenOnLoopback, loopbackUrl } from './fakes/fake-http.js';
import type { ScenarioFake } from './support/destination-scenarios.js';
import { webhookScenarioFake } from './fakes/webhook-scenario-fake.js';
import { metaScenarioFake } from './fakes/meta-scenario-fake.js';
import { googleScenarioFake } from './fakes/google-scenario-fake.js';
import { googleDataManagerScenarioFake } from './fakes/google-data-manager-scenario-fake.js';
import { salesforceScenarioFake } from './fakes/salesforce-scenario-fake.js';
import { hubspotScenarioFake } from './fakes/hubspot-scenario-fake.js';
import { brazeScenarioFake } from './fakes/braze-scenario-fake.js';
import { mailchimpScenarioFake } from './fakes/mailchimp-scenario-fake.js';
import { iterableScenarioFake } from './fakes/iterable-scenario-fake.js';
import { klaviyoScenarioFake } from './fakes/klaviyo-scenario-fake.js';

/** Every destination that speaks HTTP, by its fake (whose config we point elsewhere). */
const HTTP_DESTINATIONS: Record<string, () => ScenarioFake> = {
  webhook: webhookScenarioFake,
  meta: metaScenarioFake,
  google_ads: googleScenarioFake,
  google_data_manager: googleDataManagerScenarioFake,
  salesforce: salesforceScenarioFake,
  hubspot: hubspotScenarioFake,
  braze: brazeScenarioFake,
  mailchimp: mailchimpScenarioFake,
  iterable: iterableScenarioFake,
  klaviyo: klaviyoScenarioFake,
};

const CHUNK = Buffer.alloc(64 * 1024, ' ');

/**
 * A host that answers every request 200 with a JSON body that never ends (as
 * fast as the client reads it), counting what each request was sent before
 * the client hung up.
 */
class EndlessBodyServer {
  readonly bytesPerRequest: number[] = [];
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = await listenOnLoopback(async (req, res) => {
      for await (const _ of req) void _;
      const slot = this.bytesPerRequest.push(0) - 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"results": [');
      while (!res.destroyed) {
        this.bytesPerRequest[slot]! += CHUNK.length;
        if (!res.write(CHUNK)) await writable(res);
      }
    });
    this.url = loopbackUrl(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

/** Resolves when the response can take more, or has closed. */
function writable(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** One project with a sync per HTTP destination, every URL of each (API, OAuth token endpoint) pointing at `url`. */
async function everyDestinationAt(
  url: string,
  extra: { destinations?: string[]; syncs?: string[]; env?: Record<string, string> } = {},
): Promise<{ project: CliProject; config: string; env: Record<string, string>; stop(): Promise<void> }> {
  const fakes = Object.entries(HTTP_DESTINATIONS).map(([name, make]) => ({ name, fake: make() }));
  let env: Record<string, string> = { ...extra.env };
  const destinations: string[] = [...(extra.destinations ?? [])];
  const syncs: string[] = [...(extra.syncs ?? [])];
  for (const { name, fake } of fakes) {
    await fake.start();
    env = { ...env, ...fake.env() };
    const dest = fake.destinationConfig().replace(/http:\/\/127\.0\.0\.1:\d+/g, url).replace(/\}\s*$/, ', maxAttempts: 2, retryBaseDelayMs: 5, timeoutMs: 60000 }');
    destinations.push(`    d_${name}: ${dest},`);
    syncs.push(`    s_${name}: { model: 'people', destination: 'd_${name}', key: '${fake.keyColumn ?? 'id'}', mode: 'mirror', fields: ${fake.fields()}, target: ${fake.target()} },`);
  }
  const config = `import { defineConfig, env } from 'audsync';
export default defineConfig({
  warehouse: __WAREHOUSE__,
  destinations: {
${destinations.join('\n')}
  },
  syncs: {
${syncs.join('\n')}
  },
});
void env;
`;
  const project = await CliProject.create(duckdbWarehouse, {
    'audsync.config.ts': config,
    'models/people.sql': `select id, email, first_name, last_name, phone, tier from {{source 'src' 'people'}}\n`,
  });
  await project.exec(
    'CREATE SCHEMA src',
    'CREATE TABLE src.people (id INTEGER, email VARCHAR, first_name VARCHAR, last_name VARCHAR, phone VARCHAR, tier VARCHAR)',
    `INSERT INTO src.people SELECT i, 'person' || i || '@example.com', 'First' || i, 'Last' || i, '+1555' || lpad(CAST(i AS VARCHAR), 7, '0'), 'gold' FROM generate_series(1, 5) AS t(i)`,
  );
  return {
    project,
    config,
    env,
    async stop() {
      for (const { fake } of fakes) await fake.stop();
      await project.cleanUp();
    },
  };
}

const SYNCS = Object.keys(HTTP_DESTINATIONS).map((name) => `s_${name}`);

/** Runs every sync; each fails with `error`, and nothing reaches its snapshot. */
async function expectEverySyncFailed(at: Awaited<ReturnType<typeof everyDestinationAt>>, error: RegExp): Promise<CliResult> {
  const r = await at.project.cli(['run', '--json'], at.env, 120_000);
  expect(r.code, r.stdout + r.stderr).toBe(1);
  for (const sync of SYNCS) {
    const f = finished(r, sync);
    expect(f.status, sync).toBe('failed');
    expect(f.error, sync).toMatch(error);
    expect(await at.project.count(`SELECT count(*) FROM audsync.snapshot__${sync}`), sync).toBe(0);
  }
  return r;
}

describe('a destination answering a body without end', () => {
  const hostile = new EndlessBodyServer();
  let at: Awaited<ReturnType<typeof everyDestinationAt>>;

  beforeAll(async () => {
    await hostile.start();
    at = await everyDestinationAt(hostile.url);
  });
  afterAll(async () => {
    await hostile.stop();
    await at?.stop();
  });

  it('stops reading at maxResponseBytes (4 MiB by default) and fails the sync clearly, for every HTTP destination', async () => {
    await expectEverySyncFailed(at, /response body larger than 4,194,304 bytes, not read further/);
    // Each answer stopped near the cap (plus what the sockets buffer), not at the timeout: at loopback speed
    // an unread endless body is gigabytes by then.
    expect(hostile.bytesPerRequest.length).toBeGreaterThan(0);
    for (const bytes of hostile.bytesPerRequest) expect(bytes).toBeLessThan(64 * 1024 * 1024);
  });

  it('a destination’s own maxResponseBytes binds its requests', async () => {
    const capped = at.config.replace(/(d_webhook: \{[^\n]*)timeoutMs: 60000 \}/, '$1timeoutMs: 60000, maxResponseBytes: 1024 }');
    expect(capped).not.toBe(at.config);
    at.project.write({ 'audsync.config.ts': capped });
    const r = await at.project.cli(['run', '--json', '--select', 's_webhook'], at.env, 120_000);
    expect(finished(r, 's_webhook').error).toMatch(/response body larger than 1,024 bytes, not read further/);
  });
});

describe('a destination answering with a redirect', () => {
  let elsewhere: http.Server;
  const reachedElsewhere: string[] = [];
  let mover: http.Server;
  const statuses = [301, 302, 303, 307, 308];
  let served = 0;
  let at: Awaited<ReturnType<typeof everyDestinationAt>>;

  beforeAll(async () => {
    elsewhere = await listenOnLoopback(async (req, res) => {
      reachedElsewhere.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const elsewhereUrl = loopbackUrl(elsewhere);
    // Each request is sent on to the other host, with every redirect status in turn.
    mover = await listenOnLoopback(async (req, res) => {
      for await (const _ of req) void _;
      const status = statuses[served++ % statuses.length]!;
      res.writeHead(status, { location: `${elsewhereUrl}${req.url ?? '/'}` }).end();
    });
    at = await everyDestinationAt(loopbackUrl(mover));
  });
  afterAll(async () => {
    await closeServer(mover);
    await closeServer(elsewhere);
    await at?.stop();
  });

  it('is never followed, by any HTTP destination: nothing reaches the other host, and each sync fails naming the Location', async () => {
    const r = await expectEverySyncFailed(at, /HTTP 30[12378] redirect to http:\/\/127\.0\.0\.1:\d+\/.*, not followed/);
    expect(served).toBeGreaterThanOrEqual(SYNCS.length);
    expect(reachedElsewhere).toEqual([]);
    for (const secret of Object.values(at.env)) expect(r.stdout + r.stderr).not.toContain(secret);
  });
});

/**
 * A host that echoes the credentials it was sent: an OAuth token endpoint mints
 * a fresh access token; every other request is refused with a 400 whose body
 * quotes the URL and headers it received (as some APIs' error pages do).
 */
class EchoServer {
  /** Credential-bearing values as received: Authorization (whole and after its scheme), API key headers, token query values. */
  readonly received = new Set<string>();
  readonly minted: string[] = [];
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = await listenOnLoopback(async (req, res) => {
      for await (const _ of req) void _;
      const url = new URL(req.url ?? '/', 'http://x');
      for (const name of ['authorization', 'api-key', 'x-api-key']) {
        const v = req.headers[name];
        if (typeof v !== 'string') continue;
        this.received.add(v);
        if (name === 'authorization') this.received.add(v.slice(v.indexOf(' ') + 1));
      }
      for (const [k, v] of url.searchParams) if (/token|key|secret/i.test(k)) this.received.add(v);
      if (/token/.test(url.pathname)) {
        const token = `minted-${randomBytes(12).toString('hex')}`;
        this.minted.push(token);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, instance_url: this.url }));
        return;
      }
      const echo = `ECHO-MARKER refused ${req.method} ${req.url} authorization=${req.headers.authorization ?? ''} api-key=${req.headers['api-key'] ?? req.headers['x-api-key'] ?? ''} headers=${JSON.stringify(req.headers)}`;
      const body = { message: echo, errorCode: 'ECHO', error: { code: 400, status: 'INVALID_ARGUMENT', message: echo, type: 'OAuthException' }, errors: [{ message: echo }], detail: echo, title: echo };
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    this.url = loopbackUrl(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

describe('a destination echoing back the credentials it was sent', () => {
  const echo = new EchoServer();
  // A webhook whose env() URL carries tokens in its query string (one needing percent-encoding), and a short API key.
  const QUERY_TOKEN = 'tok/en+SECRET=42';
  const PLAIN_TOKEN = 'PLAINTOKEN99';
  const SHORT_KEY = 'k9z';
  let at: Awaited<ReturnType<typeof everyDestinationAt>>;

  beforeAll(async () => {
    await echo.start();
    at = await everyDestinationAt(echo.url, {
      env: { ECHO_HOOK_URL: `${echo.url}/hook?token=${encodeURIComponent(QUERY_TOKEN)}&sig=${PLAIN_TOKEN}`, ECHO_SHORT_KEY: SHORT_KEY },
      destinations: [`    d_env_url: { type: 'webhook', url: env('ECHO_HOOK_URL'), headers: { 'x-api-key': env('ECHO_SHORT_KEY') }, maxAttempts: 2, retryBaseDelayMs: 5 },`],
      syncs: [`    s_env_url: { model: 'people', destination: 'd_env_url', key: 'id', mode: 'mirror', fields: { email: 'email' } },`],
    });
  });
  afterAll(async () => {
    await echo.stop();
    await at?.stop();
  });

  it('never shows a secret in any form it was sent, nor a token minted during the run, in output, status or any table', async () => {
    const r = await at.project.cli(['run', '--json'], at.env, 120_000);
    const status = await at.project.cli(['status', '--json'], at.env);
    const tables = await at.project.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'audsync'`);
    let stored = '';
    for (const { table_name } of tables) stored += JSON.stringify(await at.project.query(`SELECT * FROM audsync."${String(table_name)}"`));
    const everything = [r.stdout, r.stderr, status.stdout, status.stderr, stored].join('\n');
    // The echoes did arrive and were quoted: it is redaction, not silence, that keeps the secrets out.
    expect(everything).toContain('ECHO-MARKER');
    expect(everything).toContain('***');
    const long = new Set<string>([PLAIN_TOKEN, QUERY_TOKEN, encodeURIComponent(QUERY_TOKEN), ...echo.minted, ...echo.received]);
    for (const v of Object.values(at.env)) if (v.length >= 6) long.add(v);
    expect(echo.minted.length).toBeGreaterThan(0);
    for (const secret of long) {
      if (secret.length < 6) continue;
      expect(everything.includes(secret), `a secret reached the output: ${secret.slice(0, 4)}...`).toBe(false);
    }
    expect(echo.received.has(SHORT_KEY)).toBe(true);
    expect(everything).not.toMatch(new RegExp(`(?<![A-Za-z0-9])${SHORT_KEY}(?![A-Za-z0-9])`));
  });
});
