/**
 * Finding someone else's BPF map: by fd, by bpffs pin (BPF_OBJ_GET) or by map
 * id (BPF_MAP_GET_FD_BY_ID), and what the kernel says it is
 * (bpf_obj_get_info_by_fd). Every failure becomes one line that says what was
 * wrong with the input, because the kernel's errno alone (EACCES for a file
 * outside bpffs, ENOENT for a missing id) does not.
 *
 * Privileges, checked on 6.18 (test/ring-open.test.ts): opening a pin needs
 * only read-write permission on the pin file (BPF_OBJ_GET opens it O_RDWR, and
 * the ring's consumer page is mapped writable), not a capability; before
 * Linux 6.5 moved the unprivileged_bpf_disabled check into map creation and
 * program load, a kernel with kernel.unprivileged_bpf_disabled set refused
 * every bpf() call without CAP_BPF (EPERM). Opening by id needs CAP_SYS_ADMIN
 * on every kernel (kernel/bpf/syscall.c bpf_map_get_fd_by_id).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addon, type NativeMapInfo } from './addon.js';

/** Where a map comes from. With `fd` the caller keeps ownership of the fd. */
export type MapSource = { fd: number } | { pinned: string } | { mapId: number };

/** The kernel's description of a map (struct bpf_map_info). */
export type MapInfo = NativeMapInfo;

/** enum bpf_map_type: the ring buffer BPF programs produce into and this library reads. */
export const BPF_MAP_TYPE_RINGBUF = 27;
/** enum bpf_map_type: the ring user space produces into and BPF programs drain; named in the wrong-type error. */
export const BPF_MAP_TYPE_USER_RINGBUF = 31;

/** statfs() f_type of a BPF filesystem (include/uapi/linux/magic.h BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * Why a map could not be opened or used as a ring, in one line. `code` is the
 * errno name when the kernel refused (ENOENT, EACCES, EPERM, EBADF, ...), or
 * one of NOT_BPF_OBJECT, NOT_A_MAP, WRONG_MAP_TYPE, RING_TOO_LARGE when the
 * object was found but is not usable. A command-line tool can print `message`
 * as it is and exit 2: these are all problems with what the user asked for.
 */
export class OpenRingError extends Error {
  override readonly name = 'OpenRingError';
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An fd for the map, and whether the caller of openMapFd() now owns (must close) it. */
export interface OpenedMap {
  fd: number;
  owned: boolean;
  /** How to name the map in messages: the path, "map id N" or "fd N". */
  label: string;
}

/** Opens the map a source names; checks it is a map (not a program or link). */
export function openMapFd(source: MapSource): OpenedMap {
  const native = addon();
  let opened: OpenedMap;
  if ('fd' in source) {
    if (!Number.isInteger(source.fd) || source.fd < 0) throw new OpenRingError(`fd must be a non-negative integer, not ${source.fd}`, 'EINVAL');
    opened = { fd: source.fd, owned: false, label: `fd ${source.fd}` };
  } else if ('pinned' in source) {
    const pinned = source.pinned;
    try {
      opened = { fd: native.mapOpenPinned(pinned), owned: true, label: pinned };
    } catch (err) {
      throw openFailure(source, err);
    }
  } else if ('mapId' in source) {
    const id = source.mapId;
    if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) throw new OpenRingError(`map id must be an integer in 1..4294967295, not ${id}`, 'EINVAL');
    try {
      opened = { fd: native.mapOpenById(id), owned: true, label: `map id ${id}` };
    } catch (err) {
      throw openFailure(source, err);
    }
  } else {
    throw new OpenRingError('the map source must be { fd }, { pinned } or { mapId }', 'EINVAL');
  }
  try {
    requireMapFd(opened);
  } catch (err) {
    if (opened.owned) native.closeFd(opened.fd);
    throw err;
  }
  return opened;
}

/** The kernel's description of the map behind fd; throws OpenRingError when fd is not a map. */
export function mapInfo(fd: number): MapInfo {
  requireMapFd({ fd, label: `fd ${fd}` });
  return addon().mapInfo(fd);
}

/** Pins the map (or any BPF object) behind fd at a bpffs path, for another process to open. */
export function pinObject(fd: number, pinPath: string): void {
  addon().objectPin(fd, pinPath);
}

/** BPF_MAP_TYPE_<NAME> for a map's type, as the kernel headers spell it. */
export function mapTypeName(info: Pick<MapInfo, 'typeName'>): string {
  return /^\d+$/.test(info.typeName) ? `map type ${info.typeName}` : `BPF_MAP_TYPE_${info.typeName.toUpperCase()}`;
}

