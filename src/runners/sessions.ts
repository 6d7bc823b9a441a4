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
import { perfRingSizeFor, type RingConfig, type WakeupMode } from '../shared/config.js';
import { Session, sessionOptionsFor, type SessionOptions } from '../shared/session.js';
import type { StopSignal } from '../shared/stop.js';
import { bufferOf, type ModeName } from '../shared/types.js';

export class BufferSessions {
  private readonly open = new Map<BufferKind, Session>();

  /** optionsFor(buffer): how to load the session of that kind (sessionOptionsOf). */
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

  /**
   * Loads, before anything is measured, every session `rounds` will need
   * when they can all stay loaded (the test-run trigger): loading a perf
   * session takes a second or more with large rings (the kernel allocates each
   * ring inside an mmap() no signal interrupts), and a stop then must not cost
   * the runs already measured. Returns false if a stop came meanwhile.
   */
  preload(rounds: readonly ModeName[][], stop: StopSignal): boolean {
    const modes = rounds.flat();
    if (modes.some((m) => this.optionsFor(bufferOf(m)).trigger === 'syscall')) return !stop.requested();
    for (const buffer of new Set(modes.map(bufferOf))) {
      const mode = modes.find((m) => bufferOf(m) === buffer)!;
      if (!this.forModeUnlessStopped(mode, stop)) return false;
    }
    return true;
  }

  /**
   * The session a mode reads, or undefined when a stop came while it was
   * loading: loading can take a second or more (the kernel allocating large
   * perf rings), and a load a stop cut short is not a failure.
   */
  forModeUnlessStopped(mode: ModeName, stop: StopSignal): Session | undefined {
    try {
      const session = this.forMode(mode);
      return stop.requested() ? undefined : session;
    } catch (err) {
      if (stop.requested()) return undefined;
      throw err;
    }
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
 * The session of `buffer` for a runner's config: sessionOptionsFor() (trigger,
 * submit mode, wake-ups) with, for the perf buffer, each CPU's ring
 * (perfRingSizeFor). A config without `wakeup` is a prefill's, where nothing
 * waits: the ring buffer keeps the program's default flag (adaptive, as the
 * seed filled it: it wakes nobody, since nobody waits), and the perf buffer
 * gets no wake-up before a whole ring is written. Its default, a wake-up per
 * sample, costs an irq_work of 8-10 µs each here: 20 s of fill for 2 million
 * events, nine tenths of a `--mode all -n 2000000` run.
 */
export function sessionOptionsOf(config: RingConfig & { wakeup?: WakeupMode }, buffer: BufferKind): SessionOptions {
  const wakeup = config.wakeup ?? (buffer === 'perfbuf' ? 'none' : undefined);
  return sessionOptionsFor({ ...config, wakeup, buffer, perfRingSize: perfRingSizeFor(config) });
}
