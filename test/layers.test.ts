/**
 * The tree's layers, checked on the sources: each layer imports only from the
 * layers below it, the library depends on nothing of the benchmark, and tests
 * and bench drivers build from the sources, never from the compiled ../dist.
 *
 *   src/lib                          the library (ring layout, mapping, reader, waiting)
 *   src/shared                       the benchmark's shared pieces
 *   src/consumer, src/producer       the workers and their loops
 *   src/runners                      prefill, pipeline, stress: config + stop in, data out
 *   src/commands                     run + format + exit code
 *   src/cli                          argument parsing, signal handling
 *   src/*.ts                         entry points
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../src/lib/addon.js';

const LAYERS: [string, number][] = [
  ['src/lib/', 0],
  ['src/shared/', 1],
  ['src/consumer/', 2],
  ['src/producer/', 2],
  ['src/runners/', 3],
  ['src/commands/', 4],
  ['src/cli/', 5],
  ['src/', 6],
];

function layerOf(file: string): number {
  for (const [prefix, level] of LAYERS) if (file.startsWith(prefix)) return level;
  throw new Error(`${file}: in no layer`);
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(rel));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** Every module a source file imports or re-exports (statements at the start of a line, not examples in comments). */
function importSpecifiers(file: string): string[] {
  const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
  const statements = /^import\s+'([^']+)'|^(?:import|export)\b[^;]*?\bfrom\s*'([^']+)'|\b(?:import|require)\(\s*'([^']+)'\s*\)/gm;
  return [...text.matchAll(statements)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** Relative imports of a source file, resolved to repository paths (without extension). */
function relativeImports(file: string): string[] {
  return importSpecifiers(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => path.join(path.dirname(file), s).replace(/\.js$/, ''));
}

test('each layer of src/ imports only from the layers below it (or its own)', () => {
  const violations: string[] = [];
  for (const file of sources('src')) {
    const mine = layerOf(file);
    for (const target of relativeImports(file)) {
      if (layerOf(target + '.ts') > mine) violations.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the library (src/lib) imports nothing outside itself but Node built-ins', () => {
  const outside: string[] = [];
  for (const file of sources('src/lib')) {
    for (const spec of importSpecifiers(file))
      if (spec.startsWith('node:')) continue;
      else if (!spec.startsWith('.') || !path.join(path.dirname(file), spec).startsWith('src/lib/')) outside.push(`${file} imports ${spec}`);
  }
  assert.deepEqual(outside, []);
});

test('tests and bench drivers import the sources, never ../dist', () => {
  const fromDist: string[] = [];
  for (const file of [...sources('test'), ...sources('bench')]) {
    const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
    if (/(?:from|import|require)\s*\(?\s*['"][./]*dist\//.test(text)) fromDist.push(file);
  }
  assert.deepEqual(fromDist, []);
});
