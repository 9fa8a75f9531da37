import fs from 'node:fs';
import path from 'node:path';
import { format } from 'sql-formatter';
import { compileMembershipSelect } from '../compile/sync-compiler.js';
import { getDialect } from '../warehouse/warehouse-registry.js';
import type { Dialect } from '../warehouse/dialect.js';
import type { Reporter } from '../sync/run-events.js';
import { openWorkspace, selectSyncs, unpausedSyncs, type ProjectRef } from './workspace.js';

export interface CompileOptions extends ProjectRef {
  select?: string;
}

/**
 * `audsync compile`: renders each selected sync's model and projection and writes
 * them, formatted, to target/compiled/. Needs no warehouse connection and no secrets.
 */
export async function compileCommand(opts: CompileOptions, report: Reporter): Promise<string[]> {
  const ws = await openWorkspace(opts);
  const dialect = getDialect(ws.config.warehouse.type);
  const syncs = unpausedSyncs(selectSyncs(ws.config, opts.select), report);
  const outDir = path.join(ws.config.projectDir, 'target', 'compiled');
  const written: string[] = [];
  const write = (rel: string, sql: string): void => {
    const file = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${formatSql(sql, dialect)}\n`);
    written.push(path.relative(ws.config.projectDir, file));
  };
  const models = new Set(syncs.map((s) => s.model));
  // With no --select, compile every model and macro file, used or not, so errors anywhere surface.
  if (!opts.select) {
    for (const m of ws.project.models.keys()) models.add(m);
    ws.compiler.compileAllMacros();
  }
  for (const model of [...models].sort()) {
    write(path.join('models', `${model}.sql`), ws.compiler.compileModel(model));
    report({ event: 'compiled', model, file: written[written.length - 1]! });
  }
  for (const sync of syncs) {
    write(path.join('syncs', `${sync.name}.sql`), compileMembershipSelect(dialect, ws.compiler.compileModel(sync.model), sync));
  }
  return written;
}

/** Formats SQL for people; SQL the formatter cannot parse is kept as written. */
export function formatSql(sql: string, dialect: Dialect): string {
  try {
    return format(sql, { language: dialect.formatterLanguage, keywordCase: 'upper', tabWidth: 2 });
  } catch {
    return sql;
  }
}
