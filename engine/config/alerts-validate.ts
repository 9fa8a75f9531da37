import { isEnvRef } from '../vocabulary/env-ref.js';
import { parseDuration } from './duration.js';
import type { AlertChannel, AlertTriggers, SyncAlerts } from './normalized-config.js';

type Add = (at: string, message: string) => void;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !isEnvRef(v);
const isSecret = (v: unknown): v is string => (typeof v === 'string' && v !== '') || isEnvRef(v);

/** PagerDuty's Events API v2 endpoint. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

const CHANNEL_KEYS: Record<AlertChannel['type'], readonly string[]> = {
  slack: ['type', 'url'],
  webhook: ['type', 'url', 'secret'],
  pagerduty: ['type', 'routingKey', 'url'],
};
const TRIGGER_KEYS = ['failed', 'rejectedPercent', 'sizeChangePercent', 'noSuccessFor', 'recovery'];

export interface ProjectAlerts {
  readonly channels: Record<string, AlertChannel>;
  /** Raw project-wide triggers, merged into each sync's. */
  readonly on: Record<string, unknown>;
}

/** The `alerts` section: channels by name, each checked by path; secrets stay unresolved (read when an alert is sent). */
export function validateAlerts(raw: unknown, add: Add): ProjectAlerts {
  const channels: Record<string, AlertChannel> = {};
  if (raw === undefined) return { channels, on: {} };
  if (!isRecord(raw)) {
    add('alerts', 'must be an object: { channels: {...}, on: {...} }');
    return { channels, on: {} };
  }
  for (const k of Object.keys(raw)) if (k !== 'channels' && k !== 'on') add(`alerts.${k}`, 'unknown setting (known: channels, on)');
  if (!isRecord(raw.channels) || Object.keys(raw.channels).length === 0) add('alerts.channels', "must name at least one channel, e.g. { slack: { type: 'slack', url: env('SLACK_WEBHOOK_URL') } }");
  else
    for (const [name, c] of Object.entries(raw.channels)) {
      const at = `alerts.channels.${name}`;
      if (!isRecord(c)) {
        add(at, 'must be an object with a type');
        continue;
      }
      const type = c.type as AlertChannel['type'];
      if (!(type in CHANNEL_KEYS)) {
        add(`${at}.type`, `must be one of ${Object.keys(CHANNEL_KEYS).join(', ')}`);
        continue;
      }
      for (const k of Object.keys(c)) if (!CHANNEL_KEYS[type].includes(k)) add(`${at}.${k}`, `unknown option (known: ${CHANNEL_KEYS[type].join(', ')})`);
      const need = (k: string, what: string): string => {
        if (!isSecret(c[k])) add(`${at}.${k}`, `required: ${what}`);
        return c[k] as string;
      };
      if (type === 'slack') channels[name] = { name, type, url: need('url', "the incoming-webhook URL, e.g. env('SLACK_WEBHOOK_URL')") };
      else if (type === 'webhook') channels[name] = { name, type, url: need('url', 'the https URL to POST alerts to'), secret: need('secret', "the signing secret, e.g. env('ALERT_HOOK_SECRET')") };
      else {
        if (c.url !== undefined && (typeof c.url !== 'string' || !/^https?:\/\//.test(c.url))) add(`${at}.url`, 'must be an http(s) URL');
        channels[name] = { name, type, routingKey: need('routingKey', "the integration's routing key, e.g. env('PAGERDUTY_ROUTING_KEY')"), url: typeof c.url === 'string' ? c.url : PAGERDUTY_EVENTS_URL };
      }
    }
  if (raw.on !== undefined && !isRecord(raw.on)) add('alerts.on', 'must be an object of triggers');
  const on = isRecord(raw.on) ? raw.on : {};
  checkTriggers(on, 'alerts.on', add);
  return { channels, on };
}

/** A sync's `alerts` merged over the project's; undefined when nothing alerts for it. */
export function syncAlerts(raw: unknown, at: string, project: ProjectAlerts, add: Add): SyncAlerts | undefined {
  if (raw === false) return undefined;
  let own: Record<string, unknown> = {};
  let channels = Object.keys(project.channels);
  if (raw !== undefined) {
    if (!isRecord(raw)) {
      add(at, 'must be false or { on: {...}, channels: [...] }');
      return undefined;
    }
    for (const k of Object.keys(raw)) if (k !== 'on' && k !== 'channels') add(`${at}.${k}`, 'unknown setting (known: on, channels)');
    if (raw.on !== undefined && !isRecord(raw.on)) add(`${at}.on`, 'must be an object of triggers');
    own = isRecord(raw.on) ? raw.on : {};
    checkTriggers(own, `${at}.on`, add);
    if (raw.channels !== undefined) {
      if (!Array.isArray(raw.channels) || raw.channels.some((c) => typeof c !== 'string')) add(`${at}.channels`, 'must be a list of channel names');
      else {
        for (const c of raw.channels as string[]) if (!project.channels[c]) add(`${at}.channels`, `no alert channel named "${c}" (known: ${Object.keys(project.channels).join(', ') || 'none: add alerts.channels'})`);
        channels = raw.channels as string[];
      }
    }
  }
  if (channels.length === 0) return undefined;
  const t = { ...project.on, ...own };
  const triggers: AlertTriggers = {
    failed: t.failed !== false,
    rejectedPercent: typeof t.rejectedPercent === 'number' ? t.rejectedPercent : undefined,
    sizeChangePercent: typeof t.sizeChangePercent === 'number' ? t.sizeChangePercent : undefined,
    noSuccessForMs: typeof t.noSuccessFor === 'string' ? safeDuration(t.noSuccessFor) : undefined,
    recovery: t.recovery !== false,
  };
  return { triggers, channels };
}

function checkTriggers(on: Record<string, unknown>, at: string, add: Add): void {
  for (const k of Object.keys(on)) if (!TRIGGER_KEYS.includes(k)) add(`${at}.${k}`, `unknown trigger (known: ${TRIGGER_KEYS.join(', ')})`);
  for (const k of ['failed', 'recovery']) if (on[k] !== undefined && typeof on[k] !== 'boolean') add(`${at}.${k}`, 'must be true or false');
  for (const k of ['rejectedPercent', 'sizeChangePercent']) {
    const v = on[k];
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 100))) add(`${at}.${k}`, 'must be a percentage from 0 to 100');
  }
  if (on.noSuccessFor !== undefined) {
    try {
      if (typeof on.noSuccessFor !== 'string') throw new Error('must be a duration such as 26h');
      parseDuration(on.noSuccessFor);
    } catch (e) {
      add(`${at}.noSuccessFor`, (e as Error).message);
    }
  }
}

function safeDuration(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}
