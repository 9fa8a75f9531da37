/**
 * The destination kit: everything a destination imports, built-in or your own
 * (published as `audsync/destination`). A destination is a plain object given to
 * `defineDestination`; it sends batches with `sendHttp` / `httpRequest` (timeouts,
 * no redirects, bounded bodies, redacted errors), honours `Retry-After` with
 * `parseRetryAfter`, throttles its own requests with `RateLimiter` when it
 * manages them itself, and resolves its secrets with `resolveSecret`.
 */
export { defineDestination } from './destination-api.js';
export type * from './destination-api.js';
export { sendHttp, httpRequest, joinUrl, isTransientStatus, DEFAULT_MAX_RESPONSE_BYTES, type HttpRequest, type HttpResponse } from './http-client.js';
export { parseRetryAfter, MAX_RETRY_AFTER_MS, MAX_BACKOFF_MS } from './retry-policy.js';
export { RateLimiter } from './rate-limiter.js';
export { signWebhook } from './standard-webhooks.js';
export { env, resolveSecret, type EnvRef, type Secret } from '../vocabulary/env-ref.js';
export type { SyncMode } from '../vocabulary/sync-modes.js';
export { ConfigError, DestinationError } from '../errors.js';
