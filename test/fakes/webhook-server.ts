import http from 'node:http';
import { closeServer, listenOnLoopback, readRequestText } from './fake-http.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** One operation as received on the wire. */
export interface WireOperation {
  op: 'add' | 'change' | 'remove';
  key: string;
  fields: Record<string, unknown>;
}

export interface ReceivedBatch {
  id: string;
  sync: string;
  runId: string;
  operations: WireOperation[];
  headers: http.IncomingHttpHeaders;
}

/** Fault knobs; change them between runs. */
export interface WebhookKnobs {
  /** Statuses to answer the next requests with, in order (e.g. [429, 503]); consumed one per request; 0 answers normally. */
  failNext: number[];
  /** Retry-After header sent with 429/503 from failNext. */
  retryAfter?: string;
  /** Every request waits this long before answering. */
  delayMs: number;
  /** Requests that never answer (the client's timeout must fire), consumed one per request. */
  hangNext: number;
  /** Keys refused per row with this reason. */
  rejectKeys: Map<string, string>;
  /** Return an id ("id-<key>") with each succeeded row. */
  returnIds: boolean;
  /** Keys answered with some other per-row status (e.g. 'error'), not applied to the audience. */
  otherStatus: Map<string, string>;
  /**
   * Requests applied to the audience and then never answered (the vendor applied
   * the batch, the answer is lost): consumed one per request.
   */
  applyThenHangNext: number;
  /** After applying a batch, wait this long before answering (a window in which to kill the client). */
  answerDelayMs: number;
  /** While true, applied batches wait for their answer (a run held open mid-stream); set false to let them go. */
  holdAnswers: boolean;
  /** A 2xx body to answer with instead of the results, after applying the batch (e.g. HTML, broken JSON). */
  answerBody?: string;
  /** Answer the next requests with this redirect, without applying them; consumed one per request. */
  redirectNext: Array<{ status: number; location: string }>;
}

/**
 * A receiver of audsync's webhook contract (destinations/webhook/README.md):
 * verifies the Standard Webhooks signature, keeps the audience as a set, and
 * answers per row. A real HTTP server on 127.0.0.1.
 */
export class FakeWebhookServer {
  readonly audience = new Map<string, Record<string, unknown>>();
  readonly batches: ReceivedBatch[] = [];
  /** Requests answered with an error status (from knobs). */
  readonly failures: number[] = [];
  /** The webhook-id of every request, answered or not, in arrival order. */
  readonly attemptIds: string[] = [];
  readonly knobs: WebhookKnobs = { failNext: [], delayMs: 0, hangNext: 0, rejectKeys: new Map(), returnIds: true, otherStatus: new Map(), applyThenHangNext: 0, answerDelayMs: 0, holdAnswers: false, redirectNext: [] };
  /** Batches applied to the audience, answered or not, in order. */
  readonly applied: ReceivedBatch[] = [];
  private server: http.Server | undefined;
  private readonly hanging = new Set<http.ServerResponse>();

  constructor(private readonly secret?: string) {}

  get url(): string {
    const addr = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${addr.port}/hooks/audsync`;
  }

  /** Operations received in successful requests, across all batches. */
  get operations(): WireOperation[] {
    return this.batches.flatMap((b) => b.operations);
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    await closeServer(this.server);
  }

  reset(): void {
    this.batches.length = 0;
    this.applied.length = 0;
    this.failures.length = 0;
    this.attemptIds.length = 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Raw text: the signature is over the exact bytes sent.
    const { text: raw } = await readRequestText(req);
    this.attemptIds.push(String(req.headers['webhook-id'] ?? ''));
    if (this.knobs.hangNext > 0) {
      this.knobs.hangNext -= 1;
      this.hanging.add(res);
      return;
    }
    if (this.knobs.delayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.delayMs));
    const redirect = this.knobs.redirectNext.shift();
    if (redirect) {
      res.writeHead(redirect.status, { location: redirect.location }).end();
      return;
    }
    const fail = this.knobs.failNext.shift();
    if (fail !== undefined && fail !== 0) {
      this.failures.push(fail);
      const headers: Record<string, string> = {};
      if (this.knobs.retryAfter !== undefined && (fail === 429 || fail === 503)) headers['retry-after'] = this.knobs.retryAfter;
      res.writeHead(fail, headers).end(`fake failure ${fail}`);
      return;
    }
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json') {
      res.writeHead(415).end('expected POST application/json');
      return;
    }
    if (this.secret !== undefined && !this.verify(req.headers, raw)) {
      res.writeHead(401).end('bad signature');
      return;
    }
    const body = JSON.parse(raw) as { sync: string; run_id: string; batch_id: string; operations: WireOperation[] };
    if (body.batch_id !== req.headers['webhook-id']) {
      res.writeHead(400).end('batch_id and webhook-id differ');
      return;
    }
    const results: Array<Record<string, unknown>> = [];
    const accepted: WireOperation[] = [];
    for (const op of body.operations) {
      const other = this.knobs.otherStatus.get(op.key);
      if (other !== undefined) {
        results.push({ key: op.key, status: other, error: `receiver status ${other}` });
        continue;
      }
      const reason = this.knobs.rejectKeys.get(op.key);
      if (reason !== undefined) {
        results.push({ key: op.key, status: 'rejected', error: reason });
        continue;
      }
      accepted.push(op);
      if (op.op === 'remove') this.audience.delete(op.key);
      else this.audience.set(op.key, op.fields);
      results.push({ key: op.key, status: 'succeeded', ...(this.knobs.returnIds ? { id: `id-${op.key}` } : {}) });
    }
    const received = { id: body.batch_id, sync: body.sync, runId: body.run_id, operations: accepted, headers: req.headers };
    this.applied.push(received);
    if (this.knobs.applyThenHangNext > 0) {
      this.knobs.applyThenHangNext -= 1;
      this.hanging.add(res);
      return;
    }
    if (this.knobs.answerDelayMs > 0) await new Promise((r) => setTimeout(r, this.knobs.answerDelayMs));
    while (this.knobs.holdAnswers && !res.destroyed) await new Promise((r) => setTimeout(r, 10));
    if (res.destroyed) return;
    this.batches.push(received);
    if (this.knobs.answerBody !== undefined) return void res.writeHead(200, { 'content-type': 'text/html' }).end(this.knobs.answerBody);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
  }

  private verify(h: http.IncomingHttpHeaders, raw: string): boolean {
    const id = String(h['webhook-id'] ?? '');
    const ts = String(h['webhook-timestamp'] ?? '');
    const sig = String(h['webhook-signature'] ?? '');
    if (!id || !/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
    const key = this.secret!.startsWith('whsec_') ? Buffer.from(this.secret!.slice(6), 'base64') : Buffer.from(this.secret!, 'utf8');
    const expected = Buffer.from(`v1,${createHmac('sha256', key).update(`${id}.${ts}.${raw}`).digest('base64')}`);
    return sig.split(' ').some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), expected));
  }
}
