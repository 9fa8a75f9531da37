import { httpRequest, joinUrl, type HttpResponse, ConfigError } from '../../engine/destination/index.js';
import { MAILCHIMP_API_PATH } from './mailchimp-limits.js';

export interface MailchimpConnection {
  /** Host (or baseUrl) with /3.0 appended. */
  readonly apiBase: string;
  readonly authorization: string;
  readonly timeoutMs: number;
  /** A turn under the destination's rate limit, before every request (batch calls and tag removals alike). */
  readonly throttle?: () => Promise<void>;
  /** "destination <name> (Mailchimp)", the prefix of every message. */
  readonly who: string;
}

/**
 * Where the account lives: `https://<dc>.api.mailchimp.com`, `<dc>` being the
 * API key's suffix after '-' (mailchimp.md), unless baseUrl replaces the host.
 */
export function mailchimpConnection(apiKey: string, baseUrl: string | undefined, timeoutMs: number, name: string, throttle?: () => Promise<void>): MailchimpConnection {
  const who = `destination ${name} (Mailchimp)`;
  let host = baseUrl;
  if (host === undefined) {
    const dc = /-([a-z]{2,}\d+)$/.exec(apiKey.trim())?.[1];
    // The key itself is never quoted: only what is wrong with its shape.
    if (!dc) {
      throw new ConfigError(`destinations.${name}.apiKey: a Mailchimp API key ends with its data center (e.g. '-us21'); this one does not`, {
        hint: 'Copy the whole key from Mailchimp (Account > Extras > API keys), or set baseUrl to https://<dc>.api.mailchimp.com.',
      });
    }
    host = `https://${dc}.api.mailchimp.com`;
  }
  return {
    apiBase: joinUrl(host, MAILCHIMP_API_PATH),
    // HTTP Basic with any user name and the key as password (mailchimp.md).
    authorization: `Basic ${Buffer.from(`audsync:${apiKey}`).toString('base64')}`,
    timeoutMs,
    throttle,
    who,
  };
}

/**
 * One JSON POST. 429 (more than 10 connections; Mailchimp sends no rate-limit
 * headers) and 5xx come back as retryable errors from httpRequest, so the
 * engine backs off; 401/403 stop the sync with a Mailchimp-specific hint.
 */
export async function mailchimpPost(c: MailchimpConnection, path: string, body: string): Promise<HttpResponse> {
  return httpRequest(
    {
      url: joinUrl(c.apiBase, path),
      headers: { authorization: c.authorization, 'content-type': 'application/json', 'user-agent': 'audsync' },
      body,
      timeoutMs: c.timeoutMs,
      throttle: c.throttle,
      authHint: `Check apiKey of ${c.who}: an active Mailchimp API key of the account that owns the audience (its suffix names the data center).`,
    },
    c.who,
  );
}

/** Mailchimp's error document: `{type, title, status, detail, instance}`. */
export function problemText(text: string): string {
  try {
    const p = JSON.parse(text) as { title?: unknown; detail?: unknown };
    const parts = [p.title, p.detail].filter((x): x is string => typeof x === 'string' && x !== '');
    if (parts.length > 0) return parts.join(': ');
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 300);
}
