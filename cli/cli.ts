import { cac } from 'cac';
import { DEFAULT_CONFIG_FILE } from '../engine/config/config-file.js';
import { ConfigError } from '../engine/errors.js';
import { createOutput, type Output } from './output.js';
import { confirmOnTerminal } from './confirm.js';
import { EXIT, reportError } from './handle-error.js';
import { VERSION } from '../engine/version.js';
import { parseDuration } from '../engine/config/duration.js';
import { BUILTIN_DESTINATIONS } from '../destinations/index.js';

interface GlobalFlags {
  config?: string;
  json?: boolean;
  select?: string;
  fullRefresh?: boolean;
  force?: boolean;
  due?: boolean;
  threads?: string | number;
}

function parseFlagDuration(flag: string, raw: string | number): number {
  try {
    return parseDuration(String(raw));
  } catch (e) {
    throw new ConfigError(`${flag}: ${(e as Error).message}`, { hint: `e.g. ${flag} 2h` });
  }
}

/** A whole-number flag from 1 to `max` (`--history`, `--threads`), or a usage error naming it. */
function parseWholeNumber(flag: string, raw: string | number, max: number, hint: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(`${flag} must be a whole number from 1 to ${max}, got "${String(raw)}"`, { hint });
  return n;
}

/** `--threads N`: syncs to run at once. */
function parseThreads(raw: string | number | undefined): number | undefined {
  return raw === undefined ? undefined : parseWholeNumber('--threads', raw, 32, 'e.g. audsync run --threads 4; syncs of one model still run one after another');
}

/** 128 + the signal's number, as shells report a process a signal stopped. */
function signalExitCode(sig: NodeJS.Signals): number {
  return sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : 1;
}

