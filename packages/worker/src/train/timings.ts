/** Where a train-shard job's time went, in ms: model compute against I/O and bookkeeping (its result's `timings`). */
export class Timings {
  readonly ms = { computeMs: 0, dataMs: 0, storeMs: 0, modelLoadMs: 0 };

  async time<T>(bucket: keyof Timings['ms'], work: () => T | Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.ms[bucket] += performance.now() - t0;
    }
  }
}
