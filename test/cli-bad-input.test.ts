/**
 * Bad input, flag by flag: the real CLI (node dist/bench.js) is spawned with
 * each bad value and must exit with code 2, print exactly one line on stderr
 * that names the flag, print no stack trace, and make no bpf() system call at
 * all (strace counts them: nothing was loaded into the kernel). A control run
 * with good flags shows the bpf() count does see a real load.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { missingPrivileges } from '../src/shared/privileges.js';

const BENCH = path.resolve(__dirname, '..', 'src', 'bench.js');
const STRACE = ['/usr/bin/strace', '/bin/strace', '/usr/sbin/strace'].find((p) => fs.existsSync(p));

interface Case {
  args: string[];
  /** What the one stderr line must name (the flag, or the unknown word). */
  names: string;
}

// A CPU id outside this machine's CPUs, counted independently of the CLI.
const NO_SUCH_CPU = String(os.cpus().length);
const MISSING_DIR = path.join(os.tmpdir(), `no-such-dir-${process.pid}`, 'latency.hgrm');
// --histogram FILE with two modes writes FILE.copy.hgrm and FILE.view.hgrm: make one of them a directory.
const HGRM_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'rbb-hgrm-'));
fs.mkdirSync(path.join(HGRM_DIR, 'h.copy.hgrm'));
const LONG_NAME = path.join(HGRM_DIR, `${'n'.repeat(260)}.hgrm`);

