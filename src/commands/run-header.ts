/**
 * What both benchmark reports say about the work measured: the touch level
 * (the per-event work every mode does) and what each mode does per record and
 * per batch.
 */
import { CONSUMER_MODES } from '../consumer/modes.js';
import { TOUCH_DESCRIPTIONS, type Touch } from '../shared/event.js';
import type { ModeName } from '../shared/types.js';

export function workLines(touch: Touch, batch: number, modes: readonly ModeName[]): string[] {
  const width = Math.max(...modes.map((m) => m.length)) + 1;
  return [
    `touch ${touch}: ${TOUCH_DESCRIPTIONS[touch]} (the same in every mode)`,
    ...modes.map((m) => `  ${(m + ':').padEnd(width)} ${CONSUMER_MODES[m].describe(batch)}`),
  ];
}
