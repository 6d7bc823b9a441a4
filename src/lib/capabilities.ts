/**
 * Which capabilities loading and running the BPF object needs, by buffer and
 * trigger, so a privilege check can name exactly what is missing before
 * anything is loaded. Checked on kernel 6.18 with `capsh --drop=...` (as root,
 * perf_event_paranoid 2; test/capabilities.test.ts repeats it):
 *
 *   trigger test-run, ringbuf   CAP_BPF + CAP_NET_ADMIN
 *   trigger test-run, perfbuf   CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON
 *   trigger syscall,  either    CAP_BPF + CAP_PERFMON
 *
 *  - CAP_BPF: map creation and program load;
 *  - CAP_NET_ADMIN: the tc program (kernel/bpf/syscall.c, bpf_prog_load():
 *    is_net_admin_prog_type() -> -EPERM without it); the syscall trigger loads
 *    no tc program, so it does not need it;
 *  - CAP_PERFMON: tracing programs (raw_tp, tp_btf, fentry: is_perfmon_prog_type()
 *    -> -EPERM), and the perf buffer's per-CPU events (perf_event_open() with
 *    pid -1 on a CPU: -EACCES without it unless perf_event_paranoid <= 0);
 *  - CAP_SYS_ADMIN implies all three.
 */
import type { BufferKind, Trigger } from './addon.js';

export const CAP_NET_ADMIN = 12;
export const CAP_SYS_ADMIN = 21;
export const CAP_PERFMON = 38;
export const CAP_BPF = 39;

export interface CapabilityNeed {
  name: 'CAP_BPF' | 'CAP_NET_ADMIN' | 'CAP_PERFMON';
  number: number;
  /** Why this configuration needs it, for the advice line. */
  why: string;
}

/** The capabilities a BPF object with these options needs (CAP_SYS_ADMIN would cover them all). */
export function capabilitiesNeeded(options: { buffer?: BufferKind; trigger?: Trigger }): CapabilityNeed[] {
  const needs: CapabilityNeed[] = [{ name: 'CAP_BPF', number: CAP_BPF, why: 'BPF maps and programs' }];
  if ((options.trigger ?? 'test-run') === 'test-run') needs.push({ name: 'CAP_NET_ADMIN', number: CAP_NET_ADMIN, why: 'the tc program run by BPF_PROG_TEST_RUN' });
  const perfmon: string[] = [];
  if (options.trigger === 'syscall') perfmon.push('programs at a syscall hook (tracing programs)');
  if (options.buffer === 'perfbuf') perfmon.push("the perf buffer's per-CPU perf events");
  if (perfmon.length) needs.push({ name: 'CAP_PERFMON', number: CAP_PERFMON, why: perfmon.join(' and ') });
  return needs;
}

/**
 * What `effective` (a CapEff mask, as /proc/self/status shows it) lacks of
 * capabilitiesNeeded(options); empty when nothing is missing.
 */
export function missingCapabilities(options: { buffer?: BufferKind; trigger?: Trigger }, effective: bigint): CapabilityNeed[] {
  const has = (cap: number) => ((effective >> BigInt(cap)) & 1n) === 1n;
  if (has(CAP_SYS_ADMIN)) return [];
  return capabilitiesNeeded(options).filter((need) => !has(need.number));
}
