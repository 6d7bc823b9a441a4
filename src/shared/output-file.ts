/**
 * The files the tools write (--histogram's .hgrm files, sweep.json and
 * sweep.csv, the plot's report): checked before anything runs, written so
 * that a failure names the file and never leaves half a file behind.
 *
 * The check (outputProblem) is the one users need before a long run: the
 * exact paths that will be written, each a regular file or absent, in an
 * existing directory on a real filesystem, with a name the filesystem takes.
 * It tries what it can: an existing file is opened for writing (without
 * truncating it), a new one is created and removed again, so permissions,
 * read-only mounts and over-long names are found now and not after the run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Longest file name (NAME_MAX) and path (PATH_MAX - 1) Linux takes. */
const NAME_MAX = 255;
const PATH_MAX = 4095;

/**
 * Kernel pseudo-filesystems (statfs f_type, include/uapi/linux/magic.h): their
 * "regular" files (/proc/version) open for writing and then refuse the data.
 */
const PSEUDO_FILESYSTEMS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0xcafe4a11: 'bpf',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x73636673: 'securityfs',
  0x1cd1: 'devpts',
  0x62656570: 'configfs',
  0x6165676c: 'pstore',
  0xde5e81e4: 'efivarfs',
  0xf97cff8c: 'selinuxfs',
};

function pseudoFilesystem(existing: string): string | undefined {
  try {
    return PSEUDO_FILESYSTEMS[Number(fs.statfsSync(existing).type)];
  } catch {
    return undefined;
  }
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** Why `file` cannot be written, or undefined when it can (as far as can be told without writing it). */
export function outputProblem(file: string): string | undefined {
  if (file.trim() === '') return 'is empty';
  const target = path.resolve(file);
  if (Buffer.byteLength(path.basename(target)) > NAME_MAX) return `has a file name longer than ${NAME_MAX} bytes`;
  if (Buffer.byteLength(target) > PATH_MAX) return `is longer than ${PATH_MAX} bytes`;
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(target);
  } catch (err) {
    if (code(err) === 'ENOTDIR') return 'is in a path whose parent is not a directory';
    if (code(err) !== 'ENOENT') return `cannot be looked at (${code(err)})`;
  }
  if (stat) {
    if (stat.isDirectory()) return 'is a directory';
    if (!stat.isFile()) return 'is not a regular file (a device, FIFO or socket)';
    const fsName = pseudoFilesystem(target);
    if (fsName) return `is on the kernel's ${fsName} filesystem, which takes no output files`;
    try {
      fs.closeSync(fs.openSync(target, fs.constants.O_WRONLY));
    } catch (err) {
      return `is not writable (${code(err)})`;
    }
    return undefined;
  }
  const dir = path.dirname(target);
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch (err) {
    return code(err) === 'ENOENT' ? 'is in a directory that does not exist' : `is in a directory that cannot be looked at (${code(err)})`;
  }
  if (!dirStat.isDirectory()) return 'is in a path whose parent is not a directory';
  const fsName = pseudoFilesystem(dir);
  if (fsName) return `is on the kernel's ${fsName} filesystem, which takes no output files`;
  try {
    fs.closeSync(fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644));
    fs.unlinkSync(target);
  } catch (err) {
    return code(err) === 'EEXIST' ? 'is a dangling symbolic link or appeared meanwhile' : `cannot be created (${code(err)})`;
  }
  return undefined;
}

/**
 * Creates `dir` and its missing parents, one mkdir() at a time. (Node's
 * recursive mkdirSync loops forever where mkdir() answers ENOENT for a parent
 * that exists, as on /proc.) Returns why it could not, or undefined.
 */
export function makeDirectory(dir: string): string | undefined {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      if (!fs.statSync(d).isDirectory()) return `'${d}' is not a directory`;
      break;
    } catch (err) {
      if (code(err) === 'ENOTDIR') return `'${d}' is under a file, not a directory`;
      if (code(err) !== 'ENOENT') return `'${d}' cannot be looked at (${code(err)})`;
      missing.push(d);
      if (path.dirname(d) === d) break;
    }
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if (code(err) !== 'EEXIST') return `'${d}' cannot be created (${code(err)})`;
    }
  }
  const fsName = pseudoFilesystem(path.resolve(dir));
  if (fsName) return `'${dir}' is on the kernel's ${fsName} filesystem, which takes no output files`;
  return undefined;
}

let tempCounter = 0;

/**
 * Writes `data` to `file` whole or not at all: into a new file next to it,
 * then renamed over it (rename(2) is atomic), so an interruption or a full
 * disk never leaves a truncated file where a good one was. A symbolic link
 * is followed, not replaced. Throws an Error naming the file.
 */
export function writeOutputFile(file: string, data: string): void {
  let target = path.resolve(file);
  try {
    target = fs.realpathSync(target);
  } catch {
    // does not exist yet: write it where asked
  }
  const temp = path.join(path.dirname(target), `.rbb-${process.pid}-${tempCounter++}.tmp`);
  try {
    fs.writeFileSync(temp, data, { mode: 0o644 });
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new Error(`cannot write ${file}: ${code(err)} (${(err as Error).message.replace(/^\w+: /, '')})`);
  }
}