/** Parses argv, runs one command, and resolves to the process exit code. The library never imports this file. */
export async function main(argv: string[]): Promise<number> {
  const cli = cac('audsync');
  let exitCode: number = EXIT.ok;
  let action: ((out: Output) => Promise<number>) | undefined;
  let wantsJson = argv.includes('--json');

  cli.option('--config <path>', 'config file', { default: DEFAULT_CONFIG_FILE });
  cli.option('--json', 'one JSON object per line (the default when stdout is not a TTY)');

  cli.command('init [dir]', 'scaffold a project').action((dir: string | undefined) => {
    action = async (out) => {
      const { initCommand } = await import('../engine/commands/init-command.js');
      const files = initCommand(dir ?? '.');
      out.line({ event: 'initialized', dir: dir ?? '.', files }, `created ${files.join(', ')} in ${dir ?? '.'}\nnext: cd ${dir ?? '.'} && audsync run`);
      return EXIT.ok;
    };
  });

  cli
    .command('compile', 'write compiled SQL to target/compiled/')
    .option('--select <syncs>', 'comma-separated sync or model names')
    .action((flags: GlobalFlags) => {
      action = async (out) => {
        // Commands load lazily: start-up cost is paid only for what a command uses.
        const { compileCommand } = await import('../engine/commands/compile-command.js');
        await compileCommand({ config: flags.config!, destinations: BUILTIN_DESTINATIONS, select: flags.select }, out.event);
        return EXIT.ok;
      };
    });

  cli
    .command('plan', 'materialize and diff in the warehouse; print counts; send nothing')
    .option('--select <syncs>', 'comma-separated sync or model names')
    .option('--full-refresh', 'plan as a full refresh would')
    .option('--threads <n>', 'syncs planned at once, each on its own connection (default 1)')
    .action((flags: GlobalFlags) => {
      action = async (out) => {
        const threads = parseThreads(flags.threads);
        const { runCommand } = await import('../engine/commands/run-command.js');
        const results = await runCommand({ config: flags.config!, destinations: BUILTIN_DESTINATIONS, select: flags.select, fullRefresh: flags.fullRefresh, planOnly: true, threads }, out.event);
        return results.some((r) => r.status === 'aborted' || r.status === 'failed') ? EXIT.syncFailed : EXIT.ok;
      };
    });

  cli
    .command('run', 'sync the selected audiences')
    .option('--select <syncs>', 'comma-separated sync or model names')
    .option('--full-refresh', 're-send every member, still removing who left, and rebuild the snapshot')
    .option('--force', 'override guardrails')
    .option('--due', 'run only syncs whose schedule is due')
    .option('--fail-fast', 'stop at the first sync that fails or aborts; skip the rest')
    .option('--threads <n>', 'syncs run at once, each on its own connection and lock (default 1)')
    .action((flags: GlobalFlags & { failFast?: boolean }) => {
      action = async (out) => {
        const threads = parseThreads(flags.threads);
        const controller = new AbortController();
        let signalled: NodeJS.Signals | undefined;
        const onSignal = (sig: NodeJS.Signals): void => {
          if (controller.signal.aborted) process.exit(signalExitCode(sig));
          signalled = sig;
          process.stderr.write('stopping after the batches in flight (press Ctrl-C again to quit now)\n');
          controller.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const { runCommand } = await import('../engine/commands/run-command.js');
        const results = await runCommand(
          { config: flags.config!, destinations: BUILTIN_DESTINATIONS, select: flags.select, fullRefresh: flags.fullRefresh, force: flags.force, due: flags.due, failFast: flags.failFast, threads, signal: controller.signal },
          out.event,
        );
        // A signal wins: the orchestrator asked us to stop, and must not read the run as complete.
        const code = signalled ? signalExitCode(signalled) : results.some((r) => r.status === 'failed' || r.status === 'aborted') ? EXIT.syncFailed : EXIT.ok;
        out.line(
          { event: 'run_finished', syncs: results.map((r) => ({ sync: r.sync, status: r.status })), exit_code: code, ...(signalled ? { signal: signalled } : {}) },
          results.length === 0 ? 'nothing to run' : signalled ? `stopped by ${signalled}` : '',
        );
        return code;
      };
    });

  cli
    .command('status', 'health of each sync: last run, error, members, retries, quarantine, next due; exit 1 when unhealthy')
    .option('--select <syncs>', 'comma-separated sync or model names')
    .option('--max-age <duration>', 'unhealthy when a sync has had no successful run this recently (e.g. 2h, 1d)')
    .option('--history <n>', 'also show the last n runs of each selected sync')
    .option('--refresh', 'first fetch the final state of destination jobs still pending (needs destination secrets)')
    .option('--check', 'send alerts.on.noSuccessFor alerts for syncs gone stale (once per stale period)')
    .action((flags: GlobalFlags & { refresh?: boolean; check?: boolean; maxAge?: string; history?: string | number }) => {
      action = async (out) => {
        const maxAgeMs = flags.maxAge === undefined ? undefined : parseFlagDuration('--max-age', flags.maxAge);
        const history = flags.history === undefined ? undefined : parseWholeNumber('--history', flags.history, 1000, 'e.g. --history 10');
        const { statusCommand } = await import('../engine/commands/status-command.js');
        const { statusLines } = await import('./status-view.js');
        const result = await statusCommand({ config: flags.config!, destinations: BUILTIN_DESTINATIONS, select: flags.select, refresh: flags.refresh, check: flags.check, maxAgeMs, history }, out.event);
        const code = result.healthy ? EXIT.ok : EXIT.syncFailed;
        for (const [obj, text] of statusLines(result, code)) out.line(obj, text);
        return code;
      };
    });

  cli
    .command('retry [sync]', 'send quarantined rows of a sync again on its next run')
    .option('--sync <name>', 'the sync whose quarantined rows to release')
    .option('--key <key>', 'release only this record key')
    .action((positional: string | undefined, flags: GlobalFlags & { sync?: string; key?: string }) => {
      action = async (out) => {
        const name = flags.sync ?? positional;
        if (!name) throw new ConfigError('retry: which sync?', { hint: 'audsync retry --sync <name> [--key <record key>]' });
        const { retryCommand } = await import('../engine/commands/retry-command.js');
        const r = await retryCommand({ config: flags.config!, destinations: BUILTIN_DESTINATIONS, sync: name, key: flags.key === undefined ? undefined : String(flags.key) });
        out.line(
          { event: 'retry_released', sync: r.sync, released: r.released },
          r.released === 0 ? `${r.sync}: no quarantined rows${flags.key === undefined ? '' : ` for key ${String(flags.key)}`}` : `${r.sync}: ${r.released} quarantined row(s) released; the next run sends them again`,
        );
        return EXIT.ok;
      };
    });

  cli
    .command('reset <sync>', "forget a sync's state (snapshot, plan, quarantine) so its next run is a first load")
    .option('--yes', 'do not ask for confirmation (for scripts)')
    .action((sync: string, flags: GlobalFlags & { yes?: boolean }) => {
      action = async (out) => {
        const { resetCommand } = await import('../engine/commands/forget-commands.js');
        const { forgetLines, forgetQuestion } = await import('./forget-view.js');
        const r = await resetCommand({
          config: flags.config!, destinations: BUILTIN_DESTINATIONS,
          sync: String(sync),
          confirm: (planned) => confirmOnTerminal(forgetQuestion('reset', planned), { yes: !!flags.yes, command: `reset ${String(sync)}` }),
        });
        for (const [obj, text] of forgetLines('reset', r)) out.line(obj, text);
        return EXIT.ok;
      };
    });

  cli
    .command('prune', 'remove the state of syncs no longer in the config (deleted or renamed), listing what it drops')
    .option('--dry-run', 'only list what would be dropped')
    .option('--yes', 'do not ask for confirmation (for scripts)')
    .action((flags: GlobalFlags & { yes?: boolean; dryRun?: boolean }) => {
      action = async (out) => {
        const { pruneCommand } = await import('../engine/commands/forget-commands.js');
        const { forgetLines, forgetQuestion } = await import('./forget-view.js');
        const r = await pruneCommand({
          config: flags.config!, destinations: BUILTIN_DESTINATIONS,
          dryRun: !!flags.dryRun,
          confirm: (planned) => confirmOnTerminal(forgetQuestion('prune', planned), { yes: !!flags.yes, command: 'prune' }),
        });
        for (const [obj, text] of forgetLines(flags.dryRun ? 'prune --dry-run' : 'prune', r)) out.line(obj, text);
        return EXIT.ok;
      };
    });

  cli.help();
  cli.version(VERSION);

  try {
    const parsed = cli.parse(['node', 'audsync', ...argv], { run: false });
    wantsJson = Boolean(parsed.options.json) || !process.stdout.isTTY;
    if (parsed.options.help || parsed.options.version) return EXIT.ok;
    if (!cli.matchedCommand) {
      const name = parsed.args[0];
      throw new ConfigError(name ? `unknown command "${name}"` : 'no command given', { hint: 'Commands: init, compile, plan, run, status, retry, reset, prune. See audsync --help.' });
    }
    await cli.runMatchedCommand();
    const out = createOutput(wantsJson);
    try {
      exitCode = await action!(out);
    } finally {
      out.close();
    }
  } catch (e) {
    const err = e as Error;
    // cac reports unknown options and missing values as plain Errors: those are usage mistakes.
    if (err?.name === 'CACError') return reportError(new ConfigError(err.message, { hint: 'See audsync --help.' }), wantsJson);
    return reportError(e, wantsJson);
  }
  return exitCode;
}
