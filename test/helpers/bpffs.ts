/**
 * A BPF filesystem to pin into. /sys/fs/bpf when it is one (systemd mounts it
 * there at boot); otherwise a private bpffs instance mounted in a temporary
 * directory for this process and unmounted at exit, so tests never change the
 * machine's own mounts. Every bpffs mount is a separate instance, so the
 * fixture process must be given paths under the same directory. A process
 * that dies without running its exit handlers (a crash, SIGKILL from a test
 * timeout) leaves its mount behind: the next process unmounts those.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onBpffs } from '../../src/lib/bpf-map.js';

const SYSTEM_BPFFS = '/sys/fs/bpf';
const PREFIX = 'rbb-bpffs-';

let dir: string | undefined;
let failure: string | undefined;

/** Unmounts private bpffs instances whose process (the pid in the name) is gone. */
function removeOrphanMounts(): void {
  const base = path.join(os.tmpdir(), PREFIX);
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type !== 'bpf' || !mountPoint.startsWith(base)) continue;
    const pid = /^(\d+)-/.exec(mountPoint.slice(base.length))?.[1];
    if (!pid || fs.existsSync(`/proc/${pid}`)) continue;
    if (spawnSync('umount', [mountPoint]).status === 0) fs.rmSync(mountPoint, { recursive: true, force: true });
  }
}

/** The directory to pin under, or undefined (see bpffsSkip) when no bpffs can be had. */
export function bpffsDir(): string | undefined {
  if (dir || failure) return dir;
  if (onBpffs(SYSTEM_BPFFS)) return (dir = SYSTEM_BPFFS);
  removeOrphanMounts();
  const mine = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  const r = spawnSync('mount', ['-t', 'bpf', 'bpf', mine], { encoding: 'utf8' });
  if (r.status !== 0 || !onBpffs(mine)) {
    fs.rmdirSync(mine);
    failure = `${SYSTEM_BPFFS} is not a BPF filesystem and mounting one failed: ${(r.stderr || r.error?.message || '').trim()}`;
    return undefined;
  }
  process.on('exit', () => {
    spawnSync('umount', [mine]); // drops any pin left behind with it
    fs.rmSync(mine, { recursive: true, force: true });
  });
  return (dir = mine);
}

/** node:test `skip` value: false when pinning works, else why not. */
export function bpffsSkip(): string | false {
  return bpffsDir() ? false : `needs a BPF filesystem: ${failure}`;
}

/** A pin path no other process or test uses. */
export function uniquePinPath(tag: string): string {
  const base = bpffsDir();
  if (!base) throw new Error(failure);
  return path.join(base, `rbb_test_${process.pid}_${tag}_${crypto.randomBytes(4).toString('hex')}`);
}