const CASES: Case[] = [
  // -n / --events: type, range, and more than fits the ring in a prefill
  { args: ['-n', '0'], names: '--events' },
  { args: ['--events', '-5'], names: '--events' },
  { args: ['--events', 'lots'], names: '--events' },
  { args: ['--events', '1.5'], names: '--events' },
  { args: ['--events', '2000000', '--ring-size', '64K'], names: '--events' },
  // 32768 records of 32 B would fill 1 MiB to the byte, one more than the kernel takes
  { args: ['--events', '32768', '--event-size', '17', '--ring-size', '1M'], names: '--events' },
  { args: ['--events'], names: '--events' },
  // --mode: unknown modes, in a list too; a mode named twice; an empty item
  { args: ['--mode', 'fast'], names: '--mode' },
  { args: ['--mode', ''], names: '--mode' },
  { args: ['--mode', 'view,perf-fast'], names: '--mode' },
  { args: ['--mode', 'perf-view,perf-view'], names: '--mode' },
  { args: ['--mode', 'view,'], names: '--mode' },
  // --perf-ring-size: not a power of two, below a page, above 1 GiB, junk; without a perf mode it would be ignored
  { args: ['--mode', 'perf-view', '--perf-ring-size', '3000'], names: '--perf-ring-size' },
  { args: ['--mode', 'perf-view', '--perf-ring-size', '2K'], names: '--perf-ring-size' },
  { args: ['--mode', 'perf-view', '--perf-ring-size', '2G'], names: '--perf-ring-size' },
  { args: ['--mode', 'perf-view', '--perf-ring-size', 'big'], names: '--perf-ring-size' },
  { args: ['--mode', 'both', '--perf-ring-size', '1M'], names: '--perf-ring-size' },
  // --ring-size with only perf modes and --perf-ring-size given: it would size nothing
  { args: ['--mode', 'perf-view', '--ring-size', '64M', '--perf-ring-size', '4M', '-n', '1000'], names: '--ring-size' },
  // a sampled wake-up above one CPU's perf ring (the kernel would clamp the watermark); --submit output with no ring buffer mode
  { args: ['--producers', '1', '--mode', 'perf-view', '--perf-ring-size', '16K', '--wakeup', 'threshold:64K'], names: '--wakeup' },
  { args: ['--mode', 'perfbuf', '--submit', 'output'], names: '--submit' },
  { args: ['--producers', '1', '--mode', 'native', '--perf-ring-size', '1M'], names: '--perf-ring-size' },
  // -n more than one CPU's perf ring holds (the fill may stay on one CPU), though the ring buffer would take it
  { args: ['--mode', 'perf-view', '-n', '1000', '--perf-ring-size', '64K'], names: '--events' },
  { args: ['--mode', 'all', '-n', '2000000', '--perf-ring-size', '256M'], names: '--events' },
  // --event-size: below the event header, above what the packet can carry, junk
  { args: ['--event-size', '8'], names: '--event-size' },
  { args: ['--event-size', '4096'], names: '--event-size' },
  { args: ['--event-size', '100i'], names: '--event-size' },
  { args: ['--event-size', '-16'], names: '--event-size' },
  // --ring-size: not a power of two, below a page, above what one typed array can map
  { args: ['--ring-size', '3000'], names: '--ring-size' },
  { args: ['--ring-size', '12K'], names: '--ring-size' },
  { args: ['--ring-size', '2K'], names: '--ring-size' },
  { args: ['--ring-size', '2G'], names: '--ring-size' },
  { args: ['--ring-size', '1T'], names: '--ring-size' },
  // --read-timeout: zero, too long, junk unit
  { args: ['--read-timeout', '0'], names: '--read-timeout' },
  { args: ['--read-timeout', '2m'], names: '--read-timeout' },
  { args: ['--read-timeout', '5 fortnights'], names: '--read-timeout' },
  // --batch, --runs, --warmup
  { args: ['--batch', '0'], names: '--batch' },
  { args: ['--batch', '2M'], names: '--batch' },
  { args: ['--runs', '0'], names: '--runs' },
  { args: ['--runs', '1001'], names: '--runs' },
  { args: ['--warmup', '-1'], names: '--warmup' },
  { args: ['--warmup', '101'], names: '--warmup' },
  // --json takes no value
  { args: ['--json', 'yes'], names: '--json' },
  // --producers
  { args: ['--producers', '0'], names: '--producers' },
  { args: ['--producers', '65'], names: '--producers' },
  { args: ['--producers', 'two'], names: '--producers' },
  { args: ['--producers', '4', '-n', '3'], names: '--events' },
  // --chunk: range, and only with --producers
  { args: ['--producers', '1', '--chunk', '0'], names: '--chunk' },
  { args: ['--producers', '1', '--chunk', '2M'], names: '--chunk' },
  { args: ['--chunk', '100'], names: '--chunk' },
  // --duration: a unit is required; range
  { args: ['--producers', '1', '--duration', '10'], names: '--duration' },
  { args: ['--producers', '1', '--duration', '0s'], names: '--duration' },
  { args: ['--producers', '1', '--duration', '25h'], names: '--duration' },
  { args: ['--producers', '1', '--duration', '10 minutes'], names: '--duration' },
  { args: ['--duration', '5s'], names: '--duration' },
  // --rate: range, and at least one event per second per producer
  { args: ['--producers', '1', '--rate', '0'], names: '--rate' },
  { args: ['--producers', '1', '--rate', '2000M'], names: '--rate' },
  { args: ['--producers', '4', '--rate', '3'], names: '--rate' },
  // --poll, --wakeup: unknown choices
  { args: ['--producers', '1', '--poll', 'busy'], names: '--poll' },
  { args: ['--producers', '1', '--wakeup', 'always'], names: '--wakeup' },
  // --histogram: where it could not be written, checked on every file it writes (issue 10, 3)
  { args: ['--producers', '1', '--histogram', MISSING_DIR], names: '--histogram' },
  { args: ['--producers', '1', '--histogram', os.tmpdir()], names: '--histogram' },
  { args: ['--producers', '1', '-n', '1000', '--ring-size', '1M', '--histogram', path.join(HGRM_DIR, 'h.hgrm')], names: 'h.copy.hgrm' },
  { args: ['--producers', '1', '--mode', 'view', '--histogram', LONG_NAME], names: '--histogram' },
  { args: ['--producers', '1', '--mode', 'view', '--histogram', '/proc/version'], names: '--histogram' },
  { args: ['--producers', '1', '--histogram', '/dev/full'], names: '--histogram' },
  { args: ['--producers', '1', '--mode', 'view', '--histogram', '/dev/full'], names: '--histogram' },
  // --rate the pacing cannot honour with this --chunk, or fewer than one event per producer (issue 10, 4)
  { args: ['--producers', '2', '--rate', '500', '--duration', '1s', '--chunk', '1000'], names: '--chunk' },
  { args: ['--producers', '1', '--rate', '1', '--duration', '2s', '--chunk', '1000'], names: '--chunk' },
  { args: ['--producers', '2', '--rate', '2', '--duration', '100ms'], names: '--rate' },
  // the pipeline runs copy and view only
  { args: ['--producers', '2', '--mode', 'native-copy'], names: '--mode' },
  { args: ['--producers', '2', '--mode', 'callback'], names: '--mode' },
  { args: ['--producers', '2', '--mode', 'perf-native-copy'], names: '--mode' },
  { args: ['--producers', '2', '--mode', 'perf-view,callback'], names: '--mode' },
  // --read-timeout means nothing to the prefill, which never waits
  { args: ['--read-timeout', '2s'], names: '--read-timeout' },
  // a flag given twice: commander kept the last one silently (issue 10, 9)
  { args: ['--mode', 'copy', '--mode', 'view'], names: '--mode' },
  { args: ['-n', '5', '--events', '6'], names: '--events' },
  { args: ['--json', '--json'], names: '--json' },
  { args: ['--producers', '1', '--rate', '1k', '--rate', '2k'], names: '--rate' },
  // --consumer-cpu, --producer-cpus: CPUs that do not exist here
  { args: ['--producers', '1', '--consumer-cpu', NO_SUCH_CPU], names: '--consumer-cpu' },
  { args: ['--producers', '1', '--consumer-cpu', '-1'], names: '--consumer-cpu' },
  { args: ['--producers', '1', '--producer-cpus', `0,${NO_SUCH_CPU}`], names: '--producer-cpus' },
  { args: ['--producers', '1', '--producer-cpus', '0,,1'], names: '--producer-cpus' },
  // more CPUs than producers: some would be ignored
  { args: ['--producers', '1', '--producer-cpus', '0,0'], names: '--producer-cpus' },
  // --stress: needs --producers and --duration
  { args: ['--stress'], names: '--stress' },
  { args: ['--stress', '--producers', '2'], names: '--stress' },
  { args: ['--stress', '--producers', '2', '--duration', '1m', '--event-size', '64'], names: '--event-size' },
  { args: ['--stress', '--producers', '2', '--duration', '1m', '--mode', 'view'], names: '--mode' },
  { args: ['--stress', '--producers', '2', '--duration', '1m', '--perf-ring-size', '1M'], names: '--perf-ring-size' },
  // --trigger, --submit: unknown choices; --submit output only for events the program's stack holds (472 B)
  { args: ['--trigger', 'kprobe'], names: '--trigger' },
  { args: ['--producers', '1', '--trigger', ''], names: '--trigger' },
  { args: ['--submit', 'copy'], names: '--submit' },
  { args: ['--submit', 'output', '--event-size', '473'], names: '--event-size' },
  { args: ['--producers', '2', '--submit', 'output', '--event-size', '2048'], names: '--submit output' },
  { args: ['--trigger', 'syscall', '--trigger', 'test-run'], names: '--trigger' },
  // --wakeup threshold:SIZE: the syntax, a size, at least one record, at most what the ring holds waiting
  { args: ['--producers', '1', '--wakeup', 'threshold'], names: '--wakeup' },
  { args: ['--producers', '1', '--wakeup', 'threshold:'], names: '--wakeup' },
  { args: ['--producers', '1', '--wakeup', 'threshold:lots'], names: '--wakeup' },
  { args: ['--producers', '1', '--wakeup', 'threshold:-64K'], names: '--wakeup' },
  { args: ['--producers', '1', '--wakeup', 'threshold:0'], names: '--wakeup' },
  { args: ['--producers', '1', '--wakeup', 'threshold:100'], names: '--wakeup' },
  { args: ['--producers', '1', '--wakeup', 'threshold:64K', '--ring-size', '64K'], names: '--wakeup' },
  { args: ['--producers', '1', '--wakeup', 'threshold:2T'], names: '--wakeup' },
  { args: ['--wakeup', 'threshold:64K'], names: '--wakeup' },
  // --report-interval: a unit, its range, only in the pipeline, at least one whole interval, not with --stress
  { args: ['--producers', '1', '--duration', '5s', '--report-interval', '1'], names: '--report-interval' },
  { args: ['--producers', '1', '--duration', '5s', '--report-interval', '5ms'], names: '--report-interval' },
  { args: ['--producers', '1', '--duration', '5h', '--report-interval', '2h'], names: '--report-interval' },
  { args: ['--producers', '1', '--duration', '5s', '--report-interval', 'often'], names: '--report-interval' },
  { args: ['--report-interval', '1s'], names: '--report-interval' },
  { args: ['--producers', '1', '--report-interval', '2s'], names: '--report-interval' },
  { args: ['--producers', '1', '--duration', '3s', '--report-interval', '4s'], names: '--report-interval' },
  { args: ['--producers', '1', '--duration', '24h', '--report-interval', '10ms'], names: '--report-interval' },
  { args: ['--stress', '--producers', '2', '--duration', '1m', '--report-interval', '1s'], names: '--report-interval' },
  // --stress cycles the trigger and the submit mode itself
  { args: ['--stress', '--producers', '2', '--duration', '1m', '--trigger', 'syscall'], names: '--trigger' },
  { args: ['--stress', '--producers', '2', '--duration', '1m', '--submit', 'output'], names: '--submit' },
  // unknown flags, stray arguments
  { args: ['--evnets', '10'], names: '--evnets' },
  { args: ['-x'], names: '-x' },
  { args: ['prefill'], names: 'argument' },
];

