#!/usr/bin/env node
import { main } from './cli.js';
import { reportError } from './handle-error.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = reportError(e, !process.stdout.isTTY);
  },
);
