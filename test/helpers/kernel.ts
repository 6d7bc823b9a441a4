/** Gate for tests that need the real kernel: they skip, saying why, without privileges. */
import { missingPrivileges } from '../../src/shared/privileges.js';

const why = missingPrivileges();
if (why) console.log(`# skipping kernel tests: ${why}`);

/** node:test `skip` option: false when the kernel tests can run, else the reason. */
export const kernelSkip: string | false = why ? `needs the kernel: ${why}` : false;
