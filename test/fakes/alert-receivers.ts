import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listenOnLoopback, readRequestText } from './fake-http.js';

/** One alert as a receiver got it. */
export interface ReceivedAlert {
  path: string;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: Record<string, unknown>;
}

/**
 * Receivers of audsync's alert channels on 127.0.0.1, one server with a path per
 * kind, following the documented contracts: a Slack incoming webhook
 * (`POST /services/<token path>` with `{text}`, answers `ok`), PagerDuty's Events
 * API v2 (`POST /v2/enqueue`, answers 202 with a dedup key; a routing key it does
 * not know is 400), and a plain JSON webhook.
 */
export class FakeAlertReceivers {
  readonly slack: ReceivedAlert[] = [];
  readonly pagerduty: ReceivedAlert[] = [];
  readonly webhook: ReceivedAlert[] = [];
  /** Statuses to answer the next requests with, in order; consumed one per request. */
  readonly failNext: number[] = [];
  static readonly SLACK_PATH = '/services/T0AUDSYNC/B0ALERTS/slacktokensecret123';
  static readonly ROUTING_KEY = 'R0UTINGKEYSECRET0123456789abcdef';
  private server: http.Server | undefined;

  get base(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }
  get slackUrl(): string {
    return `${this.base}${FakeAlertReceivers.SLACK_PATH}`;
  }
  get pagerDutyUrl(): string {
    return `${this.base}/v2/enqueue`;
  }
  get webhookUrl(): string {
    return `${this.base}/alerts`;
  }

  async start(): Promise<this> {
    this.server = await listenOnLoopback(async (req, res) => {
      const { text, path } = await readRequestText(req);
      const fail = this.failNext.shift();
      if (fail !== undefined) {
        res.writeHead(fail).end(`fake failure ${fail}`);
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      const got = { path, headers: req.headers, text, body };
      if (path === FakeAlertReceivers.SLACK_PATH) {
        if (typeof body.text !== 'string') return void res.writeHead(400).end('no_text');
        this.slack.push(got);
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      }
      if (path === '/v2/enqueue') {
        if (body.routing_key !== FakeAlertReceivers.ROUTING_KEY) return void res.writeHead(400).end(JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid routing key'] }));
        if (!['trigger', 'acknowledge', 'resolve'].includes(String(body.event_action))) return void res.writeHead(400).end('{"status":"invalid event"}');
        const payload = body.payload as Record<string, unknown> | undefined;
        if (body.event_action === 'trigger' && (!payload || typeof payload.summary !== 'string' || typeof payload.source !== 'string' || !['critical', 'error', 'warning', 'info'].includes(String(payload.severity)))) {
          return void res.writeHead(400).end('{"status":"invalid event","errors":["payload.summary, source and severity are required"]}');
        }
        this.pagerduty.push(got);
        return void res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: body.dedup_key }));
      }
      if (path === '/alerts') {
        this.webhook.push(got);
        return void res.writeHead(204).end();
      }
      res.writeHead(404).end('no such path');
    });
    return this;
  }

  /** Every alert body received, as text, for "no secret in it" checks. */
  get allText(): string {
    return [...this.slack, ...this.pagerduty, ...this.webhook].map((a) => `${a.text}\n${JSON.stringify(a.headers)}`).join('\n');
  }

  reset(): void {
    this.slack.length = 0;
    this.pagerduty.length = 0;
    this.webhook.length = 0;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}
