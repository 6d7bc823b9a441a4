/**
 * src/lib/capabilities.ts says which capabilities each buffer and trigger
 * needs. Checked here on the real kernel: as root with capabilities dropped
 * (capsh --drop removes them from the bounding set), a session with exactly
 * the named ones (no CAP_SYS_ADMIN) loads, produces and reads an event, and
 * without any one of them it fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { capabilitiesNeeded, missingCapabilities, CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, CAP_SYS_ADMIN } from '../src/lib/capabilities.js';
import type { BufferKind, Trigger } from '../src/lib/addon.js';

const CAPSH = ['/usr/sbin/capsh', '/sbin/capsh', '/usr/bin/capsh'].find((p) => fs.existsSync(p));
const isRoot = process.getuid?.() === 0;
const COMBOS: [BufferKind, Trigger][] = [
  ['ringbuf', 'test-run'],
  ['perfbuf', 'test-run'],
  ['ringbuf', 'syscall'],
  ['perfbuf', 'syscall'],
];
const ALL_RELEVANT = ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'] as const;

test('the table: CAP_BPF always, CAP_NET_ADMIN for the tc program, CAP_PERFMON for tracing hooks and perf events', () => {
  const names = (buffer: BufferKind, trigger: Trigger) => capabilitiesNeeded({ buffer, trigger }).map((n) => n.name);
  assert.deepEqual(names('ringbuf', 'test-run'), ['CAP_BPF', 'CAP_NET_ADMIN']);
  assert.deepEqual(names('perfbuf', 'test-run'), ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON']);
  assert.deepEqual(names('ringbuf', 'syscall'), ['CAP_BPF', 'CAP_PERFMON']);
  assert.deepEqual(names('perfbuf', 'syscall'), ['CAP_BPF', 'CAP_PERFMON']);
  const mask = (...caps: number[]) => caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);
  assert.deepEqual(missingCapabilities({ trigger: 'syscall' }, mask(CAP_BPF)).map((n) => n.name), ['CAP_PERFMON']);
  assert.deepEqual(missingCapabilities({ trigger: 'syscall' }, mask(CAP_BPF, CAP_PERFMON)), []);
  assert.deepEqual(missingCapabilities({ buffer: 'perfbuf' }, mask(CAP_BPF, CAP_NET_ADMIN)).map((n) => n.name), ['CAP_PERFMON']);
  assert.deepEqual(missingCapabilities({ buffer: 'perfbuf', trigger: 'syscall' }, mask(CAP_SYS_ADMIN)), [], 'CAP_SYS_ADMIN covers all');
  assert.match(capabilitiesNeeded({ buffer: 'perfbuf', trigger: 'syscall' })[1].why, /tracing programs.*perf events/);
});

/** Loads a session with these options in a root shell without `drop`, makes one event and reads it back. */
function runWithout(drop: string[], buffer: BufferKind, trigger: Trigger): { ok: boolean; out: string } {
  const build = path.resolve(__dirname, '..', 'src');
  const script = `
    const { Session } = require(${JSON.stringify(path.join(build, 'shared', 'session.js'))});
    const { buildPacket } = require(${JSON.stringify(path.join(build, 'shared', 'event.js'))});
    try {
      const s = new Session({ eventSize: 64, ringSize: 65536, buffer: '${buffer}', trigger: '${trigger}' });
      s.produce(buildPacket(0, 64), 1);
      console.log(s.readState().nextSeq[0] === 1 ? 'ok' : 'no event');
      s.close();
    } catch (e) { console.log(e.code + ': ' + e.message); }`;
  const r = spawnSync(CAPSH!, [`--drop=${['cap_sys_admin', ...drop].join(',')}`, '--', '-c', `'${process.execPath}' -e "$0"`, script], { encoding: 'utf8', timeout: 60_000 });
  const out = (r.stdout + r.stderr).trim();
  return { ok: out === 'ok', out };
}

for (const [buffer, trigger] of COMBOS) {
  test(`${buffer} + ${trigger}: works with exactly the capabilities named, fails without any one of them`, { skip: !isRoot ? 'needs root' : !CAPSH && 'capsh not installed' }, () => {
    const needed = capabilitiesNeeded({ buffer, trigger }).map((n) => n.name);
    const unneeded = ALL_RELEVANT.filter((c) => !needed.includes(c)).map((c) => c.toLowerCase());
    const exact = runWithout(unneeded, buffer, trigger);
    assert.ok(exact.ok, `with ${needed.join(' + ')} only: ${exact.out}`);
    for (const cap of needed) {
      const without = runWithout([cap.toLowerCase()], buffer, trigger);
      assert.ok(!without.ok, `without ${cap} it must fail, but: ${without.out}`);
      assert.match(without.out, /^E(PERM|ACCES):/, `without ${cap}: ${without.out}`);
    }
  });
}

test('the capability numbers are the kernel\'s (include/uapi/linux/capability.h)', () => {
  assert.deepEqual([CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF], [12, 21, 38, 39]);
});
