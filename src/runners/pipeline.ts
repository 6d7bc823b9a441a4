/**
 * The concurrent pipeline (--producers N): a piscina pool of producer threads
 * triggers the BPF program while one consumer worker drains the ring, both
 * released together through the control block (src/shared/control.ts). Every
 * mode runs on the same loaded program and ring, with the same producers and
 * rate; the program's counters are reset between runs, so with -n and no
 * drops every run consumes identical events. Rounds run every mode once,
 * rotating which goes first, --warmup unmeasured rounds before --runs
 * measured ones, as the prefill pattern does; the report gives medians.
 *
 * Nothing waits without a bound: workers get STARTUP_TIMEOUT_MS to report
 * ready; producers end with -n or --duration or when the run is stopped; the
 * consumer's own waits are bounded by --read-timeout, and the main thread
 * gives it CONSUMER_GRACE_MS past the producers before giving up on it. A
 * failing producer or consumer marks the control block failed, which stops
 * everyone, and the run ends with that error.
 *
 * A stop reaches every thread at once (src/shared/control.ts): producers leave
 * their test run, the consumer's epoll_wait returns. The consumer drains what
 * is in the ring for WIND_DOWN_MS, then the run is cut and the rest counted as
 * unread. A stop before the release is not a failure: the mode simply did not
 * run.
 *
 * The perf buffer modes run on a session of their own (BufferSessions, as in
 * the prefill), each round running one buffer kind's modes, then the other's.
 * Their drops are also reported by the kernel as lost samples, checked against
 * the program's drop counters over the session (verifyLost).
 *
 * The producers run the program with the configured trigger: test runs, or
 * the syscall at whose entry the session attached it (LoadedHook says
 * which). An attached syscall hook runs on every syscall of the machine, so
 * the sessions are closed as soon as the last run is done (and only one is
 * loaded at a time: BufferSessions).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { PIPELINE_MODES, type ConsumerReport, type ConsumerTask, type PipelineMode } from '../consumer/consumer-task.js';
import { LATENCY_BATCH } from '../consumer/latency-sink.js';
import { producerShare } from '../producer/pacing.js';
import type { ProducerReport, ProducerTask } from '../producer/producer-task.js';
import { ControlBlock } from '../shared/control.js';
import type { LoadedHook, Session } from '../shared/session.js';
import type { PipelineConfig } from '../shared/config.js';
import { IntervalSampler, type IntervalSample } from '../shared/intervals.js';
import { checksumDisagreement, type PipelineRun } from '../shared/results.js';
import { interleaveGroups } from '../shared/stats.js';
import { NEVER_STOP, WIND_DOWN_MS, type StopSignal } from '../shared/stop.js';
import { Waker } from '../lib/waker.js';
import { bufferOf, type ModeName } from '../shared/types.js';
import { counterDelta, sum, verifyDrain, verifyLost } from '../shared/verify.js';
import { BufferSessions, modesByBuffer, sessionOptionsOf } from './sessions.js';

/** How long workers get to start (thread start, addon load, pinning) and report ready. */
export const STARTUP_TIMEOUT_MS = 15_000;
/** How long past the last producer the consumer may take to finish draining. */
export const CONSUMER_GRACE_MS = 60_000;

export const LATENCY_CLOCK = `consumer clock read once per drained batch (after up to ${LATENCY_BATCH} events, or when the ring runs empty)`;

/** Optional callbacks while the pipeline runs (the text report prints as it goes). */
export interface PipelineObserver {
  /** The session is loaded; nothing has run yet. */
  onStart?(start: LoadedHook): void;
  /** With reportIntervalMs: each interval of a run as it ends. */
  onInterval?(mode: PipelineMode, round: number, warmup: boolean, sample: IntervalSample): void;
}

/**
 * Runs every round (every mode of config.modes, interleaved) through the
 * pipeline, one run after the other, warm-ups included, and calls onRun after
 * each. A stop ends the producers at their next chunk; the consumer still
 * drains what they made, so the partial run is verified like any other, and
 * no further run starts.
 */
