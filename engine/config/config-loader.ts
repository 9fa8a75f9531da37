import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { ConfigError } from '../errors.js';
import type { DestinationCatalog } from '../destination/destination-api.js';
import { validateConfig } from './config-validate.js';
import type { NormalizedConfig } from './normalized-config.js';

export { DEFAULT_CONFIG_FILE } from './config-file.js';

// require(), not import: jiti is CommonJS, and importing it from ESM makes Node
// scan its 190 kB bundle for export names first (about 10 ms of every start-up).
const { createJiti } = createRequire(import.meta.url)('jiti') as typeof import('jiti');

/** The package's public entries, so a config's `import … from 'audsync'` (or `'audsync/destination'`) works from any folder. */
const PACKAGE_ENTRY = fileURLToPath(new URL('../index.js', import.meta.url));
const DESTINATION_KIT = fileURLToPath(new URL('../destination/index.js', import.meta.url));

/**
 * Loads and validates a TypeScript (or JS) config file. jiti transpiles it in
 * process, so users need no build step and no TypeScript installed.
 */
export async function loadConfig(configPath: string, catalog: DestinationCatalog): Promise<NormalizedConfig> {
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
    alias: { 'audsync/destination': DESTINATION_KIT, audsync: PACKAGE_ENTRY },
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
  return validateConfig(mod, file, await catalog.load(namedDestinationTypes(mod)), catalog.types);
}

/** The string `type`s of the config's destinations; validation reports anything malformed. */
function namedDestinationTypes(raw: unknown): string[] {
  const destinations = typeof raw === 'object' && raw !== null ? (raw as { destinations?: unknown }).destinations : undefined;
  if (typeof destinations !== 'object' || destinations === null) return [];
  return Object.values(destinations).flatMap((d: unknown) => {
    const type = typeof d === 'object' && d !== null ? (d as { type?: unknown }).type : undefined;
    return typeof type === 'string' ? [type] : [];
  });
}

function firstLines(s: string): string {
  return s.split('\n').slice(0, 6).join('\n');
}
