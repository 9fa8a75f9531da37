import { ConfigError, resolveSecret, type DestinationContext } from '../../engine/destination/index.js';
import { checkGoogleConfig } from './google-config-check.js';
import { DataManagerHttp, type CredentialNames } from './data-manager-http.js';
import { DATA_MANAGER_API_VERSION, DATA_MANAGER_HOST, DATA_MANAGER_SCOPE } from './data-manager-limits.js';
import { parseDataManagerTarget } from './data-manager-target.js';
import { DataManagerTransport } from './data-manager-transport.js';
import { GOOGLE_OAUTH_TOKEN_URL } from './google-limits.js';
import type { GoogleCustomerMatchOptions } from './google-settings.js';
import { OAuthTokenSource } from './oauth-token.js';
import { parseServiceAccountKey, ServiceAccountTokenSource } from './service-account-token.js';
import type { AccessTokenSource } from './token-cache.js';

/**
 * The dataManager transport for one run: the credential (a refresh token, or a
 * service account's key signed into a JWT), the HTTP client and the sync's
 * destinations. Config mistakes were reported at load; they are checked again
 * here, so a destination used outside the loader still fails by path.
 */
export function dataManagerTransport(ctx: DestinationContext<GoogleCustomerMatchOptions>, opts: { needTarget: boolean }): DataManagerTransport {
  const at = `destinations.${ctx.name}`;
  const o = ctx.options;
  const problems = checkGoogleConfig({
    options: o as Record<string, unknown>,
    common: {},
    target: ctx.target,
    fields: ctx.sync.fields,
    mode: ctx.sync.mode,
    at: { destination: at, sync: `syncs.${ctx.sync.name}` },
  }).filter((pr) => opts.needTarget || pr.path === at || pr.path.startsWith(`${at}.`));
  // Reading job states needs the credentials only.
  if (problems.length > 0) throw new ConfigError(`${problems[0]!.path}: ${problems[0]!.message}`, { hint: 'See the google_customer_match reference page.' });
  const who = `destination ${ctx.name}`;
  const tokenUrl = o.tokenUrl ?? GOOGLE_OAUTH_TOKEN_URL;
  const onToken = (t: string): void => ctx.registerSecret(t);
  let tokens: AccessTokenSource;
  let credential: CredentialNames;
  if (o.serviceAccountKey !== undefined) {
    const key = parseServiceAccountKey(resolveSecret(o.serviceAccountKey, `${at}.serviceAccountKey`), `${at}.serviceAccountKey`);
    // The whole key is redacted already (a resolved secret); its private key alone must be too.
    ctx.registerSecret(key.privateKeyPem);
    tokens = new ServiceAccountTokenSource(key, { scope: DATA_MANAGER_SCOPE, tokenUrl, timeoutMs: ctx.timeoutMs, who, option: 'serviceAccountKey', onToken });
    credential = { options: 'serviceAccountKey', identity: key.clientEmail };
  } else {
    const secret = (name: 'clientId' | 'clientSecret' | 'refreshToken'): string => resolveSecret(o[name]!, `${at}.${name}`);
    tokens = new OAuthTokenSource({ tokenUrl, clientId: secret('clientId'), clientSecret: secret('clientSecret'), refreshToken: secret('refreshToken') }, ctx.timeoutMs, who, { scope: DATA_MANAGER_SCOPE, onToken });
    credential = { options: 'clientId, clientSecret and refreshToken', identity: undefined };
  }
  const http = new DataManagerHttp({ baseUrl: ctx.baseUrl ?? DATA_MANAGER_HOST, apiVersion: o.apiVersion ?? DATA_MANAGER_API_VERSION }, tokens, ctx.timeoutMs, who, credential, ctx.throttle);
  const target = (opts.needTarget ? parseDataManagerTarget(ctx.target, `syncs.${ctx.sync.name}.target`).value : undefined) ?? { destinations: [], consent: undefined };
  return new DataManagerTransport(http, { target, acceptTerms: o.acceptCustomerMatchTerms === true }, who);
}
