import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions } from 'snowflake-sdk';
import type { SnowflakeWarehouseConfig } from './snowflake-config.js';
import { resolveSecret } from '../../vocabulary/env-ref.js';
import { ConfigError } from '../../errors.js';
import { MAX_INLINE_BIND_VALUES } from './snowflake-binds.js';
import type { SessionIdentity } from './snowflake-session.js';

/** Shows up as the client application in Snowflake's QUERY_HISTORY and LOGIN_HISTORY. */
const APPLICATION = 'audsync';

export interface SnowflakeOptionContext {
  /** Directory a relative privateKeyPath is resolved from (the config file's directory). */
  readonly projectDir: string;
  /** Where env() refs are read; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Replaces https://<account>.snowflakecomputing.com. Test-only (a fake server on
   * 127.0.0.1); not a config option.
   */
  readonly accessUrl?: string;
}

export interface SnowflakeLogin {
  readonly options: ConnectionOptions;
  readonly identity: SessionIdentity;
}

/**
 * Builds snowflake-sdk connection options from the config, resolving env()
 * secrets now. Key-pair auth is used when a private key is configured (it is
 * the method Snowflake recommends for service users), password otherwise.
 * Every error names the config path, never the value.
 */
export function snowflakeLogin(w: SnowflakeWarehouseConfig, ctx: SnowflakeOptionContext): SnowflakeLogin {
  const env = ctx.env ?? process.env;
  const base: ConnectionOptions = {
    account: w.account,
    username: w.username,
    database: w.database,
    ...(w.schema ? { schema: w.schema } : {}),
    ...(w.warehouse ? { warehouse: w.warehouse } : {}),
    ...(w.role ? { role: w.role } : {}),
    application: APPLICATION,
    // Without this the driver returns SQL NULL as the text 'NULL' for columns fetched as strings (numbers here).
    representNullAsStringNull: false,
    // Pinned so the server's CLIENT_STAGE_ARRAY_BINDING_THRESHOLD cannot make the driver stage binds (snowflake-binds.ts).
    arrayBindingThreshold: MAX_INLINE_BIND_VALUES,
    ...(ctx.accessUrl ? { accessUrl: ctx.accessUrl } : {}),
  };
  if (w.privateKey !== undefined || w.privateKeyPath !== undefined) {
    const pem = w.privateKey !== undefined ? pemFromSecret(resolveSecret(w.privateKey, 'warehouse.privateKey', env)) : readKeyFile(w.privateKeyPath!, ctx.projectDir);
    const passphrase = w.privateKeyPassphrase !== undefined ? resolveSecret(w.privateKeyPassphrase, 'warehouse.privateKeyPassphrase', env) : undefined;
    checkPrivateKey(pem, passphrase, w.privateKey !== undefined ? 'warehouse.privateKey' : 'warehouse.privateKeyPath');
    return {
      options: { ...base, authenticator: 'SNOWFLAKE_JWT', privateKey: pem, ...(passphrase !== undefined ? { privateKeyPass: passphrase } : {}) },
      identity: { account: w.account, username: w.username, auth: 'key-pair', secrets: [pem, ...(passphrase !== undefined ? [passphrase] : [])] },
    };
  }
  if (w.password !== undefined) {
    const password = resolveSecret(w.password, 'warehouse.password', env);
    return {
      options: { ...base, authenticator: 'SNOWFLAKE', password },
      identity: { account: w.account, username: w.username, auth: 'password', secrets: [password] },
    };
  }
  throw new ConfigError('warehouse: snowflake needs password, privateKey or privateKeyPath', {
    hint: "Use key-pair auth for service users: privateKeyPath: 'keys/audsync.p8' (or privateKey: env('SNOWFLAKE_PRIVATE_KEY')).",
  });
}

/** A key kept in an environment variable often has its newlines written as "\n": restore them. */
function pemFromSecret(value: string): string {
  return value.includes('\n') ? value : value.replace(/\\n/g, '\n');
}

function readKeyFile(file: string, projectDir: string): string {
  const full = path.resolve(projectDir, file);
  try {
    return fs.readFileSync(full, 'utf8');
  } catch (e) {
    throw new ConfigError(`warehouse.privateKeyPath: cannot read ${full} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'Give the path of the PEM private key file, relative to the config file.',
    });
  }
}

/** Fails early, with the config path, rather than as an opaque driver error at login. */
function checkPrivateKey(pem: string, passphrase: string | undefined, at: string): void {
  try {
    crypto.createPrivateKey({ key: pem, format: 'pem', ...(passphrase !== undefined ? { passphrase } : {}) });
  } catch (e) {
    // Only Node's error code (missing passphrase, bad decrypt, unsupported format): nothing of the key itself.
    const reason = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${at}: not a usable PEM private key (${reason})`, {
      hint:
        passphrase === undefined
          ? 'Give an unencrypted PKCS#8 PEM key, or set warehouse.privateKeyPassphrase for an encrypted one.'
          : 'Check warehouse.privateKeyPassphrase: it must decrypt the key.',
    });
  }
}
