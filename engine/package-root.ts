import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of audsync's own package.json, found by walking up from this
 * module: the same answer from engine/ (tests) and dist/engine/ (installed).
 */
export const PACKAGE_ROOT: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj) && (JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'audsync') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('audsync: cannot find its own package.json');
    dir = up;
  }
})();
