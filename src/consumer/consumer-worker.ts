/**
 * The pipeline's consumer: one worker thread that drains the shared ring with
 * the copy or view reader (CONSUMER_MODES, the same loops the prefill pattern
 * times) while the producers run, and posts a ConsumerReport back.
 *
 * Waiting (--poll): `spin` re-reads the producer position at once; `epoll`
 * blocks in epoll_wait for at most --read-timeout ms, so even with
 * BPF_RB_NO_WAKEUP (no wake-ups ever) it only waits that long before looking
 * again. A BUSY record (reserved, not yet submitted) is always spun on: its
 * submit is a few instructions away in the kernel.
 *
 * Stopping: once every producer's last test run has returned, each of their
 * events is in the ring or counted as dropped/discarded by the program, so the
 * consumer stops as soon as consumed + dropped + discarded == produced (the
 * program's counters, read through the state map). If the ring stays empty
 * short of that for --read-timeout, or the run failed, it stops anyway and the
 * verification reports the difference.
 *
 * Waking: the epoll set holds, besides the ring, the run's waker (the control
 * block writes it on a stop, a failure, a cut and each finished producer) and
 * the stop signal's waker if it has one (the CLI's is written by the signal
 * handler itself), so no wait outlasts the event that ends it.
 *
 * A stop that leaves a backlog: the consumer keeps draining until the control
 * block's CUT (WIND_DOWN_MS after the stop), then ends at its next batch and
 * counts what it leaves unread from the ring positions, so the partial run is
 * still accounted for exactly: consumed + unread + dropped == produced.
 *
 * The perf buffer modes read every CPU's ring (PerfBufferReader, or libbpf's
 * perf_buffer__consume through the PerfBuffer's shareId) and wait on libbpf's
 * epoll fd over the rings, which is itself pollable: it sits in the run's
 * epoll set in the ring's place, readable when any ring was woken. What a cut
 * leaves unread is counted by walking each ring from data_tail to data_head.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ControlBlock } from '../shared/control.js';
import { addon, type ProducerState } from '../lib/addon.js';
import { recordSize, type RingMemory } from '../lib/ring-layout.js';
import {
  DATA_HEAD_OFFSET,
  DATA_TAIL_OFFSET,
  PERF_HEADER_SIZE,
  PERF_RECORD_SAMPLE,
  RECORD_SIZE_SHIFT,
  SAMPLE_DATA_OFFSET,
  perfRingGeometry,
  type PerfRingMemory,
} from '../lib/perf-layout.js';
import { PerfBufferReader } from '../lib/perf-reader.js';
import { WaitSet } from '../lib/waker.js';
import type { DrainOutcome } from '../shared/types.js';
import { sum } from '../shared/verify.js';
import type { ConsumerReport, ConsumerTask } from './consumer-task.js';
import { ExpectedChecksum } from './expected-checksum.js';
import { DRAIN_CUT, LatencySink } from './latency-sink.js';
import { CONSUMER_MODES, outcome as sinkOutcome } from './modes.js';
import { CUT, releaseNativeConsumers } from './native-consumer.js';
import { BUSY, RingReader } from '../lib/ring-reader.js';
import { StallWatchdog } from './watchdog.js';
import { warmUp } from './warm-up.js';

/** Tags of the epoll set: the ring is 1 (RING_TAG). */
const WAKER_TAG = 2;
const STOP_TAG = 4;
/** After a cut, how long the producers (already stopped) get to return from their last test run. */
const CUT_PRODUCERS_WAIT_MS = 1000;

/** Records between the reader's position and the producer's (all are `eventSize` samples): what a cut left unread. */
function unreadRecords(ring: RingMemory, reader: RingReader, eventSize: number): number {
  const producer = Number(Atomics.load(new BigUint64Array(ring.producer, 0, 1), 0));
  return (producer - reader.position) / recordSize(eventSize);
}

/** Events the program has accounted for since `start`: produced, and dropped + discarded. */
function accounting(now: ProducerState, start: ProducerState): { produced: number; lost: number } {
  return {
    produced: sum(now.nextSeq) - sum(start.nextSeq),
    lost: sum(now.drops) - sum(start.drops) + sum(now.discards) - sum(start.discards),
  };
}

/** The bpf_ktime_get_ns() stamp (sample bytes 0..7) of the first unread event, or undefined if there is none yet. */
function oldestUnreadNs(reader: RingReader): number | undefined {
  if (reader.peek() < 0) return undefined;
  const w = reader.sampleOffset >>> 2;
  return (reader.words[w + 1] >>> 0) * 2 ** 32 + (reader.words[w] >>> 0);
}

