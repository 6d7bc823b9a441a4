/**
 * Resources over many sessions in one process (what a sweep or a stress run
 * does): a closed Session's ring mappings go away when their
 * SharedArrayBuffers are collected, so after a garbage collection neither the
 * number of bpf-map mappings in /proc/self/maps nor the RSS grows with the
 * number of sessions. A control run that keeps the sessions alive shows the
 * mapping count does see them (two mappings per ring), so the check can fail.
 *
 * Runs in a child `node --expose-gc` so gc() is the real, full collection.
 * V8 frees collected buffers' backing stores (and so runs the munmap deleter)
 * on its array-buffer sweeper, which can finish a moment after gc() returns:
 * counts are taken with the stress mode's settledRingMappings(), which
 * collects and looks again for up to 2 s before calling a mapping alive.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { missingPrivileges } from '../src/shared/privileges.js';

const skip = missingPrivileges() ?? false;
const DIST = path.resolve(__dirname, '..', 'src');
const SESSIONS = 60;
const RING = 8 * 1024 * 1024;

/** The child: opens, uses and closes SESSIONS sessions; prints mapping counts and RSS as JSON. */
const CHILD = `
const fs = require('fs');
const { Session } = require(${JSON.stringify(path.join(DIST, 'shared', 'session.js'))});
const { RingReader } = require(${JSON.stringify(path.join(DIST, 'lib', 'ring-reader.js'))});
const { buildPacket } = require(${JSON.stringify(path.join(DIST, 'shared', 'event.js'))});
const { settledRingMappings } = require(${JSON.stringify(path.join(DIST, 'runners', 'stress.js'))});
const keep = process.argv[1] === 'keep';
const rss = () => Number(/^VmRSS:\\s+(\\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const kept = [];
function once(i) {
  const s = new Session({ eventSize: 256, ringSize: ${RING} });
  s.produce(buildPacket(0, 256), 1000);
  const r = new RingReader(s.ring);
  while (r.peek() > 0) r.consume();
  s.close();
  if (keep) kept.push(s);
}
(async () => {
  once(0);
  const base = { maps: await settledRingMappings(), rss: rss() };
  for (let i = 1; i <= ${SESSIONS}; i++) { once(i); if (i % 10 === 0) gc(); }
  const end = { maps: await settledRingMappings(), rss: rss() };
  console.log(JSON.stringify({ base, end, kept: kept.length }));
})();
`;

function child(mode: 'release' | 'keep'): { base: { maps: number; rss: number }; end: { maps: number; rss: number } } {
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', CHILD, mode], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test(`${SESSIONS} sessions of ${RING / 2 ** 20} MiB rings in one process: mappings and RSS do not grow`, { skip, timeout: 150_000 }, () => {
  const { base, end } = child('release');
  console.log(`ring mappings ${base.maps} -> ${end.maps}; RSS ${(base.rss / 2 ** 20).toFixed(1)} -> ${(end.rss / 2 ** 20).toFixed(1)} MiB`);
  assert.equal(base.maps, 0, 'the first closed session is unmapped after gc');
  assert.equal(end.maps, 0, 'no ring mapping outlives its session');
  // A leak would keep every ring's pages resident (pre-faulted): SESSIONS x RING = 480 MiB. Allow one ring of noise.
  assert.ok(end.rss - base.rss < RING, `RSS grew by ${((end.rss - base.rss) / 2 ** 20).toFixed(1)} MiB`);
});

test('control: sessions kept alive keep their two mappings each, so the count above would see a leak', { skip, timeout: 150_000 }, () => {
  const { end } = child('keep');
  assert.equal(end.maps, 2 * (SESSIONS + 1));
});
