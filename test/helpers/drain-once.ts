/** Drains everything in a real session's ring once with one consumer mode, as the prefill pattern does (no waiting). */
import { CONSUMER_MODES } from '../../src/consumer/modes.js';
import { RingReader } from '../../src/lib/ring-reader.js';
import type { ProducerState } from '../../src/lib/addon.js';
import type { Touch } from '../../src/shared/event.js';
import type { Session } from '../../src/shared/session.js';
import type { DrainOutcome, ModeName } from '../../src/shared/types.js';

export function drainOnce(session: Session, mode: ModeName, eventSize: number, before: ProducerState, touch: Touch = 'all', batch = 1): DrainOutcome {
  const ctx = {
    reader: new RingReader(session.ring, { batch }),
    ring: session.ring,
    ringFd: session.object.ringFd,
    eventSize,
    touch,
    startSeq: before.nextSeq,
    idle: () => false,
  };
  CONSUMER_MODES[mode].prepare?.(ctx);
  return CONSUMER_MODES[mode].drain(ctx);
}
