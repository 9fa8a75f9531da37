import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import { ConfigError } from '../errors.js';
import { validateConfig } from './config-validate.js';
import type { NormalizedConfig } from './normalized-config.js';
import type { DestinationDefinition } from '../destination/destination-api.js';

export { DEFAULT_CONFIG_FILE } from './config-file.js';

/** The package's public entry, so a config's `import … from 'audsync'` works from any folder. */
const PACKAGE_ENTRY = fileURLToPath(new URL('../index.js', import.meta.url));

/**
 * Loads and validates a TypeScript (or JS) config file. jiti transpiles it in
 * process, so users need no build step and no TypeScript installed.
 */
export async function loadConfig(
  configPath: string,
  registry: Readonly<Record<string, DestinationDefinition<unknown>>>,
): Promise<NormalizedConfig> {
  const file = path.resolve(configPath);
  if (!fs.existsSync(file)) {
    throw new ConfigError(`config file not found: ${configPath}`, {
      hint: 'Run audsync in your project folder, pass --config <path>, or create a project with `audsync init`.',
    });
  }
  const jiti = createJiti(import.meta.url, {
    moduleCache: false,
    // The transpiled config is cached by content hash, so later runs skip the TypeScript transform.
    fsCache: true,
    alias: { audsync: PACKAGE_ENTRY },
  });
  let mod: unknown;
  try {
    mod = await jiti.import(file, { default: true });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const msg = (e as Error).message ?? String(e);
    throw new ConfigError(`${path.basename(file)}: could not load the config: ${firstLines(msg)}`, {
      hint: 'Fix the TypeScript error above; the config must `export default defineConfig({...})`.',
      cause: e,
    });
  }
  return validateConfig(mod, file, registry);
}

function firstLines(s: string): string {
  return s.split('\n').slice(0, 6).join('\n');
}