/**
 * The perf rings' backlog as published (data_tail to data_head, both loaded
 * with Atomics.load; their low halves suffice, head - tail <= data size), for
 * the watchdog and the cut: samples waiting, and the oldest first-unread
 * event's stamp over the rings (`firstOnly`: stop at each ring's first sample).
 * Reads only; a record whose size is not a record's ends that ring's walk.
 */
class PerfBacklog {
  private readonly rings: { words: Int32Array; dataOffset: number; mask: number }[];

  constructor(rings: PerfRingMemory[]) {
    this.rings = rings.map((r) => {
      const { dataOffset, dataSize } = perfRingGeometry(r);
      return { words: new Int32Array(r.buffer), dataOffset, mask: dataSize - 1 };
    });
  }

  scan(firstOnly: boolean): { samples: number; oldestNs: number | undefined } {
    let samples = 0;
    let oldestNs: number | undefined;
    for (const { words, dataOffset, mask } of this.rings) {
      const head = Atomics.load(words, DATA_HEAD_OFFSET >>> 2) >>> 0;
      for (let pos = Atomics.load(words, DATA_TAIL_OFFSET >>> 2) >>> 0; pos !== head; ) {
        const at = (dataOffset + (pos & mask)) >>> 2;
        const size = words[at + 1] >>> RECORD_SIZE_SHIFT;
        if (size < PERF_HEADER_SIZE || size & 7) break;
        if (words[at] === PERF_RECORD_SAMPLE) {
          if (samples++ === 0 || firstOnly) {
            // The stamp's two words may sit on either side of the data area's end.
            const low = words[(dataOffset + ((pos + SAMPLE_DATA_OFFSET) & mask)) >>> 2] >>> 0;
            const high = words[(dataOffset + ((pos + SAMPLE_DATA_OFFSET + 4) & mask)) >>> 2] >>> 0;
            const stamp = high * 2 ** 32 + low;
            if (oldestNs === undefined || stamp < oldestNs) oldestNs = stamp;
          }
          if (firstOnly) break;
        }
        pos = (pos + size) >>> 0;
      }
    }
    return { samples, oldestNs };
  }
}