export async function runPipeline(
  config: PipelineConfig,
  stop: StopSignal = NEVER_STOP,
  onRun: (run: PipelineRun) => void = () => {},
  observer: PipelineObserver = {},
): Promise<PipelineRun[]> {
  const unsupported = config.modes.find((m) => !(PIPELINE_MODES as readonly ModeName[]).includes(m));
  if (unsupported) throw new Error(`--mode ${unsupported}: the concurrent pipeline runs ${PIPELINE_MODES.join(', ')} only`);
  const sessions = new BufferSessions((buffer) => sessionOptionsOf(config, buffer));
  const rounds = interleaveGroups(modesByBuffer(config.modes), config.warmup + config.runs);
  try {
    // The first run's session is loaded before any thread starts (a limit too
    // low shows as the load's own error); the header names where it runs.
    const first = sessions.forModeUnlessStopped(rounds[0][0], stop);
    if (!first || !sessions.preload(rounds, stop)) {
      sessions.close();
      return [];
    }
    observer.onStart?.(first.loadedHook);
  } catch (err) {
    sessions.close();
    throw err;
  }
  // Per perf session: drops whose lost records the kernel has not written yet (verifyLost).
  const pendingLost = new Map<Session, number>();
  const pool = new Piscina<ProducerTask, ProducerReport>({
    filename: path.join(__dirname, '..', 'producer', 'producer-worker.js'),
    minThreads: config.producers,
    maxThreads: config.producers,
    concurrentTasksPerWorker: 1,
    idleTimeout: Infinity,
  });
  // A producer thread that cannot start (EMFILE, EAGAIN) is an 'error' on the
  // pool, not on any task: without a listener it would crash the process.
  // 'on', not 'once': a second thread failing must not find the pool without a listener.
  const poolFailure = new Promise<never>((_, reject) => pool.on('error', (err: Error) => reject(new Error(`a producer thread failed to start: ${err.message}`))));
  poolFailure.catch(() => {});
  try {
    const runs: PipelineRun[] = [];
    for (const [round, order] of rounds.entries()) {
      for (const mode of order) {
        if (stop.requested()) return runs;
        const onInterval = observer.onInterval && ((sample: IntervalSample) => observer.onInterval!(mode as PipelineMode, round, round < config.warmup, sample));
        // Loading a session (mapping its rings) can take a while: a stop meanwhile starts no run.
        const session = sessions.forModeUnlessStopped(mode, stop);
        if (!session) return runs;
        const run = await runMode(session, pool, poolFailure, config, mode as PipelineMode, stop, pendingLost, onInterval);
        if (!run) return runs; // stopped before it started
        const counted = { round, warmup: round < config.warmup, ...run };
        runs.push(counted);
        onRun(counted);
      }
    }
    // With -n, no drops and no stop, every run consumed identical events.
    if (sameEvents(config, runs, stop)) {
      const disagreement = checksumDisagreement(
        runs.map((r) => r.result.checksum),
        'runs over identical events',
      );
      if (disagreement) runs[runs.length - 1].failures.push(disagreement);
    }
    return runs;
  } finally {
    // A pool whose threads failed to start rejects destroy() with that same
    // error: it must not replace the run's own outcome.
    await pool.destroy().catch(() => {});
    sessions.close();
  }
}

/** Whether every run drained identical events (so their checksums must agree): -n, no drops, no stop. */
function sameEvents(config: Pick<PipelineConfig, 'events'>, runs: readonly PipelineRun[], stop: StopSignal): boolean {
  return config.events !== undefined && !stop.requested() && runs.every((r) => r.result.drops === 0 && r.failures.length === 0);
}

