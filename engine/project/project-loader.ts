import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import { ConfigError } from '../errors.js';
import type { NormalizedConfig } from '../config/normalized-config.js';

/** A SQL model file: models/<name>.sql. */
export interface ModelFile {
  readonly name: string;
  /** Path relative to the project folder, for messages. */
  readonly file: string;
  readonly source: string;
}

/** A file of macro definitions. */
export interface MacroFile {
  readonly file: string;
  readonly source: string;
  readonly builtin: boolean;
}

export interface Project {
  readonly dir: string;
  readonly models: ReadonlyMap<string, ModelFile>;
  /** Built-ins first, then the project's own, so the project's win. */
  readonly macroFiles: readonly MacroFile[];
}

/** The package's own macros/ folder (shipped next to dist/). */
export const BUILTIN_MACROS_DIR = path.join(PACKAGE_ROOT, 'macros');

/** Reads models/ and macros/ of the project, plus the built-in macros. */
export function loadProject(config: NormalizedConfig): Project {
  const dir = config.projectDir;
  const modelsDir = path.join(dir, 'models');
  const models = new Map<string, ModelFile>();
  if (!fs.existsSync(modelsDir)) {
    throw new ConfigError(`no models/ folder next to ${path.basename(config.path)}`, {
      hint: 'Put one SELECT per file in models/<name>.sql.',
    });
  }
  for (const abs of sqlFiles(modelsDir)) {
    const name = path.basename(abs, '.sql');
    const rel = path.relative(dir, abs);
    const prior = models.get(name) ?? [...models.values()].find((m) => m.name.toLowerCase() === name.toLowerCase());
    if (prior) {
      throw new ConfigError(`two models are named "${name}"${prior.name === name ? '' : ` and "${prior.name}" (they differ only by case)`}: ${prior.file} and ${rel}`, {
        hint: 'Model names must be unique, also ignoring case: warehouses that fold identifiers would give both one table.',
      });
    }
    models.set(name, { name, file: rel, source: fs.readFileSync(abs, 'utf8') });
  }
  const macroFiles: MacroFile[] = [];
  for (const abs of sqlFiles(BUILTIN_MACROS_DIR)) {
    macroFiles.push({ file: `audsync/macros/${path.relative(BUILTIN_MACROS_DIR, abs)}`, source: fs.readFileSync(abs, 'utf8'), builtin: true });
  }
  const own = path.join(dir, 'macros');
  if (fs.existsSync(own) && path.resolve(own) !== path.resolve(BUILTIN_MACROS_DIR)) {
    for (const abs of sqlFiles(own)) macroFiles.push({ file: path.relative(dir, abs), source: fs.readFileSync(abs, 'utf8'), builtin: false });
  }
  return { dir, models, macroFiles };
}

function sqlFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sqlFiles(abs));
    else if (entry.name.endsWith('.sql')) out.push(abs);
  }
  return out.sort();
}