/**
 * bpf_obj_get_info_by_fd() answers for programs and links too (with their
 * own structs), so ask the fd's anon inode what it is first: "bpf-map",
 * "bpf-prog", "bpf_link", ... (kernel/bpf/syscall.c anon_inode_getfd names).
 */
function requireMapFd({ fd, label }: { fd: number; label: string }): void {
  let kind: string;
  try {
    kind = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new OpenRingError(`${label} is not open`, 'EBADF', { cause: err });
    return; // no /proc: let bpf_obj_get_info_by_fd have its say
  }
  if (kind === 'anon_inode:bpf-map') return;
  const bpfKinds: Record<string, string> = {
    'anon_inode:bpf-prog': 'a BPF program',
    'anon_inode:bpf_link': 'a BPF link',
    'anon_inode:btf': 'BTF',
  };
  const bpfKind = bpfKinds[kind];
  if (bpfKind) throw new OpenRingError(`${label} is ${bpfKind}, not a BPF map`, 'NOT_A_MAP');
  throw new OpenRingError(`${label} is ${kind}, not a BPF map`, 'NOT_BPF_OBJECT');
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/** The one-line explanation of a failed BPF_OBJ_GET / BPF_MAP_GET_FD_BY_ID (the addon's errno error in `err`). */
export function openFailure(source: { pinned: string } | { mapId: number }, err: unknown): OpenRingError {
  return 'pinned' in source ? pinnedError(source.pinned, err) : idError(source.mapId, err);
}

function pinnedError(pinned: string, err: unknown): OpenRingError {
  const code = errnoCode(err);
  const options = { cause: err };
  switch (code) {
    case 'ENOENT': {
      const dir = nearestExisting(path.dirname(pinned));
      // Suggest a mount only where one belongs (/sys/fs/bpf, or a folder named for it), never over "/".
      const mountHere = dir !== undefined && /(^|\/)bpf[^/]*$/.test(dir);
      const hint =
        dir && !onBpffs(dir)
          ? mountHere
            ? `; ${dir} is not on a BPF filesystem (mount one: mount -t bpf bpf ${dir})`
            : '; pins live on a BPF filesystem, usually /sys/fs/bpf'
          : '';
      return new OpenRingError(`no pinned BPF object at ${pinned}${hint}`, code, options);
    }
    case 'EACCES': {
      // The kernel says EACCES both for "not a BPF object" and for file permissions.
      const stat = statOrUndefined(pinned);
      if (stat?.isDirectory()) return new OpenRingError(`${pinned} is a directory, not a pinned BPF object`, 'NOT_BPF_OBJECT', options);
      if (!onBpffs(pinned)) return new OpenRingError(`${pinned} is not a pinned BPF object (it is not on a BPF filesystem)`, 'NOT_BPF_OBJECT', options);
      return new OpenRingError(
        `permission denied opening ${pinned}: reading a ring opens its pin read-write, so this user needs rw permission on the file (or run as root)`,
        code,
        options,
      );
    }
    case 'EPERM':
      return new OpenRingError(
        `opening ${pinned} needs CAP_BPF: the kernel refused bpf() with EPERM (kernel.unprivileged_bpf_disabled; run as root or grant CAP_BPF)`,
        code,
        options,
      );
    default:
      return new OpenRingError(`cannot open ${pinned}: ${(err as Error).message}`, code ?? 'EIO', options);
  }
}

function idError(id: number, err: unknown): OpenRingError {
  const code = errnoCode(err);
  const options = { cause: err };
  if (code === 'ENOENT') return new OpenRingError(`no BPF map with id ${id}`, code, options);
  if (code === 'EPERM')
    return new OpenRingError(
      `opening map id ${id} needs CAP_SYS_ADMIN (the kernel allows BPF_MAP_GET_FD_BY_ID to CAP_SYS_ADMIN only; CAP_BPF is not enough): run as root, or open the map's pinned path`,
      code,
      options,
    );
  return new OpenRingError(`cannot open map id ${id}: ${(err as Error).message}`, code ?? 'EIO', options);
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/** Whether a path is on a BPF filesystem (bpffs), where BPF objects can be pinned. */
export function onBpffs(p: string): boolean {
  try {
    return fs.statfsSync(p).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

function nearestExisting(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (statOrUndefined(d)) return d;
    if (path.dirname(d) === d) return undefined;
  }
}
