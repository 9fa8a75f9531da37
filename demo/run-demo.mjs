// `npm start`: seed (or advance) the sample data, then run every sync of the
// demo project and show the sync health. Run it again to see an incremental run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seed } from './seed-data.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'dist', 'cli', 'bin.js');
const audsync = (...args) => spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' }).status ?? 1;

console.log(`sample data: ${await seed(path.join(root, 'warehouse.duckdb'))}`);
const code = audsync('run');
audsync('status');
console.log('\nThe files in demo/out/ now hold what was sent. Run `npm start` again for an incremental run.');
process.exit(code);
