/**
 * The prefill pattern (the seed benchmark's): one BPF_PROG_TEST_RUN fills the
 * ring with -n events, then one consumer mode drains it while the clock runs.
 * Rounds repeat fill + drain for every mode, interleaved, on the same loaded
 * program and mapping, so drift hits all modes alike. The perf buffer modes
 * read a session of their own (a Session has one buffer kind), loaded with
 * the same options; each round runs one kind's modes, then the other's
 * (interleaveGroups).
 *
 * The fill runs on this thread, which is not pinned: the scheduler may move
 * it to another CPU during a long test run, and the perf buffer's events then
 * land in more than one CPU's ring. The perf modes check sequences per ring
 * and merge (EventSink.useLane, the native perf consumer's per-CPU sinks), so
 * that is verified, not assumed away; the CLI makes sure -n fits one CPU's ring.
 */
import { CONSUMER_MODES, type DrainContext } from '../consumer/modes.js';
import { releaseNativeConsumers } from '../consumer/native-consumer.js';
import { PerfBufferReader } from '../lib/perf-reader.js';
import { BUSY, RingReader } from '../lib/ring-reader.js';
import { buildPacket } from '../shared/event.js';
import type { LoadedHook, Session } from '../shared/session.js';
import { interleaveGroups } from '../shared/stats.js';
import type { PrefillConfig } from '../shared/config.js';
import type { PrefillRun } from '../shared/results.js';
import { NEVER_STOP, runInterruptibly, type StopSignal } from '../shared/stop.js';
import type { DrainOutcome } from '../shared/types.js';
import type { ModeName } from '../shared/types.js';
import { counterDelta, sum, verifyDrain, verifyLost } from '../shared/verify.js';
import { BufferSessions, modesByBuffer, sessionOptionsOf } from './sessions.js';

/**
 * Runs every round and calls onRun after each drain; returns all runs,
 * warm-ups included. A stop ends the pattern early with the runs so far; a
 * fill the stop cut short (EINTR) is still drained and verified, and its run
 * has fewer than `events` events. A drain still running WIND_DOWN_MS after
 * the stop is terminated (StopSignal.runInterruptibly) and its run marked
 * drainCut, so the completed runs are reported in time whatever the backlog.
 */
export function runPrefill(
  config: PrefillConfig,
  stop: StopSignal = NEVER_STOP,
  onRun: (run: PrefillRun) => void = () => {},
  onStart: (start: LoadedHook) => void = () => {},
): PrefillRun[] {
  // The fill runs with the configured trigger and submit mode: the events are
  // byte-identical either way, so the drains and their checksums are too.
  const sessions = new BufferSessions((buffer) => sessionOptionsOf(config, buffer));
  try {
    const rounds = interleaveGroups(modesByBuffer(config.modes), config.warmup + config.runs);
    // The first run's session is loaded before the header: it names where the program runs.
    const first = sessions.forModeUnlessStopped(rounds[0][0], stop);
    if (!first || !sessions.preload(rounds, stop)) return [];
    onStart(first.loadedHook);
    const packet = buildPacket(0, config.eventSize);
    const runs: PrefillRun[] = [];
    for (const [round, order] of rounds.entries()) {
      for (const mode of order) {
        if (stop.requested()) return runs;
        // Loading a session (mapping its rings) can take a while: a stop meanwhile starts no fill.
        const session = sessions.forModeUnlessStopped(mode, stop);
        if (!session) return runs;
        const run = prefillOnce(session, packet, config, mode, round, stop);
        runs.push(run);
        onRun(run);
      }
    }
    return runs;
  } finally {
    releaseNativeConsumers();
    sessions.close();
  }
}

/**
 * Everything was submitted before the drain began: an empty ring means done.
 * A busy record cannot happen here, but if it did, waiting is the rule. One
 * function for every run: a new closure per run is a new call target, and the
 * optimised drain loop that inlined the last one deoptimises ("wrong call
 * target", node --trace-deopt) at the end of every run.
 */
const doneWhenEmpty = (status: number): boolean => status === BUSY;

function prefillOnce(
  session: Session,
  packet: Uint8Array,
  config: PrefillConfig,
  mode: ModeName,
  round: number,
  stop: StopSignal,
): PrefillRun {
  // Every fill starts at sequence 0, so all modes and rounds drain identical events.
  session.resetState();
  const before = session.readState();
  session.produce(packet, config.events, 0, () => stop.requested());
  const after = session.readState();
  const ctx: DrainContext = {
    // A fresh reader starts at the published consumer position: the native
    // modes (libbpf) advance it behind a RingReader's back.
    reader: new RingReader(session.ring, { batch: config.batch }),
    ring: session.ring,
    ringFd: session.object.ringFd,
    eventSize: config.eventSize,
    touch: config.touch,
    startSeq: before.nextSeq,
    idle: doneWhenEmpty,
    // The same for the perf buffer's rings (data_tail), and the native perf consumer's PerfBuffer.
    perfReader: session.perf ? new PerfBufferReader(session.perfRings, { batch: config.batch, sampleLength: config.eventSize }) : undefined,
    perf: session.perf,
  };
  CONSUMER_MODES[mode].prepare?.(ctx);
  let outcome: DrainOutcome | undefined;
  let seconds = 0;
  const drained = runInterruptibly(stop, () => {
    const start = process.hrtime.bigint();
    outcome = CONSUMER_MODES[mode].drain(ctx);
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  });
  if (!drained || !outcome) {
    const nothing = { mode, producers: 1, event_size: config.eventSize, touch: config.touch, batch: config.batch, events: 0, drops: 0, seconds: 0, mevents_per_s: 0, checksum: '', latency_ns: null };
    return { round, warmup: round < config.warmup, failures: [], drainCut: true, result: nothing };
  }

  const delta = counterDelta(before, after);
  const failures = verifyDrain(outcome, delta, after);
  const drops = sum(delta.drops);
  if (drops > 0) failures.push(`${drops} events dropped while filling: the ring was too small for -n`);
  // Nothing is dropped in a prefill that fits, so nothing may be reported lost either.
  if (outcome.lost !== undefined) failures.push(...verifyLost(outcome.lost, drops).failures);
  return {
    round,
    warmup: round < config.warmup,
    failures,
    result: {
      mode,
      producers: 1,
      event_size: config.eventSize,
      touch: config.touch,
      batch: config.batch,
      events: outcome.events,
      drops,
      seconds,
      mevents_per_s: outcome.events / seconds / 1e6,
      checksum: outcome.checksum,
      latency_ns: null,
      ...(outcome.lost === undefined ? {} : { lost: outcome.lost }),
    },
  };
}
