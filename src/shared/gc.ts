/**
 * A full garbage collection, for long runs that open many sessions in one
 * process (stress). A closed Session's ring mappings are unmapped only when
 * their SharedArrayBuffers are collected (native/src/ring_mapping.cc), and
 * until then they pin the BPF map and its ring memory; V8 does not count that
 * memory, so on its own it sees no reason to collect.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let gc: (() => void) | undefined;

export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}