/** One mode's run; undefined if a stop came before the workers were released (nothing ran). */
async function runMode(
  session: Session,
  pool: Piscina<ProducerTask, ProducerReport>,
  poolFailure: Promise<never>,
  config: PipelineConfig,
  mode: PipelineMode,
  stop: StopSignal,
  pendingLost: Map<Session, number>,
  onInterval: ((sample: IntervalSample) => void) | undefined,
): Promise<Omit<PipelineRun, 'round' | 'warmup'> | undefined> {
  // Only while nothing produces: every mode's sequences start at 0.
  session.resetState();
  const before = session.readState();
  const waker = Waker.open();
  const control = ControlBlock.create(waker.fd);
  // A stop ends the producers at once; the consumer drains what they made for
  // WIND_DOWN_MS and counts the rest, so the partial run is verified like any other.
  let cutTimer: NodeJS.Timeout | undefined;
  let stopSeen: () => void = () => {};
  const stopped = new Promise<true>((resolve) => (stopSeen = () => resolve(true)));
  const stopOnInterrupt = stop.onRequest(() => {
    control.requestStop();
    cutTimer = setTimeout(() => control.cut(), WIND_DOWN_MS);
    stopSeen();
  });
  const consumerTask: ConsumerTask = {
    mode,
    ring: session.ring,
    ringFd: session.object.ringFd,
    perf: session.perf ? { rings: session.perfRings, epollFd: session.perf.epollFd, shareId: session.perf.shareId } : undefined,
    stateFd: session.object.stateFd,
    eventSize: config.eventSize,
    batch: config.batch,
    touch: config.touch,
    poll: config.poll,
    readTimeoutMs: config.readTimeoutMs,
    producers: config.producers,
    start: before,
    cpu: config.consumerCpu,
    control: control.buffer,
    stopWakeFd: stop.wakeFd,
    histogram: config.histogram,
    reportProgress: config.reportIntervalMs !== undefined,
    startTimeoutMs: STARTUP_TIMEOUT_MS,
  };
  const consumer = new Worker(path.join(__dirname, '..', 'consumer', 'consumer-worker.js'), { workerData: consumerTask });
  const consumerDone = new Promise<ConsumerReport | null>((resolve, reject) => {
    consumer.once('message', resolve);
    consumer.once('error', (err) => reject(new Error(`consumer (${mode}) failed: ${err.message}`)));
    consumer.once('exit', (code) => reject(new Error(`consumer (${mode}) exited with code ${code} before reporting`)));
  });
  const producerRuns = Array.from({ length: config.producers }, (_, id) =>
    pool.run(producerTask(session, config, control, id)).catch((err: Error) => {
      throw new Error(`producer ${id} failed: ${err.message}`);
    }),
  );
  // Every worker done, or the first failure anywhere (a task, or a pool thread that never started).
  const everything = Promise.race([Promise.all([Promise.all(producerRuns), consumerDone]), poolFailure]);
  // The first failure anywhere stops everyone else.
  everything.catch(() => control.fail());
  let sampler: IntervalSampler | undefined;

  try {
    const ready = await Promise.race([control.waitAllReady(config.producers + 1, STARTUP_TIMEOUT_MS), everything.then(() => true), stopped]);
    if (stop.requested()) {
      // Stopped during set-up: release nobody and measure nothing. The consumer
      // may still be warming up: it is ended rather than waited for; the
      // producers see the stop where they wait for the release.
      control.requestStop();
      await consumer.terminate();
      await Promise.race([Promise.allSettled(producerRuns), poolFailure.catch(() => {})]);
      return undefined;
    }
    if (!ready) {
      control.fail();
      await everything; // rethrows the worker's own error, if one failed
      throw new Error(`only ${control.readyCount} of ${config.producers + 1} workers were ready within ${STARTUP_TIMEOUT_MS} ms`);
    }
    const startNs = process.hrtime.bigint();
    if (config.reportIntervalMs !== undefined)
      sampler = new IntervalSampler({ state: () => session.readState(), consumed: () => control.consumed() }, config.reportIntervalMs, before, Number(startNs), onInterval);
    control.release(startNs);
    sampler?.begin();
    const producers = await Promise.race([Promise.all(producerRuns), poolFailure]);
    const report = await withTimeout(consumerDone, config.readTimeoutMs + CONSUMER_GRACE_MS, () => {
      control.fail();
      return `consumer (${mode}) still draining ${config.readTimeoutMs + CONSUMER_GRACE_MS} ms after the producers finished`;
    });
    if (!report) throw new Error(`consumer (${mode}) reported nothing although the run was released`);
    // Every worker is done: the last interval ends here, so the series adds up to the run's totals.
    const intervals = sampler?.finish();
    return assemble(session, config, mode, Number(startNs), before, producers, report, pendingLost, intervals);
  } catch (err) {
    control.fail();
    await consumer.terminate();
    await Promise.race([Promise.allSettled(producerRuns), poolFailure.catch(() => {})]);
    throw err;
  } finally {
    sampler?.finish();
    stopOnInterrupt();
    clearTimeout(cutTimer);
    // Every worker has returned or been terminated: nobody wakes the waker any more.
    waker.close();
  }
}

