import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './support/cli-project.js';

/**
 * The house, from the lowest floor up: the one place the stage order is
 * declared. A file may import files of its own room and of rooms on lower
 * floors, never one above it, and no files may import each other in a circle.
 * Rooms are path prefixes under the repository (a folder ends with '/').
 */
const FLOORS: readonly (readonly string[])[] = [
  ['engine/errors.ts', 'engine/package-root.ts'],
  // Vocabulary every stage shares: identifier kinds, sync modes, env references, the redactor.
  ['engine/version.ts', 'engine/vocabulary/'],
  // The destination kit: what a destination imports, and what the engine calls it through.
  ['engine/destination/'],
  // One folder per warehouse (config type and validation, dialect, connection) behind warehouse-registry.ts.
  ['engine/warehouse/'],
  ['engine/config/'],
  ['engine/project/'],
  ['engine/compile/'],
  ['engine/plan/'],
  ['engine/run/'],
  ['engine/state/'],
  ['engine/sync/'],
  ['engine/alerts/'],
  ['engine/commands/'],
  // The package's public API.
  ['engine/index.ts'],
  // Plug-ins, above the engine: they import the kit's face only (checked below).
  ['destinations/'],
  // The composition root: hands the built-in destinations to the commands.
  ['cli/'],
];

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sourceFiles(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Each source file with the repository files it imports (relative specifiers only; packages are not rooms). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ['engine', 'destinations', 'cli'].flatMap(sourceFiles)) {
    const text = fs.readFileSync(path.join(REPO, file), 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) continue;
      targets.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts'));
    }
    graph.set(file, targets);
  }
  return graph;
}

function floorOf(file: string): { floor: number; room: string } {
  for (let floor = 0; floor < FLOORS.length; floor++) {
    const room = FLOORS[floor]!.find((r) => (r.endsWith('/') ? file.startsWith(r) : file === r));
    if (room) return { floor, room };
  }
  throw new Error(`${file} stands on no floor: add its folder to FLOORS in test/house.test.ts`);
}

type Graph = ReadonlyMap<string, readonly string[]>;

/** Imports into a room on a higher floor, or into another room of the same floor. */
function wrongWayImports(graph: Graph): string[] {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    const from = floorOf(file);
    for (const t of targets) {
      const to = floorOf(t);
      if (to.room !== from.room && to.floor >= from.floor) wrong.push(`${file} (floor ${from.floor}) -> ${t} (floor ${to.floor})`);
    }
  }
  return wrong;
}

/** Every circle found by a depth-first walk, as file -> ... -> the same file. */
function circlesIn(graph: Graph): string[] {
  const circles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 'open') circles.push([...stack.slice(stack.indexOf(t)), t].join(' -> '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return circles;
}

describe('the house', () => {
  const graph = importGraph();

  it('the import reader sees the imports (the checks below would pass on an empty graph)', () => {
    expect(graph.get('cli/cli.ts')).toContain('destinations/index.ts');
    expect(graph.get('engine/sync/sync-run.ts')).toContain('engine/run/batch-runner.ts');
    expect([...graph.values()].reduce((n, t) => n + t.length, 0)).toBeGreaterThan(300);
  });

  it('every import resolves to a file of the repository', () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !fs.existsSync(path.join(REPO, t))).map((t) => `${file} -> ${t}`));
    expect(missing).toEqual([]);
  });

  it('no file imports a room on a higher floor, nor another room of its own floor', () => {
    expect(wrongWayImports(graph)).toEqual([]);
  });

  it('no files import each other in a circle', () => {
    expect(circlesIn(graph)).toEqual([]);
  });

  it('a built-in destination imports the engine only through the kit (engine/destination/index.ts)', () => {
    const deep = [...graph]
      .filter(([file]) => file.startsWith('destinations/'))
      .flatMap(([file, targets]) => targets.filter((t) => t.startsWith('engine/') && t !== 'engine/destination/index.ts').map((t) => `${file} -> ${t}`));
    expect(deep).toEqual([]);
  });

  it('the checks find an upward import, a sideways one and a circle in a sample house', () => {
    const sample: Graph = new Map([
      ['engine/plan/plan-sql.ts', ['engine/sync/sync-run.ts']],
      ['engine/run/batch-runner.ts', ['engine/state/plan-log.ts']],
      ['engine/sync/sync-run.ts', ['engine/plan/plan-sql.ts']],
      ['engine/state/plan-log.ts', []],
      ['engine/vocabulary/env-ref.ts', ['engine/errors.ts', 'engine/version.ts']],
    ]);
    expect(wrongWayImports(sample)).toEqual([
      'engine/plan/plan-sql.ts (floor 7) -> engine/sync/sync-run.ts (floor 10)',
      'engine/run/batch-runner.ts (floor 8) -> engine/state/plan-log.ts (floor 9)',
      'engine/vocabulary/env-ref.ts (floor 1) -> engine/version.ts (floor 1)',
    ]);
    expect(circlesIn(sample)).toEqual(['engine/plan/plan-sql.ts -> engine/sync/sync-run.ts -> engine/plan/plan-sql.ts']);
  });
});
