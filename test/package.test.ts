/**
 * The package as a user gets it: `npm pack`, install the tarball into an
 * empty project (its install script builds the addon there), run every
 * installed command's --version, and read a ring that a separate process
 * pins and fills through `import { openRing } from 'bpf-ringbuf-bench'` —
 * every event, in view and in copy mode, count and sequence numbers checked.
 * Also: the tarball ships only what runs.
 *
 * Slow (a native build in the new project, about a minute); it uses npm's
 * cache (--prefer-offline), so the dependencies come from where npm ci got them.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../src/lib/addon.js';
import { bpffsSkip } from './helpers/bpffs.js';
import { kernelSkip } from './helpers/kernel.js';
import { ProducerProcess } from './helpers/producer-process.js';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let work: string;
let tarball: string;
let project: string;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'rbb-package-'));
  const packed = execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  tarball = path.join(work, (JSON.parse(packed) as { filename: string }[])[0].filename);
  project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  execFileSync(npm, ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: project, stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the library, the commands, the addon sources and the BPF object, and no tests or results', { timeout: 60_000 }, () => {
  const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const files = listed.map((f) => f.replace(/^package\//, ''));
  for (const needed of ['package.json', 'README.md', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/bench.js', 'dist/sweep.js', 'dist/plot.js', 'native/binding.gyp', 'bpf/ringbuf_bench.bpf.o', 'bpf/ringbuf_bench.h', 'docs/library.md'])
    assert.ok(files.includes(needed), `${needed} is in the package`);
  const unwanted = files.filter((f) => /^(test|build|bench|examples|\.ci|native\/build)\//.test(f) || /\.test\.js$/.test(f));
  assert.deepEqual(unwanted, [], 'no tests, results, drivers or build output');
});

test('every installed command answers --version with the package version', { timeout: 60_000 }, () => {
  for (const bin of Object.keys(pkg.bin)) {
    const r = spawnSync(path.join(project, 'node_modules', '.bin', bin), ['--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${bin}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), `${pkg.name} ${pkg.version}`, bin);
  }
});

const skip = kernelSkip || bpffsSkip();

test("import { openRing } from the installed package reads a ring a separate process pins and fills, in view and copy mode", { skip, timeout: 120_000 }, async () => {
  const eventSize = 96;
  const producer = await ProducerProcess.start({ eventSize, ringSize: 1 << 20 });
  try {
    const made = await producer.produce(3000);
    assert.equal(made.drops, 0);
    // An ES module in the user's project: the package's "exports" resolve the bare name.
    const script = path.join(project, 'read.mjs');
    fs.writeFileSync(
      script,
      `import { openRing, EMPTY } from '${pkg.name}';
const [pinned, mode, expected] = process.argv.slice(2);
const ring = openRing({ pinned });
const seqs = [];
const copy = new Uint8Array(4096);
for (;;) {
  if (mode === 'view') {
    const length = ring.peek();
    if (length === EMPTY) break;
    seqs.push(Number(new DataView(ring.bytes.buffer).getBigUint64(ring.sampleOffset + 8, true) & 0xffffffffffffn));
    ring.consume();
  } else {
    const length = ring.readInto(copy);
    if (length === EMPTY) break;
    seqs.push(Number(new DataView(copy.buffer).getBigUint64(8, true) & 0xffffffffffffn));
  }
}
ring.close();
console.log(JSON.stringify({ count: seqs.length, inOrder: seqs.every((s, i) => s === i + Number(expected)) }));
`,
    );
    const view = spawnSync(process.execPath, [script, producer.pin, 'view', '0'], { cwd: project, encoding: 'utf8' });
    assert.equal(view.status, 0, view.stderr);
    assert.deepEqual(JSON.parse(view.stdout), { count: 3000, inOrder: true });
    const more = await producer.produce(2000);
    assert.equal(more.drops, 0);
    const copy = spawnSync(process.execPath, [script, producer.pin, 'copy', '3000'], { cwd: project, encoding: 'utf8' });
    assert.equal(copy.status, 0, copy.stderr);
    assert.deepEqual(JSON.parse(copy.stdout), { count: 2000, inOrder: true });
  } finally {
    await producer.stop();
  }
});
