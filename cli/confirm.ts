import readline from 'node:readline/promises';
import { ConfigError } from '../engine/errors.js';

/**
 * Asks a person to confirm a destructive command. `--yes` answers for scripts;
 * without it and without a terminal to ask on, the command refuses rather than
 * guess (an orchestrator must say what it means).
 */
export async function confirmOnTerminal(question: string, opts: { yes: boolean; command: string }): Promise<boolean> {
  if (opts.yes) return true;
  if (!process.stdin.isTTY) {
    throw new ConfigError(`${opts.command} needs confirmation and there is no terminal to ask on`, { hint: `Add --yes to confirm (or --dry-run where it exists to only look).` });
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