/** The run's report, or null when it was stopped before the release (nothing was measured). */
function consume(task: ConsumerTask): ConsumerReport | null {
  const bindings = addon();
  const control = new ControlBlock(task.control);
  if (task.cpu !== undefined) bindings.setAffinity(task.cpu);
  warmUp(task.mode, task.eventSize, task.batch, task.touch);
  const reader = new RingReader(task.ring, { batch: task.batch });
  const { perf } = task;
  const perfReader = perf ? new PerfBufferReader(perf.rings, { batch: task.batch, sampleLength: task.eventSize }) : undefined;
  const perfBacklog = perf ? new PerfBacklog(perf.rings) : undefined;
  const native = task.mode === 'native' || task.mode === 'perf-native';
  // Where the consumer is: the JavaScript modes keep their own position; the
  // native one (libbpf) publishes its position itself, so look from there.
  const positionReader = (): RingReader => (task.mode === 'native' ? new RingReader(task.ring) : reader);
  const oldestUnread = (): number | undefined => (perfBacklog ? perfBacklog.scan(true).oldestNs : oldestUnreadNs(positionReader()));
  const sink = new LatencySink(task.start.nextSeq, task.eventSize, task.touch);
  // --report-interval's consumed/s: the count at each latency batch, for the main thread to sample.
  if (task.reportProgress) sink.progress = control.consumedWord();
  let waitSet: WaitSet | undefined;
  let waits = 0;
  let timeouts = 0;
  const watchdog = new StallWatchdog(task.readTimeoutMs);
  let stoppedEarly: string | undefined;
  let emptySinceMs: number | undefined;
  let cut = false;
  try {
    if (task.poll === 'epoll') {
      // The perf buffer: libbpf's epoll fd (owned by the PerfBuffer) stands in for the ring's fd.
      waitSet = new WaitSet(perf ? perf.epollFd : task.ringFd);
      if (control.wakerFd >= 0) waitSet.add(control.wakerFd, WAKER_TAG);
      if (task.stopWakeFd !== undefined) waitSet.add(task.stopWakeFd, STOP_TAG);
    }
    // Set-up that must not run on the clock (the native consumer maps the whole ring), before reporting ready.
    const context = { reader, ring: task.ring, ringFd: task.ringFd, eventSize: task.eventSize, touch: task.touch, startSeq: task.start.nextSeq, sink, perfReader, perf: perf?.shareId };
    CONSUMER_MODES[task.mode].prepare?.({ ...context, idle: () => false });
    control.reportReady();
    if (!control.awaitRelease(task.startTimeoutMs) && !control.released()) {
      // Stopped before the start (a Ctrl-C during set-up): nothing to measure, not a failure.
      if (control.stopRequested() && !control.failed()) return null;
      throw new Error('consumer: the run was never released');
    }
    // Released but already asked to stop (a Ctrl-C right at the start) is still a
    // start: the consumer must drain whatever the producers made before they stopped.
    sink.cutCheck = () => control.cutRequested();
    const idle = (status: number): boolean => {
      sink.flush();
      // The native consumer stops itself at its next record once the wind-down runs out (CUT).
      if (status === CUT || control.cutRequested()) {
        cut = true;
        return false;
      }
      if (status === BUSY) return true;
      if (control.failed()) {
        stoppedEarly = 'the run failed';
        return false;
      }
      if (control.producersDone() >= task.producers) {
        const { produced, lost } = accounting(bindings.readState(task.stateFd), task.start);
        if (sink.events + lost >= produced) return false;
        // Every producer is done, yet events are missing and the ring is empty:
        // look again for at most --read-timeout, then let verification report it.
        const now = performance.now();
        emptySinceMs ??= now;
        if (now - emptySinceMs > task.readTimeoutMs) {
          stoppedEarly = `ring empty for ${task.readTimeoutMs} ms after the producers finished, ${produced - lost - sink.events} events short`;
          return false;
        }
        return true;
      }
      if (waitSet) {
        waits++;
        watchdog.beforeWait();
        const tags = waitSet.wait(task.readTimeoutMs);
        if (tags === 0) timeouts++;
        // The signal handler woke us before the main thread could pass the stop on: pass it on now.
        if (tags & STOP_TAG) control.requestStop();
        watchdog.afterWait(oldestUnread(), Number(process.hrtime.bigint()));
      }
      return true;
    };
    let outcome: DrainOutcome;
    try {
      outcome = CONSUMER_MODES[task.mode].drain({ ...context, idle });
    } catch (err) {
      if (err !== DRAIN_CUT) throw err;
      // The view loops hand a record (or a run) to the sink before consuming
      // it: the cut came inside accept(), so what it counted is consumed here.
      const inHand = task.mode === 'view' ? reader : task.mode === 'perf-view' ? perfReader : undefined;
      if (inHand) {
        if (task.batch > 1) inHand.consumeRun();
        else inHand.consume();
      }
      cut = true;
      outcome = perfReader ? { ...sinkOutcome(sink), lost: perfReader.lost } : sinkOutcome(sink);
    }
    sink.flush();
    // Publish what the JavaScript reader consumed (a cut may leave it uncommitted). Never in native
    // mode: libbpf published its own position, and this reader's, still at the start, would undo it.
    if (!native) (perfReader ?? reader).commit();
    let unread = 0;
    if (cut) {
      // The producers were stopped before the cut; once their last test runs
      // have returned, everything they made is in the ring or counted.
      if (!control.waitProducersDone(task.producers, CUT_PRODUCERS_WAIT_MS))
        stoppedEarly = `the producers did not finish within ${CUT_PRODUCERS_WAIT_MS} ms of the cut`;
      unread = perfBacklog ? perfBacklog.scan(false).samples : unreadRecords(task.ring, positionReader(), task.eventSize);
    }
    const h = sink.latencies.toHistogram();
    return {
      outcome,
      expectedChecksum: new ExpectedChecksum(task.eventSize, task.touch).hex(sink.totals().perProducer, sink.seqLowSum, sink.seqHighSum),
      wrongLength: sink.wrongLength,
      latency:
        h.totalCount === 0
          ? null
          : {
              // HdrHistogram answers a percentile with the highest value equivalent
              // to its bucket (within 0.1%), which can pass the exact max: clamp.
              p50: Math.min(h.getValueAtPercentile(50), h.maxValue),
              p90: Math.min(h.getValueAtPercentile(90), h.maxValue),
              p99: Math.min(h.getValueAtPercentile(99), h.maxValue),
              p999: Math.min(h.getValueAtPercentile(99.9), h.maxValue),
              max: h.maxValue,
            },
      // Rendering the text takes a good part of a second after a long run: only when it will be written.
      hgrm: h.totalCount === 0 || !task.histogram ? '' : h.outputPercentileDistribution(5, 1),
      lastEventNs: sink.lastEventNs,
      waits,
      timeouts,
      stoppedEarly,
      stall: watchdog.failure(),
      unread,
    };
  } catch (err) {
    // Stop the producers too: nobody is draining the ring any more.
    control.fail();
    throw err;
  } finally {
    waitSet?.close();
    releaseNativeConsumers();
  }
}

parentPort?.postMessage(consume(workerData as ConsumerTask));
