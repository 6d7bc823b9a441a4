/**
 * The loaded sessions of a run: one per buffer kind its modes read. A Session
 * has one buffer kind (the program writes to the BPF ring buffer or to the perf
 * buffer), so a run that shows ringbuf and perfbuf side by side loads two, made
 * from the same options otherwise.
 *
 * With the test-run trigger both stay loaded for the whole run: a tc program
 * runs only when a test run asks for it. With the syscall trigger an attached
 * program runs on every syscall of the machine, the other kind's too, so only
 * one is loaded at a time: getting one closes the other first. The runners
 * order their rounds with interleaveGroups() (src/shared/stats.ts), so that
 * happens at most once per round.
 */
import type { BufferKind } from '../lib/addon.js';
import { releaseNativeConsumersOf } from '../consumer/native-consumer.js';
import { perfRingSizeFor, SUBMIT_FLAGS, type PipelineConfig, type RingConfig, type WakeupMode } from '../shared/config.js';
import { Session, type SessionOptions } from '../shared/session.js';
import type { PerfWakeup } from '../lib/addon.js';
import { bufferOf, type ModeName } from '../shared/types.js';

export class BufferSessions {
  private readonly open = new Map<BufferKind, Session>();

  /** optionsFor(buffer): how to load the session of that kind (ringSessionOptions, pipelineSessionOptions). */
  constructor(private readonly optionsFor: (buffer: BufferKind) => SessionOptions) {}

  /** The session for `buffer`, loaded on first use (after closing the other kind's, when only one may be loaded). */
  get(buffer: BufferKind): Session {
    const session = this.open.get(buffer);
    if (session) return session;
    const options = this.optionsFor(buffer);
    if (options.trigger === 'syscall') for (const kind of [...this.open.keys()]) this.closeOne(kind);
    const opened = new Session(options);
    this.open.set(buffer, opened);
    return opened;
  }

  /** The session a mode reads. */
  forMode(mode: ModeName): Session {
    return this.get(bufferOf(mode));
  }

  close(): void {
    for (const kind of [...this.open.keys()]) this.closeOne(kind);
  }

  private closeOne(kind: BufferKind): void {
    const session = this.open.get(kind);
    this.open.delete(kind);
    if (!session) return;
    // The native consumers kept for its ring or perf buffer hold mappings of it.
    releaseNativeConsumersOf(session.perf ?? session.ring);
    session.close();
  }
}

/** The modes of a run grouped by buffer kind (ringbuf first), for interleaveGroups(). */
export function modesByBuffer(modes: readonly ModeName[]): ModeName[][] {
  return [modes.filter((m) => bufferOf(m) === 'ringbuf'), modes.filter((m) => bufferOf(m) === 'perfbuf')];
}

/**
 * A prefill session of `buffer` for this config: the event and ring sizes and,
 * for the perf buffer, each CPU's ring (perfRingSizeFor). Options the config
 * gains for the program (trigger, submit mode, ...) belong here, so every
 * runner passes them on.
 */
export function ringSessionOptions(config: RingConfig, buffer: BufferKind): SessionOptions {
  const base: SessionOptions = { eventSize: config.eventSize, ringSize: config.ringSize, buffer };
  return buffer === 'perfbuf' ? { ...base, perfRingSize: perfRingSizeFor(config) } : base;
}

/**
 * The perf buffer's wake-ups for the pipeline's --wakeup: `adaptive` and
 * `force` wake the consumer on every sample (wakeup_events 1, libbpf's
 * perf_buffer__new() default: perf has no "only if the consumer caught up"),
 * `none` once per ring size of data per CPU (watermark = the ring: perf has no
 * "never"; --read-timeout bounds the consumer's wait, as with
 * BPF_RB_NO_WAKEUP).
 */
export function perfWakeupFor(wakeup: WakeupMode, perfRingSize: number): PerfWakeup {
  return wakeup === 'none' ? { bytes: perfRingSize } : { events: 1 };
}

/** A pipeline session of `buffer`: ringSessionOptions plus the wake-up setting of that buffer kind. */
export function pipelineSessionOptions(config: PipelineConfig, buffer: BufferKind): SessionOptions {
  const options = ringSessionOptions(config, buffer);
  return buffer === 'perfbuf'
    ? { ...options, perfWakeup: perfWakeupFor(config.wakeup, perfRingSizeFor(config)) }
    : { ...options, submitFlags: SUBMIT_FLAGS[config.wakeup] };
}
