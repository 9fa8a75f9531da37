import type { AlertChannel } from '../config/normalized-config.js';
import { signWebhook } from '../destination/standard-webhooks.js';
import type { Alert } from './alert-triggers.js';

/** What one channel is sent for one alert. */
export interface AlertRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Secrets of a channel, resolved at send time. */
export interface ChannelSecrets {
  readonly url: string;
  readonly secret?: string;
  readonly routingKey?: string;
}

const ICON: Record<Alert['trigger'], string> = { failed: ':rotating_light:', stale: ':hourglass:', rejected: ':warning:', size_change: ':warning:', recovery: ':white_check_mark:' };

/** The alert as a few lines of text for people (Slack). */
export function alertText(a: Alert): string {
  const d = a.details;
  const counts = d.planned_add !== undefined ? `planned +${d.planned_add} ~${d.planned_change} -${d.planned_remove}, sent +${d.succeeded_add} ~${d.succeeded_change} -${d.succeeded_remove}, rejected ${d.rejected}, failed ${d.failed}, members ${d.members}` : '';
  return [
    `${ICON[a.trigger]} audsync: ${a.summary}`,
    `model ${d.model} -> destination ${d.destination}${a.runId ? `, run ${a.runId}` : ''}`,
    counts,
    d.hint ? `hint: ${d.hint}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** PagerDuty groups every alert of a sync into one incident; a recovery resolves it. */
export function pagerDutyDedupKey(sync: string): string {
  return `audsync/${sync}`;
}

export function alertRequest(channel: AlertChannel, a: Alert, secrets: ChannelSecrets, alertId: string, now: Date): AlertRequest {
  const json = { 'content-type': 'application/json' };
  switch (channel.type) {
    case 'slack':
      return { url: secrets.url, headers: json, body: JSON.stringify({ text: alertText(a) }) };
    case 'pagerduty': {
      const key = { routing_key: secrets.routingKey!, dedup_key: pagerDutyDedupKey(a.sync) };
      const body =
        a.trigger === 'recovery'
          ? { ...key, event_action: 'resolve' }
          : {
              ...key,
              event_action: 'trigger',
              payload: { summary: a.summary.slice(0, 1024), source: 'audsync', severity: a.severity === 'info' ? 'info' : a.severity, component: a.sync, class: a.trigger, custom_details: { ...a.details, run_id: a.runId, status: a.status } },
            };
      return { url: secrets.url, headers: json, body: JSON.stringify(body) };
    }
    case 'webhook': {
      const body = JSON.stringify({ type: 'audsync.alert', alert_id: alertId, trigger: a.trigger, severity: a.severity, sync: a.sync, status: a.status, run_id: a.runId, message: a.summary, details: a.details, at: now.toISOString() });
      const ts = Math.floor(now.getTime() / 1000);
      return { url: secrets.url, headers: { ...json, 'webhook-id': alertId, 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(secrets.secret!, alertId, ts, body) }, body };
    }
  }
}
