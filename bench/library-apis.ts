#!/usr/bin/env node
/**
 * What each of the library's reading APIs costs per record, on the same
 * prefilled ring and the same per-record work (read one u64 of the sample
 * and add it up, as the benchmark's view mode does): the RingReader loop the
 * benchmark measures (ring.reader), the Ring's forwarded peek/consume (a
 * closed check per call), onData() and events() in view and copy mode. Modes
 * are interleaved round by round; the mapping is pre-faulted. Compare them as
 * ratios within one run. Run as root after npm test (which compiles it):
 *   node build/bench/library-apis.js [events per round] [rounds]
 */
import { EMPTY, openRing, type Ring, type RingRecord } from '../src/lib/index.js';
import { buildPacket } from '../src/shared/event.js';
import { Session } from '../src/shared/session.js';

const EVENTS = Number(process.argv[2] ?? 400_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const EVENT_SIZE = 128;

type Drain = (ring: Ring, n: number) => Promise<number> | number;

const modes: Record<string, Drain> = {
  'ring.reader peek/consume': (ring) => {
    const reader = ring.reader;
    const words = reader.words;
    let sum = 0;
    for (let length = reader.peek(); length !== EMPTY; length = reader.peek()) {
      sum = (sum + words[(reader.sampleOffset + 8) >> 2]) | 0;
      reader.consume();
    }
    return sum;
  },
  'ring.peek/consume (forwarded)': (ring) => {
    const words = ring.words;
    let sum = 0;
    for (let length = ring.peek(); length !== EMPTY; length = ring.peek()) {
      sum = (sum + words[(ring.sampleOffset + 8) >> 2]) | 0;
      ring.consume();
    }
    return sum;
  },
  'onData view': (ring, n) => viaOnData(ring, n, 'view'),
  'onData copy': (ring, n) => viaOnData(ring, n, 'copy'),
  'events() view': (ring, n) => viaEvents(ring, n, 'view'),
  'events() copy': (ring, n) => viaEvents(ring, n, 'copy'),
};

async function viaOnData(ring: Ring, n: number, mode: 'view' | 'copy'): Promise<number> {
  let sum = 0;
  let seen = 0;
  const stop = new AbortController();
  const handler = (r: RingRecord): void => {
    sum = (sum + r.words[(r.offset + 8) >> 2]) | 0;
    if (++seen === n) stop.abort();
  };
  await ring.onData(handler, { mode, signal: stop.signal, sliceMs: 50 }).catch(() => undefined);
  return sum;
}

async function viaEvents(ring: Ring, n: number, mode: 'view' | 'copy'): Promise<number> {
  let sum = 0;
  let seen = 0;
  for await (const r of ring.events({ mode, sliceMs: 50 })) {
    sum = (sum + r.words[(r.offset + 8) >> 2]) | 0;
    if (++seen === n) break;
  }
  return sum;
}

async function main(): Promise<void> {
  const session = new Session({ eventSize: EVENT_SIZE, ringSize: 1 << 26 });
  const ring = openRing({ fd: session.object.ringFd }, { populate: true });
  const packet = buildPacket(0, EVENT_SIZE);
  const rates: Record<string, number[]> = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
  try {
    for (let round = -1; round < ROUNDS; round++) {
      for (const [name, drain] of Object.entries(modes)) {
        session.produce(packet, EVENTS);
        const start = process.hrtime.bigint();
        await drain(ring, EVENTS);
        const ns = Number(process.hrtime.bigint() - start);
        if (ring.backlog !== 0) throw new Error(`${name}: ${ring.backlog} bytes left unread`);
        if (round >= 0) rates[name].push((EVENTS / ns) * 1e3); // warm-up round -1 not counted
      }
    }
  } finally {
    ring.close();
    session.close();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const base = median(rates['ring.reader peek/consume']);
  console.log(`${EVENTS} events of ${EVENT_SIZE} B per round, ${ROUNDS} rounds, modes interleaved; median Mevents/s (min..max), ratio to ring.reader`);
  for (const [name, r] of Object.entries(rates))
    console.log(`  ${name.padEnd(30)} ${median(r).toFixed(2).padStart(6)} (${Math.min(...r).toFixed(2)}..${Math.max(...r).toFixed(2)})  ${(median(r) / base).toFixed(2)}x`);
}

void main();
