import { randomUUID } from 'node:crypto';
import type { AlertChannel, NormalizedConfig } from '../config/normalized-config.js';
import { resolveSecret } from '../vocabulary/env-ref.js';
import { insertAlertLogSql, type AlertLogRow } from '../state/alert-sql.js';
import type { WarehouseConnection } from '../warehouse/connection.js';
import type { Reporter } from '../sync/run-events.js';
import { alertRequest, type ChannelSecrets } from './alert-channels.js';
import type { Alert } from './alert-triggers.js';

/** An alert must never hold a run up for long. */
const SEND_TIMEOUT_MS = 10_000;
/** A receiver's answer is read only this far, for the error message. */
const MAX_ANSWER_CHARS = 2_000;

/** Replaces secret values in text; the run's redactor. */
export interface Redact {
  add(value: string): void;
  redact(text: string): string;
}

/**
 * Sends each alert to each of its sync's channels and records every attempt in
 * `alert_log`. Never throws for a channel's trouble (a missing secret, a refused
 * connection, a non-2xx, a redirect, a timeout): that is a `warning` event, and
 * the run's outcome is whatever it was.
 */
export async function sendAlerts(conn: WarehouseConnection, config: NormalizedConfig, alerts: readonly Alert[], report: Reporter, redactor: Redact, now: () => Date = () => new Date()): Promise<void> {
  const log: AlertLogRow[] = [];
  for (const a of alerts) {
    for (const name of config.syncs[a.sync]?.alerts?.channels ?? []) {
      const channel = config.alertChannels[name]!;
      const alertId = `alert_${randomUUID()}`;
      const at = now();
      let error: string | null = null;
      try {
        const req = alertRequest(channel, a, secretsOf(channel, redactor), alertId, at);
        await post(req.url, req.headers, req.body);
      } catch (e) {
        error = redactor.redact((e as Error).message);
        report({ event: 'warning', sync: a.sync, message: `alert "${a.trigger}" could not be delivered to channel ${name} (${channel.type}): ${error}` });
      }
      report({ event: 'alert_sent', sync: a.sync, trigger: a.trigger, channel: name, delivered: error === null });
      log.push({ alertId, sync: a.sync, runId: a.runId, trigger: a.trigger, channel: name, delivered: error === null, error, message: redactor.redact(a.summary), at: at.toISOString() });
    }
  }
  if (log.length === 0) return;
  try {
    await conn.execute(insertAlertLogSql(conn.dialect, config.stateSchema, log));
  } catch (e) {
    report({ event: 'warning', sync: '*', message: `could not record alerts in alert_log: ${redactor.redact((e as Error).message)}` });
  }
}

function secretsOf(channel: AlertChannel, redactor: Redact): ChannelSecrets {
  const who = `alerts.channels.${channel.name}`;
  const read = (v: Parameters<typeof resolveSecret>[0], key: string): string => {
    const value = resolveSecret(v, `${who}.${key}`);
    redactor.add(value);
    // A Slack incoming-webhook URL is itself the credential; its path must not be echoed either.
    if (key === 'url') {
      try {
        const path = new URL(value).pathname;
        if (path.length > 1) redactor.add(path);
      } catch {
        /* not a URL: the fetch below says so */
      }
    }
    return value;
  };
  switch (channel.type) {
    case 'slack':
      return { url: read(channel.url, 'url') };
    case 'webhook':
      return { url: read(channel.url, 'url'), secret: read(channel.secret, 'secret') };
    case 'pagerduty':
      return { url: channel.url, routingKey: read(channel.routingKey, 'routingKey') };
  }
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<void> {
  let res: Response;
  try {
    // Never follow a redirect: the alert (and its signature) goes where the config says or nowhere.
    res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    throw new Error(err.name === 'TimeoutError' ? `no answer within ${SEND_TIMEOUT_MS / 1000} s` : `request failed: ${err.cause?.code ?? err.cause?.message ?? err.message}`);
  }
  if (res.status >= 200 && res.status < 300) {
    await res.body?.cancel();
    return;
  }
  const text = await readSome(res, MAX_ANSWER_CHARS);
  const where = res.status >= 300 && res.status < 400 ? ` (redirect to ${res.headers.get('location') ?? '?'}, not followed)` : '';
  throw new Error(`HTTP ${res.status}${where}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

/** At most `max` characters of a body: a hostile receiver's endless answer is not buffered. */
async function readSome(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < max) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    /* a broken answer: what arrived is enough for the message */
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, max);
}
