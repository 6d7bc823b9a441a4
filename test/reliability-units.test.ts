/**
 * The pieces behind issue 10's fixes, on their own (no kernel): exact decimal
 * counts, output-file checks and whole-file writes, the files --histogram
 * writes, the accounting of a cut drain, exit-code precedence, and wakers
 * ending another thread's epoll_wait at once.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { count, duration, scaledDecimal } from '../src/cli/arg-parsers.js';
import { parseArgs } from '../src/cli/options.js';
import { failureLine } from '../src/cli/main.js';
import { EXIT_STALLED, exitCode } from '../src/commands/context.js';
import { histogramTargets } from '../src/commands/pipeline-report.js';
import { plotOutputs } from '../src/commands/plot/index.js';
import { makeDirectory, outputProblem, writeOutputFile } from '../src/shared/output-file.js';
import { NEVER_STOP, StopController } from '../src/shared/stop.js';
import { verifyDrain } from '../src/shared/verify.js';
import { MAX_PRODUCERS } from '../src/shared/event.js';
import { Waker } from '../src/lib/waker.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rbb-units-'));

test('counts and durations with decimals are exact, and a fraction of one is refused', () => {
  const n = count('-n', 1, 1e12);
  assert.equal(n('8.2M'), 8_200_000);
  assert.equal(n('1.005k'), 1005);
  assert.equal(n('0.001M'), 1000);
  assert.equal(n('1_000'), 1000);
  assert.throws(() => n('1.5'), /-n must be an integer/);
  assert.throws(() => n('1.0005k'), /-n must be an integer/);
  assert.equal(duration('--duration', 1, 1e9)('1.1s'), 1100);
  assert.equal(duration('--duration', 1, 1e9)('0.3m'), 18_000);
  // What floating point gives instead, for the record: these are why.
  assert.notEqual(8.2 * 1e6, 8_200_000);
  assert.equal(scaledDecimal('8.2', 1e6), 8_200_000);
});

test('a flag given twice is refused, naming it, for any flag of the command', () => {
  assert.throws(() => parseArgs(['--mode', 'copy', '--mode', 'view']), /--mode is given more than once/);
  assert.throws(() => parseArgs(['-n', '5', '--events', '6']), /-n\/--events is given more than once/);
  assert.throws(() => parseArgs(['--producers', '1', '--wakeup', 'none', '--wakeup', 'none']), /--wakeup is given more than once/);
  assert.doesNotThrow(() => parseArgs(['--mode', 'copy', '-n', '5']));
});

test('outputProblem: regular files and new names pass; directories, devices, pseudo-filesystems, long names and missing folders do not', () => {
  const dir = tmp();
  const existing = path.join(dir, 'a.hgrm');
  fs.writeFileSync(existing, 'keep');
  assert.equal(outputProblem(existing), undefined);
  assert.equal(fs.readFileSync(existing, 'utf8'), 'keep', 'the check does not truncate');
  assert.equal(outputProblem(path.join(dir, 'new.hgrm')), undefined);
  assert.ok(!fs.existsSync(path.join(dir, 'new.hgrm')), 'the probe file is removed again');
  assert.match(outputProblem(dir) ?? '', /is a directory/);
  assert.match(outputProblem('/dev/null') ?? '', /not a regular file/);
  assert.match(outputProblem('/proc/version') ?? '', /proc filesystem/);
  assert.match(outputProblem('/proc/rbb-new') ?? '', /proc filesystem/);
  assert.match(outputProblem(path.join(dir, 'x'.repeat(256))) ?? '', /longer than 255 bytes/);
  assert.match(outputProblem(path.join(dir, 'no', 'such', 'f')) ?? '', /does not exist/);
  assert.match(outputProblem(path.join(existing, 'f')) ?? '', /parent is not a directory/);
  assert.match(outputProblem('') ?? '', /empty/);
});

test('makeDirectory creates missing parents, and fails with a reason where mkdir cannot (not spinning as mkdirSync recursive did on /proc)', () => {
  const dir = tmp();
  assert.equal(makeDirectory(path.join(dir, 'a', 'b', 'c')), undefined);
  assert.ok(fs.statSync(path.join(dir, 'a', 'b', 'c')).isDirectory());
  assert.match(makeDirectory('/proc/rbb-a/b') ?? '', /cannot be created \(ENOENT\)/);
  fs.writeFileSync(path.join(dir, 'file'), '');
  assert.match(makeDirectory(path.join(dir, 'file', 'sub')) ?? '', /not a directory/);
});

test('writeOutputFile writes whole files through symbolic links and names the file on failure', () => {
  const dir = tmp();
  const target = path.join(dir, 'real.json');
  fs.writeFileSync(target, 'old');
  fs.symlinkSync(target, path.join(dir, 'link.json'));
  writeOutputFile(path.join(dir, 'link.json'), 'new');
  assert.equal(fs.readFileSync(target, 'utf8'), 'new');
  assert.ok(fs.lstatSync(path.join(dir, 'link.json')).isSymbolicLink(), 'the link is kept');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['link.json', 'real.json'], 'no temporary file left');
  assert.throws(() => writeOutputFile(path.join(dir, 'no', 'x.json'), 'data'), /^Error: cannot write .*no\/x\.json: ENOENT/);
});

test('--histogram targets: FILE for one mode, FILE.MODE.hgrm for each of several, by the modes asked for', () => {
  assert.deepEqual(histogramTargets('/t/lat.hgrm', ['view']), ['/t/lat.hgrm']);
  assert.deepEqual(histogramTargets('/t/lat.hgrm', ['copy', 'view']), ['/t/lat.copy.hgrm', '/t/lat.view.hgrm']);
  assert.deepEqual(histogramTargets('/t/lat', ['copy', 'view']), ['/t/lat.copy.hgrm', '/t/lat.view.hgrm']);
  assert.deepEqual(plotOutputs('r.html'), ['r.html']);
  assert.deepEqual(plotOutputs('/o/c.svg'), ['/o/c-throughput.svg', '/o/c-ratios.svg', '/o/c-perf-ratios.svg', '/o/c-latency.svg']);
});

test('a cut drain verifies by the total: consumed + unread + dropped + discarded == produced', () => {
  const zeros = () => new Array<number>(MAX_PRODUCERS).fill(0);
  const delta = { produced: zeros(), drops: zeros(), discards: zeros() };
  delta.produced[0] = 100;
  delta.produced[1] = 50;
  delta.drops[1] = 5;
  const after = { nextSeq: delta.produced.slice(), drops: delta.drops.slice(), discards: zeros() };
  const consumed = (p0: number, p1: number) => {
    const perProducer = zeros();
    perProducer[0] = p0;
    perProducer[1] = p1;
    const expectedSeq = zeros();
    expectedSeq[0] = p0;
    expectedSeq[1] = p1 + 5;
    return { events: p0 + p1, checksum: '', perProducer, expectedSeq, anomalies: 0 };
  };
  assert.deepEqual(verifyDrain(consumed(100, 45), delta, after), [], 'a full drain');
  assert.match(verifyDrain(consumed(90, 45), delta, after).join(), /producer 0: consumed 90 events/);
  assert.deepEqual(verifyDrain(consumed(90, 40), delta, after, 15), [], '15 left unread');
  assert.match(verifyDrain(consumed(90, 40), delta, after, 14).join(), /left 14 unread at the cut/);
  assert.match(verifyDrain(consumed(101, 40), delta, after, 4).join(), /producer 0: consumed 101/, 'no producer may exceed its count');
});

test('exit codes: a failure outranks a stop, a stop outranks a stall (3), a stall outranks success', () => {
  const stopped = new StopController();
  stopped.stop('SIGINT');
  assert.equal(exitCode(false, NEVER_STOP), 0);
  assert.equal(exitCode(false, NEVER_STOP, true), EXIT_STALLED);
  assert.equal(EXIT_STALLED, 3);
  assert.equal(exitCode(true, NEVER_STOP, true), 1);
  assert.equal(exitCode(false, stopped, true), 130);
  assert.equal(exitCode(true, stopped, true), 1);
});

/** A worker that waits on a WaitSet over `fd` with a long timeout and posts the tags and how long it waited. */
function waiter(fd: number, wakerFd: number, timeoutMs: number): Promise<{ tags: number; ms: number }> {
  const waker = path.join(__dirname, '..', 'src', 'lib', 'waker.js');
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { WaitSet } = require(${JSON.stringify(waker)});
    const set = new WaitSet(workerData.fd);
    set.add(workerData.wakerFd, 2);
    parentPort.postMessage('waiting');
    const t0 = performance.now();
    const tags = set.wait(workerData.timeoutMs);
    parentPort.postMessage({ tags, ms: performance.now() - t0 });
    set.close();
  `;
  const worker = new Worker(code, { eval: true, workerData: { fd, wakerFd, timeoutMs } });
  return new Promise((resolve, reject) => {
    worker.on('message', (m) => m !== 'waiting' && resolve(m));
    worker.once('error', reject);
  });
}

test('a waker ends another thread\'s epoll_wait at once, and a wake before the wait is not lost', async () => {
  // Any fd epoll can watch stands in for the ring here: an idle waker nobody wakes.
  const ring = Waker.open();
  const waker = Waker.open();
  try {
    const waiting = waiter(ring.fd, waker.fd, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    waker.wake();
    const woken = await waiting;
    assert.equal(woken.tags, 2, 'the waker tag, not the ring');
    assert.ok(woken.ms < 1000, `woke after ${woken.ms.toFixed(0)} ms of a 10 s timeout`);
    // Edge-triggered: that wake is spent; a wake now, before the next wait starts, still ends it.
    waker.wake();
    const early = await waiter(ring.fd, waker.fd, 10_000);
    assert.equal(early.tags, 2);
    assert.ok(early.ms < 1000);
    // A set made after the wake (a consumer that starts after a Ctrl-C) sees it at once too.
    const later = await waiter(ring.fd, waker.fd, 10_000);
    assert.equal(later.tags, 2);
    // And a waker nobody woke lets the wait time out, with no tags.
    const fresh = Waker.open();
    const idle = await waiter(ring.fd, fresh.fd, 50);
    fresh.close();
    assert.equal(idle.tags, 0);
    assert.ok(idle.ms >= 45);
  } finally {
    ring.close();
    waker.close();
  }
});

test('a descriptor limit reached while loading the addon is named as such, not as a broken build', () => {
  // dlopen() gives no errno code, only words: "libz.so.1: cannot open shared object file: Too many open files".
  const err = Object.assign(new Error('libz.so.1: cannot open shared object file: Too many open files'), { code: 'ERR_DLOPEN_FAILED' });
  const line = failureLine('bench', err);
  assert.match(line, /^bench: libz\.so\.1: cannot open shared object file: Too many open files \(too many open files: raise the limit \(ulimit -n, now \S+\)\)$/);
  assert.doesNotMatch(line, /rebuild/);
});

test('a threshold is checked against the buffers the run uses: the ring buffer\'s bound only with a ring buffer mode', () => {
  const perfOnly = parseArgs(['--producers', '1', '--mode', 'perf-view', '--wakeup', 'threshold:64K', '--perf-ring-size', '1M']);
  assert.equal(perfOnly.pattern, 'pipeline');
  // With perf modes alone, a --ring-size beside --perf-ring-size would size nothing: refused for that, not for the threshold.
  assert.throws(() => parseArgs(['--producers', '1', '--mode', 'perf-view', '--wakeup', 'threshold:64K', '--perf-ring-size', '1M', '--ring-size', '16K']), /^InvalidArgumentError: --ring-size sizes the ring buffer/);
  assert.throws(() => parseArgs(['--producers', '1', '--mode', 'view,perf-view', '--wakeup', 'threshold:64K', '--perf-ring-size', '1M', '--ring-size', '16K']), /--ring-size 16 KiB ring/);
});
