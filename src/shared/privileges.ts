/**
 * Privilege and kernel checks, so a run that cannot work fails with advice
 * rather than with an EPERM from deep inside libbpf.
 *
 * What this program needs depends on what the run loads
 * (src/lib/capabilities.ts, checked on 6.18: test/privileges.test.ts):
 *  - CAP_BPF: map creation and program load (with kernel.unprivileged_bpf_disabled
 *    set, as distributions do, nothing BPF works without it);
 *  - CAP_NET_ADMIN, for the test-run trigger: a tc (SCHED_CLS) program is a
 *    "net admin" program type (kernel/bpf/syscall.c, bpf_prog_load:
 *    is_net_admin_prog_type() && !bpf_token_capable(token, CAP_NET_ADMIN) -> -EPERM);
 *  - CAP_PERFMON, for the syscall trigger (tracing programs) and the perf
 *    buffer modes (perf_event_open() of a per-CPU event: EACCES without it,
 *    unless kernel.perf_event_paranoid <= 0); the test-run trigger with the
 *    ring buffer does not need it: CAP_BPF + CAP_NET_ADMIN alone load and run it;
 *  - or CAP_SYS_ADMIN, which implies all of the above.
 * Which a run needs, by buffer and trigger: src/lib/capabilities.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { BufferKind, Trigger } from '../lib/addon.js';
import { missingCapabilities, type CapabilityNeed } from '../lib/capabilities.js';

/** What a run loads, as far as privileges go: each BPF object it will open (a buffer kind with a trigger; stress and sweep may open several). */
export type PrivilegeNeeds = { buffer?: BufferKind; trigger?: Trigger };

export function effectiveCapabilities(): bigint {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt('0x' + m[1]) : 0n;
}

/** Every capability any of `needs` asks for and `caps` lacks, once each, in a fixed order. */
function lacking(needs: readonly PrivilegeNeeds[], caps: bigint): CapabilityNeed[] {
  const all = needs.length ? needs : [{}];
  const byName = new Map<string, CapabilityNeed>();
  for (const n of all)
    for (const need of missingCapabilities(n, caps)) {
      const seen = byName.get(need.name);
      byName.set(need.name, seen && !seen.why.includes(need.why) ? { ...seen, why: `${seen.why}; ${need.why}` } : (seen ?? need));
    }
  return [...byName.values()].sort((a, b) => a.number - b.number);
}

/** Every capability `needs` asks for (CAP_BPF first), for the advice. */
function wanted(needs: readonly PrivilegeNeeds[]): CapabilityNeed[] {
  return lacking(needs, 0n).sort((a, b) => (a.name === 'CAP_BPF' ? -1 : b.name === 'CAP_BPF' ? 1 : a.number - b.number));
}

/**
 * Why this process cannot load what a run with these needs loads (default:
 * the test-run trigger and the ring buffer), or undefined if it can. Names
 * exactly the capabilities missing and what each is for.
 */
export function missingPrivileges(...needs: PrivilegeNeeds[]): string | undefined {
  const missing = lacking(needs, effectiveCapabilities());
  if (!missing.length) return undefined;
  return `loading the BPF program needs privileges this process lacks (${missing.map((m) => `${m.name}, for ${m.why}`).join('; ')}): ${privilegeAdvice(...needs)}`;
}

/** What to do about missing privileges, naming the capabilities these needs take. */
export function privilegeAdvice(...needs: PrivilegeNeeds[]): string {
  const caps = wanted(needs);
  const names = caps.map((c) => c.name);
  const notNeeded = ['CAP_NET_ADMIN', 'CAP_PERFMON'].filter((c) => !names.includes(c as CapabilityNeed['name']));
  return (
    `run as root (sudo), or grant ${names.join(' + ')}${notNeeded.length ? ` (${notNeeded.join(' and ')} ${notNeeded.length > 1 ? 'are' : 'is'} not needed for this run)` : ''}, ` +
    `e.g. sudo setcap ${names.map((n) => n.toLowerCase()).join(',')}+ep "$(command -v node)"`
  );
}

