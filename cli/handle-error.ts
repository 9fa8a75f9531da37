import { AudsyncError, CompileError, ConfigError, isUserMistake } from '../engine/errors.js';

export const EXIT = { ok: 0, syncFailed: 1, usage: 2 } as const;

/** Exit code for an error that stopped a command: 2 when nothing ran because of a mistake in input. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError || err instanceof CompileError) return EXIT.usage;
  return EXIT.syncFailed;
}

/**
 * Prints an error: a user's mistake as message plus hint (no stack), a bug with
 * its stack. In JSON mode the same goes to stdout as one object.
 */
export function reportError(err: unknown, json: boolean): number {
  const code = exitCodeFor(err);
  const user = isUserMistake(err);
  const e = err as Error;
  const hint = err instanceof AudsyncError ? err.hint : undefined;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ event: 'error', error: { type: e?.name ?? 'Error', message: e?.message ?? String(err), hint: hint ?? null, culprit: err instanceof AudsyncError ? err.culprit : 'audsync' }, exit_code: code })}\n`,
    );
  }
  if (user) {
    process.stderr.write(`error: ${e.message}\n${hint ? `hint: ${hint}\n` : ''}`);
  } else {
    process.stderr.write(`audsync hit a bug; please report it with the trace below.\n${e?.stack ?? String(err)}\n`);
  }
  return code;
}
