import { ConfigError } from '../errors.js';

/**
 * A value read from an environment variable when it is used, not when the config
 * loads, so `compile` and `plan` work without destination secrets.
 * Branded with a registry symbol (not instanceof) so a config that imports a second
 * copy of the package still works.
 */
const ENV_BRAND = Symbol.for('audsync.env-ref');

export interface EnvRef {
  readonly [ENV_BRAND]: true;
  readonly name: string;
  toString(): string;
  toJSON(): string;
}

/** A secret or setting taken from the environment variable `name` when it is needed. */
export function env(name: string): EnvRef {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigError(`env(${JSON.stringify(name)}): not a valid environment variable name`, {
      hint: 'Use letters, digits and underscores, e.g. env("CRM_HOOK_SECRET").',
    });
  }
  // toString/toJSON never reveal the value, so a ref printed by mistake leaks nothing.
  return {
    [ENV_BRAND]: true,
    name,
    toString: () => `env(${name})`,
    toJSON: () => `env(${name})`,
  };
}

export function isEnvRef(value: unknown): value is EnvRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ENV_BRAND] === true;
}

/** A config value that may be given literally or through env(). */
export type Secret = string | EnvRef;

/**
 * Resolves a Secret. `who` names the config path that needs it, for the error.
 */
export function resolveSecret(value: Secret, who: string, environment: NodeJS.ProcessEnv = process.env): string {
  if (!isEnvRef(value)) return value;
  const v = environment[value.name];
  if (v === undefined || v === '') {
    throw new ConfigError(`${who}: environment variable ${value.name} is ${v === undefined ? 'not set' : 'empty'}`, {
      hint: `Set ${value.name} in the environment of the process that runs audsync (it is read only when ${who} is used).`,
    });
  }
  return v;
}