/** Runs the CLI, under strace when available, and returns what it did. */
function runCli(args: string[]): { status: number | null; stderr: string; bpfCalls: number | undefined; ms: number } {
  const trace = STRACE ? path.join(os.tmpdir(), `bad-input-${process.pid}-${Math.random().toString(36).slice(2)}.strace`) : undefined;
  const argv = trace
    ? [STRACE, ['-f', '-qq', '-e', 'trace=bpf', '-e', 'signal=none', '-o', trace, process.execPath, BENCH, ...args]]
    : [process.execPath, [BENCH, ...args]];
  const started = Date.now();
  const r = spawnSync(argv[0] as string, argv[1] as string[], { encoding: 'utf8', timeout: 30_000 });
  const ms = Date.now() - started;
  let bpfCalls: number | undefined;
  if (trace) {
    bpfCalls = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => /\bbpf\(/.test(l)).length;
    fs.rmSync(trace, { force: true });
  }
  return { status: r.status, stderr: r.stderr, bpfCalls, ms };
}

test('strace sees the bpf() calls of a real load (control for the "nothing loaded" checks)', { skip: !STRACE ? 'strace not installed' : missingPrivileges() ?? false }, () => {
  const r = runCli(['-n', '100', '--runs', '1', '--warmup', '0', '--ring-size', '64K']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok((r.bpfCalls ?? 0) > 0, 'a good run must make bpf() calls, else the bad-input checks below prove nothing');
});

for (const c of CASES) {
  test(`bad input: ${c.args.join(' ') || '(none)'}`, () => {
    const r = runCli(c.args);
    assert.equal(r.status, 2, `exit code; stderr: ${r.stderr}`);
    assert.ok(r.stderr.endsWith('\n'), 'stderr ends with a newline');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${r.stderr}`);
    assert.ok(lines[0].includes(c.names), `the line names ${c.names}: ${lines[0]}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(r.stderr, /Error:|TypeError|RangeError/, 'no raw exception text');
    if (r.bpfCalls !== undefined) assert.equal(r.bpfCalls, 0, 'no bpf() system call: nothing was loaded');
  });
}

test('a very long bad value is cut when echoed: one short line (issue 10, 9)', () => {
  for (const args of [['--mode', 'x'.repeat(130_000)], [`--${'y'.repeat(50_000)}`], ['--histogram', `/tmp/${'z'.repeat(100_000)}`, '--producers', '1']]) {
    const r = runCli(args);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    assert.ok(r.stderr.length < 1000, `stderr is ${r.stderr.length} characters`);
    assert.match(r.stderr, /\(\d{5,6} characters\)/, 'says how long the value was');
  }
});

test('counts with decimal suffixes are exact: -n 8.2M and -n 1.005k are integers (issue 10, 8)', () => {
  // Good input that the kernel would take; refused only by the ring check, whose message shows the parsed count.
  const big = runCli(['-n', '8.2M', '--ring-size', '4K']);
  assert.equal(big.status, 2);
  assert.match(big.stderr, /-n\/--events: 8200000 events/);
  const small = runCli(['-n', '1.005k', '--ring-size', '4K']);
  assert.match(small.stderr, /-n\/--events: 1005 events/);
});

for (const [script, name] of [['bench.js', 'bench'], ['sweep.js', 'sweep'], ['plot.js', 'plot']]) {
  test(`${name} --version prints the package and version, exit 0, nothing loaded`, () => {
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '..', 'src', script), '--version'], { encoding: 'utf8' });
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { name: string; version: string };
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${pkg.name} ${pkg.version}\n`);
  });
}
