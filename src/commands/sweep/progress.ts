/**
 * Progress of a sweep: on a terminal, one bar redrawn in place on stderr;
 * otherwise (a log, CI) one plain line per finished point.
 */
export class SweepProgress {
  private readonly started = Date.now();
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Before a point starts: shows which one runs now. */
  starting(label: string): void {
    if (this.stream.isTTY) this.draw(`running ${label}`);
  }

  /** After a point: its one-line summary. */
  finished(summary: string): void {
    this.done++;
    if (this.stream.isTTY) this.draw(summary);
    else this.stream.write(`sweep ${this.done}/${this.total}: ${summary}\n`);
  }

  end(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private draw(text: string): void {
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = this.done ? (elapsed / this.done) * (this.total - this.done) : NaN;
    const head = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${formatTime(elapsed)} elapsed, ETA ${formatTime(eta)}  `;
    const columns = this.stream.columns || 100;
    this.stream.write(`\r\x1b[K${(head + text).slice(0, columns - 1)}`);
  }
}

export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
