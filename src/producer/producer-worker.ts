/**
 * A producer worker (a piscina task, one per producer thread). It triggers the
 * BPF program `chunk` events at a time, as producer `id` - with
 * BPF_PROG_TEST_RUN and its id in the packet, or (trigger syscall) by making
 * the trigger syscall in a native loop on its own, registered thread - until
 * its share of -n is made, --duration ends or the run stops.
 * With --rate it paces itself open-loop (pacing.ts).
 *
 * Any failure marks the control block failed before it is rethrown, so the
 * consumer and the other producers stop instead of waiting for events that
 * will never come.
 */
import { ControlBlock } from '../shared/control.js';
import { buildPacket } from '../shared/event.js';
import { addon } from '../lib/addon.js';
import { ProducerTrigger } from '../shared/trigger.js';
import { OpenLoopSchedule } from './pacing.js';
import type { ProducerReport, ProducerTask } from './producer-task.js';

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export default function produce(task: ProducerTask): ProducerReport {
  const control = new ControlBlock(task.control);
  let trigger: ProducerTrigger | undefined;
  try {
    const native = addon();
    if (task.cpu !== undefined) native.setAffinity(task.cpu);
    const packet = buildPacket(task.id, task.eventSize);
    trigger = new ProducerTrigger(
      { trigger: task.trigger ?? 'test-run', progFd: task.progFd, stateFd: task.stateFd, producerThreadsFd: task.producerThreadsFd ?? -1, producerEventsFd: task.producerEventsFd ?? -1 },
      task.id,
      packet,
      control.stopWord(),
    );
    const firstSeq = native.readState(task.stateFd).nextSeq[task.id];
    // A stop ends this thread's test run in progress (EINTR) instead of waiting for a big --chunk.
    control.setProducerThread(task.id, native.threadId());
    control.reportReady();
    const report: ProducerReport = { id: task.id, events: 0, chunks: 0, finishedNs: 0, maxLatenessNs: 0 };
    if (!control.awaitRelease(task.startTimeoutMs)) {
      report.finishedNs = nowNs();
      return report;
    }
    const startNs = Number(control.startNs());
    const deadlineNs = task.durationMs === undefined ? Infinity : startNs + task.durationMs * 1e6;
    const schedule = task.rate === undefined ? undefined : new OpenLoopSchedule(startNs, task.rate, task.chunk, task.producers, task.id);
    let left = task.events ?? Infinity;
    while (left > 0 && !control.stopRequested()) {
      let now = nowNs();
      if (schedule) {
        const intended = schedule.intendedStartNs(report.chunks);
        if (intended >= deadlineNs) break;
        // Bounded wait until the intended start; a stop request ends it at once.
        while (now < intended) {
          if (control.waitForStop((intended - now) / 1e6)) break;
          now = nowNs();
        }
        if (control.stopRequested()) break;
        report.maxLatenessNs = Math.max(report.maxLatenessNs, now - intended);
      }
      if (now >= deadlineNs) break;
      // A chunk cut short by a signal, a stop or the deadline (syscall loops
      // stop at it) counts as what ran; the schedule moves on.
      const events = trigger.run(Math.min(task.chunk, left), firstSeq + report.events, Number.isFinite(deadlineNs) ? deadlineNs : undefined);
      left -= events;
      report.events += events;
      report.chunks++;
    }
    report.finishedNs = nowNs();
    return report;
  } catch (err) {
    control.fail();
    throw err;
  } finally {
    control.setProducerThread(task.id, 0);
    trigger?.close();
    control.producerDone();
  }
}
