/**
 * Capability checks, so a run without privileges fails with advice rather
 * than with an EPERM from deep inside libbpf.
 */
import * as fs from 'node:fs';

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

function effectiveCapabilities(): bigint {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt('0x' + m[1]) : 0n;
}

function has(caps: bigint, cap: number): boolean {
  return ((caps >> BigInt(cap)) & 1n) === 1n;
}

/** Why this process cannot load the benchmark, or undefined if it can. */
export function missingPrivileges(): string | undefined {
  const caps = effectiveCapabilities();
  if (has(caps, CAP_SYS_ADMIN)) return undefined;
  if (has(caps, CAP_BPF) && has(caps, CAP_PERFMON) && has(caps, CAP_NET_ADMIN)) return undefined;
  return `loading the BPF program needs privileges: ${PRIVILEGE_ADVICE}`;
}

/** tc (SCHED_CLS) programs also need CAP_NET_ADMIN when CAP_SYS_ADMIN is not held. */
export const PRIVILEGE_ADVICE = 'run as root (sudo), or grant CAP_BPF + CAP_PERFMON (and CAP_NET_ADMIN, which tc programs need)';
