/** Small statistics for repeated runs. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function min(values: readonly number[]): number {
  return values.length ? Math.min(...values) : NaN;
}

export function max(values: readonly number[]): number {
  return values.length ? Math.max(...values) : NaN;
}

/** Per-round ratios a[i] / b[i]; rounds where either is missing are skipped. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (b[i] > 0) out.push(a[i] / b[i]);
  return out;
}

/**
 * The order modes run in over `rounds` rounds: each round runs every mode once,
 * and the starting mode rotates so none is always first (first after a fill
 * is the position most exposed to drift).
 */
export function interleave<T>(modes: readonly T[], rounds: number): T[][] {
  // A config missing its runs or warm-up must fail loudly, not run nothing and report success.
  if (!Number.isInteger(rounds) || rounds < 1 || modes.length === 0) throw new RangeError(`interleave: ${modes.length} modes over ${rounds} rounds (runs + warm-up must be a whole number of at least 1)`);
  const order: T[][] = [];
  for (let r = 0; r < rounds; r++) order.push(modes.map((_, i) => modes[(i + r) % modes.length]));
  return order;
}

/**
 * interleave() for modes in groups that should run back to back (the modes of
 * one buffer kind, read from one loaded session): each round runs every mode
 * once, each group's modes rotating among themselves as interleave() rotates
 * them, and the groups' order alternating from round to round, so the group
 * that ends a round starts the next (a session that must be swapped for the
 * other is swapped once per round). One group gives interleave()'s order.
 */
export function interleaveGroups<T>(groups: readonly (readonly T[])[], rounds: number): T[][] {
  const present = groups.filter((g) => g.length > 0);
  if (present.length === 0) return interleave([], rounds);
  const rotated = present.map((g) => interleave(g, rounds));
  const order: T[][] = [];
  for (let r = 0; r < rounds; r++) {
    const groupOrder = r % 2 === 0 ? rotated : [...rotated].reverse();
    order.push(groupOrder.flatMap((g) => g[r]));
  }
  return order;
}
