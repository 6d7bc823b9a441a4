/**
 * What a user's environment can do to a run, tried on the real binaries as
 * child processes (limits set with ulimit through bash -c): each must end in
 * one line on stderr that names the cause, with the right exit code, never a
 * stack trace (issue 10, 5).
 *  - stdout's reader goes away (`| head`): exit 141 (128 + SIGPIPE), silently;
 *  - too few file descriptors (ulimit -n) or too little address space
 *    (ulimit -v): refused before anything is loaded, naming the limit;
 *  - the native addon not built: one line saying how to build it;
 *  - stdout on a full disk: one line naming stdout.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { kernelSkip } from './helpers/kernel.js';

const SRC = path.resolve(__dirname, '..', 'src');
const STRACE = ['/usr/bin/strace', '/bin/strace', '/usr/sbin/strace'].find((p) => fs.existsSync(p));

function sh(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cli(script: string, args: string): string {
  return `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(SRC, script))} ${args}`;
}

function assertOneLine(stderr: string, names: RegExp): void {
  assert.equal(stderr.trimEnd().split('\n').length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(stderr, names);
  assert.doesNotMatch(stderr, /^\s+at |Error:|node:internal/m, 'no stack trace');
}

// ---- the reader of stdout goes away ----

for (const [name, script, args] of [
  ['bench', 'bench.js', '-n 100000 --ring-size 64M --runs 1 --warmup 0'],
  ['bench --json', 'bench.js', '-n 100000 --ring-size 64M --runs 1 --warmup 0 --json'],
  ['bench --producers', 'bench.js', '--producers 1 -n 20000 --ring-size 4M --mode view'],
  ['sweep', 'sweep.js', `--sizes 64 -n 1000 --ring-size 1M --runs 1 --warmup 0 --out ${JSON.stringify(fs.mkdtempSync(path.join(os.tmpdir(), 'rbb-epipe-')))}`],
]) {
  test(`${name} | (reader gone): exit 141, nothing on stderr`, { skip: kernelSkip, timeout: 60_000 }, () => {
    // The reader closes its end at once; the run writes its report well after.
    const r = sh(`${cli(script, args)} 2>/tmp/rbb-epipe-$$.err | (exec 0<&-; true); code=\${PIPESTATUS[0]}; cat /tmp/rbb-epipe-$$.err >&2; rm -f /tmp/rbb-epipe-$$.err; echo $code`);
    assert.equal(r.stdout.trim(), '141', `exit code; stderr: ${r.stderr}`);
    assert.equal(r.stderr.replace(/^sweep \d+\/\d+: .*\n/gm, ''), '', 'nothing but progress on stderr');
  });
}

test('plot | (reader gone): exit 141, nothing on stderr', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbb-epipe-'));
  const input = path.join(dir, 'r.json');
  fs.writeFileSync(input, JSON.stringify({ results: [{ mode: 'view', event_size: 64, mevents_per_s: 1 }] }));
  const r = sh(`${cli('plot.js', `${input} -o ${path.join(dir, 'r.html')}`)} | (exec 0<&-; sleep 0.5); echo \${PIPESTATUS[0]}`);
  assert.equal(r.stdout.trim(), '141');
  assert.equal(r.stderr, '');
});

test('stdout on a full disk (> /dev/full): one line naming stdout, exit 1', { skip: kernelSkip }, () => {
  const r = sh(`${cli('bench.js', '-n 1000 --ring-size 1M --runs 1 --warmup 0')} > /dev/full`);
  assert.equal(r.status, 1);
  assertOneLine(r.stderr, /^bench: cannot write to stdout: ENOSPC/);
});

// ---- process limits ----

/** Runs the CLI under a limit, counting its bpf() calls with strace when it is installed. */
function limited(limit: string, script: string, args: string): { status: number | null; stderr: string; bpfCalls: number | undefined } {
  const trace = STRACE ? path.join(os.tmpdir(), `rbb-limit-${process.pid}-${Math.random().toString(36).slice(2)}.strace`) : undefined;
  const run = trace ? `${STRACE} -f -qq -e trace=bpf -e signal=none -o ${trace} ${cli(script, args)}` : cli(script, args);
  const r = sh(`${limit}; ${run}`);
  let bpfCalls: number | undefined;
  if (trace) {
    bpfCalls = fs.existsSync(trace) ? fs.readFileSync(trace, 'utf8').split('\n').filter((l) => /\bbpf\(/.test(l)).length : undefined;
    fs.rmSync(trace, { force: true });
  }
  return { status: r.status, stderr: r.stderr, bpfCalls };
}

for (const [limit, args, names] of [
  // piscina crashed with an unhandled EMFILE while starting its threads
  ['ulimit -n 32', '--producers 2 -n 1000 --ring-size 1M', /ulimit -n/],
  ['ulimit -n 64', '--producers 64 -n 1000 --ring-size 1M', /ulimit -n/],
  // libbpf's probes failed for want of fds and bpf_object__load said EINVAL
  ['ulimit -n 21', '-n 1000 --ring-size 1M --runs 1 --warmup 0', /ulimit -n/],
  // the deadline thread's 8 MiB stack did not fit: "pthread_create(deadline): EAGAIN"
  ['ulimit -v 1000000', '', /ulimit -v/],
  // V8 aborted reserving a worker's code range
  ['ulimit -v 2000000', '--producers 2 -n 1000 --ring-size 1M', /ulimit -v/],
] as [string, string, RegExp][]) {
  test(`${limit}; bench ${args}: refused before loading, one line naming the limit, exit 1`, { skip: kernelSkip, timeout: 60_000 }, () => {
    const r = limited(limit, 'bench.js', args);
    assert.equal(r.status, 1, r.stderr);
    assertOneLine(r.stderr, names);
    if (r.bpfCalls !== undefined) assert.equal(r.bpfCalls, 0, 'no bpf() call: nothing was loaded');
  });
}

test('a limit the run fits in is not refused (ulimit -n 256, ulimit -v 4 GiB, 1 producer)', { skip: kernelSkip, timeout: 60_000 }, () => {
  const r = limited('ulimit -n 256; ulimit -v 4194304', 'bench.js', '--producers 1 -n 1000 --ring-size 1M --mode view');
  assert.equal(r.status, 0, r.stderr);
});

// ---- no addon ----

test('without the built addon: bench and sweep say so in one line, exit 1', { skip: kernelSkip }, () => {
  // The compiled sources in a package of their own, with no native/build.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbb-no-addon-'));
  fs.cpSync(path.join(SRC, '..'), path.join(root, 'build'), { recursive: true, filter: (p) => !p.includes(`${path.sep}test${path.sep}`) && !p.endsWith(`${path.sep}test`) });
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'bpf-ringbuf-bench', version: '0.0.0-test' }));
  fs.symlinkSync(path.resolve(SRC, '..', '..', 'node_modules'), path.join(root, 'node_modules'));
  try {
    for (const script of ['bench.js', 'sweep.js']) {
      const r = spawnSync(process.execPath, [path.join(root, 'build', 'src', script), '-n', '100', '--ring-size', '1M'], { encoding: 'utf8' });
      assert.equal(r.status, 1, `${script}: ${r.stderr}`);
      assertOneLine(r.stderr, /the native addon is missing or broken: rebuild it with npm run build:native/);
      assert.doesNotMatch(r.stderr, /Require stack/);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
