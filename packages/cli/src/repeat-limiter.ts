/**
 * One line per kind of repeated message: during a Redis outage every connection of every queue
 * reports the same ECONNREFUSED on each reconnect attempt. The first is printed; repeats within
 * `windowMs` are counted and reported once, with the next one after the window.
 */
export class RepeatLimiter {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly print: (line: string) => void,
    private readonly windowMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Prints `line` unless a line of the same `kind` was printed less than `windowMs` ago. */
  log(kind: string, line: string): void {
    const t = this.now();
    const last = this.seen.get(kind);
    if (last && t - last.at < this.windowMs) {
      last.suppressed++;
      return;
    }
    const more = last && last.suppressed > 0 ? ` (and ${last.suppressed} more like it in the last ${Math.round((t - last.at) / 1000)} s)` : '';
    this.print(`${line}${more}`);
    this.seen.set(kind, { at: t, suppressed: 0 });
  }
}
