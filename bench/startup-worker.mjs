// Times the CLI's start-up pieces one by one in a fresh process, for the
// no-change benchmark's breakdown: module imports, jiti, loading the config and
// the project, compiling the model. Uses internal modules of dist/ (not a public
// API): any step that no longer exists is reported as null.
//   node bench/startup-worker.mjs <config path> <model name>
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const [configPath, model] = process.argv.slice(2);
const dist = process.env.BENCH_DIST ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const mod = (p) => import(pathToFileURL(path.join(dist, p)).href);
const t = () => performance.now();
const out = { node_boot_ms: performance.nodeTiming.bootstrapComplete };
const time = async (name, fn) => {
  const t0 = t();
  try {
    const v = await fn();
    out[name] = t() - t0;
    return v;
  } catch (e) {
    out[name] = null;
    out[`${name}_error`] = String(e?.message ?? e).slice(0, 200);
    return undefined;
  }
};

await time('import_cli_ms', () => mod('cli/cli.js'));
await time('import_jiti_ms', () => import('jiti'));
const run = await time('import_run_command_ms', () => mod('engine/commands/run-command.js'));
const ws = await time('import_workspace_ms', () => mod('engine/commands/workspace.js'));
const workspace = ws ? await time('open_workspace_ms', () => ws.openWorkspace(configPath)) : undefined;
if (workspace) await time('compile_model_ms', () => workspace.compiler.compileModel(model));
await time('import_duckdb_connection_ms', () => mod('engine/warehouse/duckdb/duckdb-connection.js'));
out.total_ms = t();
void run;
console.log(JSON.stringify(out));
