import path from 'node:path';
import { loadConfig } from '../config/config-loader.js';
import type { NormalizedConfig, NormalizedSync } from '../config/normalized-config.js';
import { ConfigError } from '../errors.js';
import { loadProject, type Project } from '../project/project-loader.js';
import { TemplateCompiler } from '../compile/template-compiler.js';
import { getDialect } from '../warehouse/warehouse-registry.js';
import type { Reporter } from '../sync/run-events.js';
import type { DestinationCatalog } from '../destination/destination-api.js';

/**
 * What every command opens: a config file, and the destination types a config
 * may name. The engine knows no destination of its own: the host (the CLI)
 * hands it the built-in ones, so plug-ins sit above the engine, never inside it.
 */
export interface ProjectRef {
  readonly config: string;
  readonly destinations: DestinationCatalog;
}

/** A loaded project: config, models and macros, ready to compile. */
export interface Workspace {
  readonly config: NormalizedConfig;
  readonly project: Project;
  readonly compiler: TemplateCompiler;
}

export async function openWorkspace(ref: ProjectRef): Promise<Workspace> {
  const config = await loadConfig(ref.config, ref.destinations);
  const project = loadProject(config);
  for (const sync of Object.values(config.syncs)) {
    if (!project.models.has(sync.model)) {
      throw new ConfigError(`syncs.${sync.name}.model: no model named "${sync.model}" (expected models/${sync.model}.sql)`, {
        hint: `Known models: ${[...project.models.keys()].join(', ') || 'none'}.`,
      });
    }
  }
  const compiler = new TemplateCompiler(project, getDialect(config.warehouse.type), config.vars);
  return { config, project, compiler };
}

/** The syncs named by --select (sync or model names), or all of them. */
export function selectSyncs(config: NormalizedConfig, select: string | undefined): NormalizedSync[] {
  const all = Object.values(config.syncs);
  if (!select) return all;
  const names = select.split(',').map((s) => s.trim()).filter(Boolean);
  const out = new Set<NormalizedSync>();
  for (const n of names) {
    const matched = all.filter((s) => s.name === n || s.model === n);
    if (matched.length === 0) {
      throw new ConfigError(`--select: no sync or model named "${n}"`, { hint: `Syncs: ${all.map((s) => s.name).join(', ') || 'none'}.` });
    }
    matched.forEach((s) => out.add(s));
  }
  return [...out];
}

/** The sync a command names (`retry`, `reset`): exactly a configured sync's name. */
export function namedSync(config: NormalizedConfig, name: string, command: string): NormalizedSync {
  const sync = config.syncs[name];
  if (!sync) throw new ConfigError(`${command}: no sync named "${name}"`, { hint: `Syncs: ${Object.keys(config.syncs).join(', ') || 'none'}.` });
  return sync;
}

/** The syncs a command acts on: paused ones are left out, each with a `skipped` event giving the reason. */
export function unpausedSyncs(syncs: readonly NormalizedSync[], report: Reporter): NormalizedSync[] {
  return syncs.filter((s) => {
    if (s.paused === undefined) return true;
    report({ event: 'skipped', sync: s.name, reason: `paused: ${s.paused} (remove \`paused\` from syncs.${s.name} to run it)` });
    return false;
  });
}

export function modelFileOf(ws: Workspace, model: string): string {
  return ws.project.models.get(model)?.file ?? path.join('models', `${model}.sql`);
}