/** The advice for the default run (test-run trigger, ring buffer). */
export const PRIVILEGE_ADVICE = privilegeAdvice();

/** [major, minor] of a kernel release string such as "6.18.44-foo" or "5.4.0-150-generic". */
export function kernelVersion(release = os.release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function atLeast([major, minor]: [number, number], wantMajor: number, wantMinor: number): boolean {
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** BPF_MAP_TYPE_RINGBUF appeared in Linux 5.8. */
export function kernelTooOld(release = os.release()): string | undefined {
  if (atLeast(kernelVersion(release), 5, 8)) return undefined;
  return `this kernel (${release}) is too old: the BPF ring buffer needs Linux 5.8 or later`;
}

/** kernel.perf_event_paranoid, as /proc/sys/kernel/perf_event_paranoid says it, or "unknown". */
export function perfEventParanoid(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** The soft RLIMIT_MEMLOCK of this process, as /proc/self/limits shows it ("8388608", "unlimited"). */
export function memlockLimit(): string {
  try {
    const m = /^Max locked memory\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? m[1] : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Advice for an error from loading or running the program, or undefined when
 * there is none to add. Before 5.11 the kernel charged map and program memory
 * to RLIMIT_MEMLOCK (since 5.11 it is memory-cgroup accounting, and the limit
 * no longer matters: a run with `ulimit -l 0` works on 6.18). libbpf 1.x
 * raises the limit to infinity itself on such kernels (bump_rlimit_memlock()
 * when its FEAT_MEMCG_ACCOUNT probe fails), which works as root but fails
 * silently without CAP_SYS_RESOURCE: then map creation fails with EPERM, and
 * the fix is the limit, not more capabilities.
 */
export function loadFailureAdvice(err: { code?: string; message?: string }, release = os.release(), ...needs: PrivilegeNeeds[]): string | undefined {
  // perf_event_open() refuses a per-CPU event without CAP_PERFMON with EACCES, not EPERM.
  if (err.code === 'EACCES' && /perf_buffer|perf_event/.test(err.message ?? ''))
    return (
      missingPrivileges(...needs, { buffer: 'perfbuf' }) ??
      `the perf buffer's per-CPU perf events were refused (perf_event_open: EACCES): they need CAP_PERFMON (or CAP_SYS_ADMIN), or kernel.perf_event_paranoid <= 0 (now ${perfEventParanoid()}); ` +
        'if this process has CAP_PERFMON, a security module (SELinux, AppArmor, lockdown) may deny perf_event_open()'
    );
  if (err.code === 'EACCES') return missingPrivileges(...needs);
  if (err.code === 'EPERM') {
    const missing = missingPrivileges(...needs);
    if (missing) return missing;
    if (!atLeast(kernelVersion(release), 5, 11))
      return (
        `kernels before 5.11 charge BPF maps to the locked-memory limit (RLIMIT_MEMLOCK, now ${memlockLimit()}): ` +
        'raise it with ulimit -l unlimited (or LimitMEMLOCK=infinity in a systemd unit), or run as root'
      );
    return `${privilegeAdvice(...needs)}; if this process has them, a security module (SELinux, AppArmor, lockdown) may deny bpf()`;
  }
  if (err.code === 'EINVAL' || err.code === 'ENOENT') return kernelTooOld(release);
  if (err.code === 'ENOMEM') return 'the kernel could not allocate the ring: try a smaller --ring-size';
  if (err.code === 'ERR_DLOPEN_FAILED' && /libbpf/.test(err.message ?? ''))
    return 'libbpf is missing: install it (Debian/Ubuntu: apt-get install libbpf1 libbpf-dev) and rebuild with npm run build:native';
  if (err.code === 'ERR_DLOPEN_FAILED' || (err.code === 'MODULE_NOT_FOUND' && /ringbuf_bench\.node/.test(err.message ?? '')))
    return 'the native addon is missing or broken: rebuild it with npm run build:native';
  return undefined;
}
