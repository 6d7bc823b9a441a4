/** Gate for tests that need the real kernel: they skip, saying why, without privileges. */
import { effectiveCapabilities, missingPrivileges } from '../../src/shared/privileges.js';
import { missingCapabilities } from '../../src/lib/capabilities.js';
import type { BufferKind, Trigger } from '../../src/lib/addon.js';

const why = missingPrivileges();
if (why) console.log(`# skipping kernel tests: ${why}`);

/** node:test `skip` option: false when the kernel tests can run, else the reason. */
export const kernelSkip: string | false = why ? `needs the kernel: ${why}` : false;

/** Like kernelSkip, for a buffer and trigger that may need more (CAP_PERFMON: src/lib/capabilities.ts). */
export function kernelSkipFor(options: { buffer?: BufferKind; trigger?: Trigger }): string | false {
  const missing = missingCapabilities(options, effectiveCapabilities());
  return missing.length ? `needs the kernel and ${missing.map((m) => m.name).join(', ')}` : false;
}
