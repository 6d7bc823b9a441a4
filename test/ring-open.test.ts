/**
 * Opening someone else's ring: a separate process (test/fixtures/ring-producer)
 * loads the BPF program and pins its ring, its .bss array map and the program
 * itself. openRing() must open the ring by pinned path, by map id and by fd,
 * take its size from the kernel, and refuse everything else with one line that
 * says what was wrong. A closed ring must refuse every use.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { addon } from '../src/lib/addon.js';
import { openFailure, OpenRingError } from '../src/lib/bpf-map.js';
import { mapInfo, openRing, type MapSource } from '../src/lib/index.js';
import { bpffsSkip, uniquePinPath } from './helpers/bpffs.js';
import { kernelSkip } from './helpers/kernel.js';
import { ProducerProcess } from './helpers/producer-process.js';

const skip = kernelSkip || bpffsSkip();
const RING_SIZE = 1 << 20;
const INDEX = path.resolve(__dirname, '..', 'src', 'lib', 'index.js');
const isRoot = process.getuid?.() === 0;
const CAPSH = ['/usr/sbin/capsh', '/sbin/capsh', '/usr/bin/capsh'].find((p) => fs.existsSync(p));
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));

let fixture: ProducerProcess;
before(async () => {
  if (!skip) fixture = await ProducerProcess.start({ ringSize: RING_SIZE, pinState: true, pinProgram: true });
});
after(async () => {
  await fixture?.stop();
});

/** Runs openRing() on `source` and returns the OpenRingError it must throw. */
function openError(source: MapSource): OpenRingError {
  try {
    openRing(source).close();
  } catch (err) {
    assert.ok(err instanceof OpenRingError, `an OpenRingError, got ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err;
  }
  assert.fail(`openRing(${JSON.stringify(source)}) succeeded`);
}

function fdFlags(fd: number): number {
  return parseInt(/^flags:\s+(\d+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);
}
const O_CLOEXEC = 0o2000000;

test('opens a pinned ring: size from the kernel, the fixture map id, close-on-exec fd, closed by close()', { skip }, () => {
  const ring = openRing({ pinned: fixture.pin });
  const fd = ring.fd;
  assert.equal(ring.size, RING_SIZE);
  assert.equal(ring.info.id, fixture.mapId);
  assert.equal(ring.info.typeName, 'ringbuf');
  assert.equal(ring.info.name, 'events');
  assert.equal(fs.readlinkSync(`/proc/self/fd/${fd}`), 'anon_inode:bpf-map');
  assert.ok(fdFlags(fd) & O_CLOEXEC, 'close-on-exec');
  ring.close();
  assert.throws(() => fs.readlinkSync(`/proc/self/fd/${fd}`), /ENOENT/, 'the owned fd is closed');
});

test('opens a ring by map id; the reader starts at the kernel consumer position', { skip }, async () => {
  await fixture.produce(10);
  const first = openRing({ mapId: fixture.mapId });
  assert.equal(first.info.id, fixture.mapId);
  assert.equal(first.size, RING_SIZE);
  assert.ok(first.peek() > 0);
  first.consume(); // batch 1: published at once
  const consumed = first.position;
  first.close();
  const second = openRing({ mapId: fixture.mapId });
  assert.equal(second.position, consumed, 'a second reader starts where the first stopped');
  while (second.peek() >= 0) second.consume();
  second.close();
});

test('with { fd } the caller keeps the fd: close() leaves it open', { skip }, () => {
  const fd = addon().mapOpenPinned(fixture.pin);
  try {
    const ring = openRing({ fd });
    assert.equal(ring.fd, fd);
    assert.equal(mapInfo(fd).id, fixture.mapId);
    ring.close();
    assert.equal(fs.readlinkSync(`/proc/self/fd/${fd}`), 'anon_inode:bpf-map', 'still open');
  } finally {
    addon().closeFd(fd);
  }
});

test('a map that is not a ring (the program .bss array), by pin and by id: WRONG_MAP_TYPE naming its type', { skip }, () => {
  for (const source of [{ pinned: fixture.statePin! }, { mapId: fixture.stateMapId }]) {
    const err = openError(source);
    assert.equal(err.code, 'WRONG_MAP_TYPE');
    assert.match(err.message, /is a BPF_MAP_TYPE_ARRAY \(map ".*\.bss", id \d+\), not a BPF_MAP_TYPE_RINGBUF$/);
  }
});

test('a pinned program is not a map: NOT_A_MAP', { skip }, () => {
  const err = openError({ pinned: fixture.programPin! });
  assert.equal(err.code, 'NOT_A_MAP');
  assert.equal(err.message, `${fixture.programPin} is a BPF program, not a BPF map`);
});

test('a missing pin, a missing map id, a bad fd: one line each', { skip }, () => {
  const missing = uniquePinPath('missing');
  let err = openError({ pinned: missing });
  assert.equal(err.code, 'ENOENT');
  assert.equal(err.message, `no pinned BPF object at ${missing}`);

  err = openError({ mapId: 4_000_000_000 });
  assert.equal(err.code, 'ENOENT');
  assert.equal(err.message, 'no BPF map with id 4000000000');

  const closedFd = fs.openSync('/dev/null', 'r');
  fs.closeSync(closedFd);
  err = openError({ fd: closedFd });
  assert.equal(err.code, 'EBADF');
  assert.equal(err.message, `fd ${closedFd} is not open`);
});

test('paths that are not pinned BPF objects: a regular file, a directory, a missing path outside bpffs', { skip }, () => {
  const file = path.join(os.tmpdir(), `rbb-not-bpf-${process.pid}`);
  fs.writeFileSync(file, 'not a map');
  try {
    let err = openError({ pinned: file });
    assert.equal(err.code, 'NOT_BPF_OBJECT');
    assert.equal(err.message, `${file} is not a pinned BPF object (it is not on a BPF filesystem)`);

    const dir = path.dirname(fixture.pin);
    err = openError({ pinned: dir });
    assert.equal(err.code, 'NOT_BPF_OBJECT');
    assert.equal(err.message, `${dir} is a directory, not a pinned BPF object`);

    // Outside a bpffs: where pins live, but no advice to mount one over an unrelated folder.
    err = openError({ pinned: path.join(os.tmpdir(), 'no-such-dir', 'ring') });
    assert.equal(err.code, 'ENOENT');
    assert.match(err.message, /; pins live on a BPF filesystem, usually \/sys\/fs\/bpf$/);
    // A folder meant for pins that has no bpffs on it: the mount command for it.
    const unmounted = fs.mkdtempSync(path.join(os.tmpdir(), 'bpf-rbb-unmounted-'));
    try {
      err = openError({ pinned: path.join(unmounted, 'ring') });
      assert.equal(err.code, 'ENOENT');
      assert.match(err.message, new RegExp(`${unmounted} is not on a BPF filesystem \\(mount one: mount -t bpf bpf ${unmounted}\\)$`));
    } finally {
      fs.rmdirSync(unmounted);
    }

    const fd = fs.openSync(file, 'r');
    try {
      err = openError({ fd });
      assert.equal(err.code, 'NOT_BPF_OBJECT');
      assert.equal(err.message, `fd ${fd} is ${file}, not a BPF map`);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.rmSync(file);
  }
});

test('argument checks: a non-integer fd or map id, an unknown source', () => {
  assert.throws(() => openRing({ fd: -1 }), /fd must be a non-negative integer/);
  assert.throws(() => openRing({ mapId: 1.5 }), /map id must be an integer in 1\.\.4294967295/);
  assert.throws(() => openRing({} as MapSource), /must be \{ fd \}, \{ pinned \} or \{ mapId \}/);
});

test('privilege errors name the capability: EPERM on a pin (kernels before 6.5) names CAP_BPF, on a map id CAP_SYS_ADMIN', () => {
  const eperm = Object.assign(new Error('bpf_obj_get(/sys/fs/bpf/x): Operation not permitted (EPERM)'), { code: 'EPERM', errno: 1 });
  const pinned = openFailure({ pinned: '/sys/fs/bpf/x' }, eperm);
  assert.equal(pinned.code, 'EPERM');
  assert.match(pinned.message, /^opening \/sys\/fs\/bpf\/x needs CAP_BPF/);
  const byId = openFailure({ mapId: 7 }, eperm);
  assert.match(byId.message, /^opening map id 7 needs CAP_SYS_ADMIN .*CAP_BPF is not enough/);
  assert.equal(pinned.cause, eperm, 'the kernel error stays reachable as cause');
});

/** Runs a script that opens `source` with the library and prints the result or the error's code and message. */
function openInChild(prefix: string[], source: MapSource): { status: number | null; out: string } {
  const script = `const { openRing } = require(${JSON.stringify(INDEX)});
    try { const r = openRing(${JSON.stringify(source)}); console.log('ok size=' + r.size); r.close(); }
    catch (e) { console.log(e.code + ': ' + e.message); }`;
  const r = spawnSync(prefix[0], [...prefix.slice(1), process.execPath, '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

test('root without CAP_SYS_ADMIN and CAP_BPF: the pin opens (no capability needed), the map id is refused naming CAP_SYS_ADMIN', { skip: skip || (!isRoot ? 'needs root' : !CAPSH && 'capsh not installed') }, () => {
  // capsh -c runs its argument through a shell: hand the command over in env.
  const viaCapsh = [CAPSH!, '--drop=cap_sys_admin,cap_bpf', '--', '-c', 'exec "$@"', 'capsh'];
  const pinned = openInChild(viaCapsh, { pinned: fixture.pin });
  assert.equal(pinned.out, `ok size=${RING_SIZE}`);
  const byId = openInChild(viaCapsh, { mapId: fixture.mapId });
  assert.match(byId.out, new RegExp(`^EPERM: opening map id ${fixture.mapId} needs CAP_SYS_ADMIN`));
});

test('an unprivileged user: EACCES on a root-only pin explains the rw permission; a pin it may read and write opens', { skip: skip || (!isRoot ? 'needs root' : !SETPRIV && 'setpriv not installed') }, () => {
  const asNobody = [SETPRIV!, '--reuid=65534', '--regid=65534', '--clear-groups'];
  // Pins are made in a directory only root can search (0700 is typical for a bpffs mount): use a 0755 one.
  const mode = fs.statSync(path.dirname(fixture.pin)).mode;
  const refused = openInChild(asNobody, { pinned: fixture.pin });
  if (mode & 0o001) {
    assert.match(refused.out, new RegExp(`^EACCES: permission denied opening ${fixture.pin}: reading a ring opens its pin read-write`));
    fs.chmodSync(fixture.pin, 0o666);
    try {
      assert.equal(openInChild(asNobody, { pinned: fixture.pin }).out, `ok size=${RING_SIZE}`);
    } finally {
      fs.chmodSync(fixture.pin, 0o600);
    }
  } else {
    assert.match(refused.out, /^EACCES: /, 'the directory is not searchable');
  }
});

test('a closed ring refuses every use with "ring is closed"; close() is idempotent', { skip }, async () => {
  const ring = openRing({ pinned: fixture.pin });
  ring.close();
  ring.close();
  assert.equal(ring.closed, true);
  const uses: [string, () => unknown][] = [
    ['peek', () => ring.peek()],
    ['consume', () => ring.consume()],
    ['readInto', () => ring.readInto(new Uint8Array(256))],
    ['commit', () => ring.commit()],
    ['wait', () => ring.wait(0)],
    ['reader', () => ring.reader],
    ['memory', () => ring.memory],
    ['fd', () => ring.fd],
    ['bytes', () => ring.bytes],
    ['words', () => ring.words],
    ['sampleOffset', () => ring.sampleOffset],
    ['position', () => ring.position],
    ['producerPosition', () => ring.producerPosition],
    ['consumerPosition', () => ring.consumerPosition],
    ['backlog', () => ring.backlog],
  ];
  for (const [name, use] of uses) assert.throws(use, { message: 'ring is closed' }, name);
  await assert.rejects(ring.waitAsync(), { message: 'ring is closed' });
  await assert.rejects(ring.onData(() => {}), { message: 'ring is closed' });
  await assert.rejects(ring.events().next(), { message: 'ring is closed' });
});
