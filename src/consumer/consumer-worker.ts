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
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ControlBlock } from '../shared/control.js';
import { addon, type ProducerState } from '../lib/addon.js';
import { sum } from '../shared/verify.js';
import type { ConsumerReport, ConsumerTask } from './consumer-task.js';
import { ExpectedChecksum } from './expected-checksum.js';
import { LatencySink } from './latency-sink.js';
import { CONSUMER_MODES } from './modes.js';
import { releaseNativeConsumers } from './native-consumer.js';
import { BUSY, RingReader } from '../lib/ring-reader.js';
import { StallWatchdog } from './watchdog.js';
import { warmUp } from './warm-up.js';

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

function consume(task: ConsumerTask): ConsumerReport {
  const native = addon();
  const control = new ControlBlock(task.control);
  if (task.cpu !== undefined) native.setAffinity(task.cpu);
  warmUp(task.mode, task.eventSize, task.batch, task.touch);
  const reader = new RingReader(task.ring, { batch: task.batch });
  const sink = new LatencySink(task.start.nextSeq, task.eventSize, task.touch);
  const epfd = task.poll === 'epoll' ? native.epollOpen(task.ringFd) : -1;
  let waits = 0;
  let timeouts = 0;
  const watchdog = new StallWatchdog(task.readTimeoutMs);
  let stoppedEarly: string | undefined;
  let emptySinceMs: number | undefined;
  try {
    // Set-up that must not run on the clock (the native consumer maps the whole ring), before reporting ready.
    CONSUMER_MODES[task.mode].prepare?.({ reader, ring: task.ring, ringFd: task.ringFd, eventSize: task.eventSize, touch: task.touch, startSeq: task.start.nextSeq, idle: () => false, sink });
    control.reportReady();
    // Released but already asked to stop (a Ctrl-C right at the start) is still a
    // start: the consumer must drain whatever the producers made before they stopped.
    if (!control.awaitRelease(task.startTimeoutMs) && !control.released()) throw new Error('consumer: the run was stopped or never released');
    const idle = (status: number): boolean => {
      sink.flush();
      if (status === BUSY) return true;
      if (control.failed()) {
        stoppedEarly = 'the run failed';
        return false;
      }
      if (control.producersDone() >= task.producers) {
        const { produced, lost } = accounting(native.readState(task.stateFd), task.start);
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
      if (epfd >= 0) {
        waits++;
        watchdog.beforeWait();
        if (native.epollWait(epfd, task.readTimeoutMs) === 0) timeouts++;
        // The native consumer (libbpf) moves the published position itself: look from there.
        watchdog.afterWait(oldestUnreadNs(task.mode === 'native' ? new RingReader(task.ring) : reader), Number(process.hrtime.bigint()));
      }
      return true;
    };
    const outcome = CONSUMER_MODES[task.mode].drain({
      reader,
      ring: task.ring,
      ringFd: task.ringFd,
      eventSize: task.eventSize,
      touch: task.touch,
      startSeq: task.start.nextSeq,
      idle,
      sink,
    });
    sink.flush();
    const h = sink.latencies.toHistogram();
    return {
      outcome,
      expectedChecksum: new ExpectedChecksum(task.eventSize, task.touch).hex(sink.perProducer, sink.seqLowSum, sink.seqHighSum),
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
      hgrm: h.totalCount === 0 ? '' : h.outputPercentileDistribution(5, 1),
      lastEventNs: sink.lastEventNs,
      waits,
      timeouts,
      stoppedEarly,
      stall: watchdog.failure(),
    };
  } catch (err) {
    // Stop the producers too: nobody is draining the ring any more.
    control.fail();
    throw err;
  } finally {
    releaseNativeConsumers();
    if (epfd >= 0) native.closeFd(epfd);
  }
}

parentPort?.postMessage(consume(workerData as ConsumerTask));
