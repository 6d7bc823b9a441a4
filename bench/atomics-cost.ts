#!/usr/bin/env node
/**
 * What one Atomics.store / Atomics.load costs from optimised code on this
 * Node, against a plain typed-array store: on an ordinary SharedArrayBuffer
 * and on the ring's own consumer page (the addon's external buffer). The
 * consumer pays one Atomics.load per record (the header) and one
 * Atomics.store per commit. Run as root after npm test (which compiles it): node build/bench/atomics-cost.js [iterations]
 */
import { Session } from '../src/shared/session.js';

const ns = (start: bigint, n: number): number => Number(process.hrtime.bigint() - start) / n;

/** Three plain loops (no shared closure, so each call site stays monomorphic and inlinable). */
function measure(label: string, words: Int32Array, n: number): void {
  let t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) Atomics.store(words, 0, i | 0);
  const store = ns(t, n);
  let sum = 0;
  t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sum = (sum + Atomics.load(words, 0)) | 0;
  const load = ns(t, n);
  t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) words[0] = i;
  const plain = ns(t, n);
  process.stdout.write(
    `${label}: Atomics.store ${store.toFixed(1)} ns, Atomics.load ${load.toFixed(1)} ns, plain store ${plain.toFixed(1)} ns per call (sum ${sum})\n`,
  );
}

const iterations = Number(process.argv[2] ?? 2e6);
const session = new Session({ eventSize: 128, ringSize: 1 << 20 });
try {
  const own = new Int32Array(new SharedArrayBuffer(4096));
  const ring = new Int32Array(session.ring.consumer, 0, 1);
  for (let round = 0; round < 3; round++) {
    measure('ordinary SharedArrayBuffer', own, iterations);
    measure('ring consumer page        ', ring, iterations);
  }
} finally {
  session.close();
}
