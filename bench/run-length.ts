#!/usr/bin/env node
/**
 * How the copy mode's rate depends on its run length (--batch K: records
 * copied per set()), against libbpf + memcpy, on the real ring: one loaded
 * program, every variant drained once per round, rounds interleaved (the
 * first variant rotates), medians of per-round ratios. Run as root after
 * npm test (which compiles it):
 *   node build/bench/run-length.js [event size, 2048] [rounds, 9] [run lengths, 1,8,16,32,64,128]
 */
import { CopyBuffer, drainCopy, drainCopyRuns, drainViewRuns } from '../src/consumer/drain.js';
import { EventSink } from '../src/consumer/event-sink.js';
import { drainNative, nativeConsumerFor, releaseNativeConsumers } from '../src/consumer/native-consumer.js';
import { recordsThatFit } from '../src/lib/ring-layout.js';
import { RingReader } from '../src/lib/ring-reader.js';
import { buildPacket } from '../src/shared/event.js';
import { Session } from '../src/shared/session.js';
import { median, ratios } from '../src/shared/stats.js';

const size = Number(process.argv[2] ?? 2048);
const rounds = Number(process.argv[3] ?? 9);
const lengths = (process.argv[4] ?? '1,8,16,32,64,128').split(',').map(Number);
const ringSize = 256 * 1024 ** 2;
const events = recordsThatFit(ringSize, size);
const variants = [...lengths.map((k) => `copy/${k}`), 'view/64', 'native-copy', 'native'];
const rates = new Map(variants.map((v) => [v, [] as number[]]));
const stopWhenEmpty = (): boolean => false;

const session = new Session({ eventSize: size, ringSize });
try {
  const packet = buildPacket(0, size);
  for (let round = 0; round <= rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(i + round) % variants.length];
      session.resetState();
      session.produce(packet, events);
      const startSeq = new Array<number>(64).fill(0);
      const [mode, k] = variant.split('/');
      const batch = Number(k);
      let drained: number;
      const start = process.hrtime.bigint();
      if (mode.startsWith('native')) {
        const consumer = nativeConsumerFor(session.ring, session.object.ringFd, size, mode === 'native' ? 'in-place' : 'copy', 'field');
        drained = drainNative(consumer, startSeq, stopWhenEmpty).events;
      } else {
        const reader = new RingReader(session.ring, { batch });
        const sink = new EventSink(startSeq, 'field');
        if (mode === 'view') drainViewRuns(reader, sink, stopWhenEmpty);
        else if (batch === 1) drainCopy(reader, sink, stopWhenEmpty, CopyBuffer.forSample(size));
        else drainCopyRuns(reader, sink, stopWhenEmpty, CopyBuffer.forRun(size, batch));
        drained = sink.events;
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (drained !== events) throw new Error(`${variant}: drained ${drained} of ${events}`);
      // Round 0 warms up (JIT, native consumers' mappings) and is not counted.
      if (round > 0) rates.get(variant)!.push(events / seconds / 1e6);
    }
  }
} finally {
  releaseNativeConsumers();
  session.close();
}
const ratio = (a: string, b: string): number => median(ratios(rates.get(a)!, rates.get(b)!));
process.stdout.write(`${size} B events, ${events} per run, ${rounds} rounds; touch field; medians of per-round ratios\n`);
for (const v of variants)
  process.stdout.write(
    `${v.padEnd(12)} ${median(rates.get(v)!).toFixed(2).padStart(7)} Mevents/s   ÷ native-copy ${ratio(v, 'native-copy').toFixed(3)}   ÷ native ${ratio(v, 'native').toFixed(3)}\n`,
  );