function producerTask(session: Session, config: PipelineConfig, control: ControlBlock, id: number): ProducerTask {
  const cpus = config.producerCpus;
  const { trigger, progFd, stateFd, producerThreadsFd, producerEventsFd } = session.triggerFds;
  return {
    id,
    producers: config.producers,
    progFd,
    stateFd,
    trigger,
    producerThreadsFd,
    producerEventsFd,
    eventSize: config.eventSize,
    chunk: config.chunk,
    events: config.events === undefined ? undefined : producerShare(config.events, config.producers, id),
    durationMs: config.durationMs,
    rate: config.rate,
    cpu: cpus && cpus.length ? cpus[id % cpus.length] : undefined,
    control: control.buffer,
    startTimeoutMs: STARTUP_TIMEOUT_MS,
  };
}

function assemble(
  session: Session,
  config: PipelineConfig,
  mode: PipelineMode,
  startNs: number,
  before: ReturnType<Session['readState']>,
  producers: ProducerReport[],
  report: ConsumerReport,
  pendingLost: Map<Session, number>,
  intervals: IntervalSample[] | undefined,
): Omit<PipelineRun, 'round' | 'warmup'> {
  const after = session.readState();
  const delta = counterDelta(before, after);
  const { outcome } = report;
  const failures = verifyDrain(outcome, delta, after, report.unread);
  const pendingBefore = pendingLost.get(session) ?? 0;
  if (outcome.lost !== undefined) {
    const lost = verifyLost(outcome.lost, sum(delta.drops), pendingBefore);
    failures.push(...lost.failures);
    pendingLost.set(session, lost.pending);
  }
  if (report.stoppedEarly) failures.push(`consumer stopped early: ${report.stoppedEarly}`);
  if (report.wrongLength) failures.push(`${report.wrongLength} events had a length other than --event-size ${config.eventSize}`);
  if (outcome.checksum !== report.expectedChecksum)
    failures.push(`checksum ${outcome.checksum} over the bytes read, but ${report.expectedChecksum} expected from the events' producers and sequence numbers`);
  const producedEnd = Math.max(...producers.map((p) => p.finishedNs));
  const producerSeconds = Math.max(0, producedEnd - startNs) / 1e9;
  const seconds = Math.max(0, (report.lastEventNs || producedEnd) - startNs) / 1e9;
  const produced = sum(delta.produced);
  return {
    failures,
    hgrm: report.hgrm,
    result: {
      mode,
      producers: config.producers,
      event_size: config.eventSize,
      touch: config.touch,
      batch: config.batch,
      events: outcome.events,
      drops: sum(delta.drops),
      seconds,
      mevents_per_s: seconds > 0 ? outcome.events / seconds / 1e6 : 0,
      checksum: outcome.checksum,
      latency_ns: report.latency,
      produced,
      discards: sum(delta.discards),
      poll: config.poll,
      wakeup: config.wakeup,
      chunk: config.chunk,
      rate: config.rate ?? null,
      produced_per_s: producerSeconds > 0 ? produced / producerSeconds : 0,
      producer_seconds: producerSeconds,
      max_lateness_ns: Math.max(...producers.map((p) => p.maxLatenessNs)),
      epoll_waits: report.waits,
      epoll_timeouts: report.timeouts,
      latency_clock: LATENCY_CLOCK,
      stall: report.stall ?? null,
      unread: report.unread,
      ...(outcome.lost === undefined ? {} : { lost: outcome.lost, lost_pending_before: pendingBefore }),
      trigger: config.trigger ?? 'test-run',
      hook: session.hook,
      submit: bufferOf(mode) === 'perfbuf' ? 'perf_event_output' : (config.submit ?? 'reserve'),
      ...(intervals ? { intervals } : {}),
    },
  };
}

/** Resolves with `promise`, or rejects with describe()'s message if it takes longer than ms. */
async function withTimeout<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(describe())), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
