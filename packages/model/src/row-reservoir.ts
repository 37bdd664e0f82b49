/**
 * A seeded uniform sample of at most `size` rows from a stream of rows (Algorithm R): the memory
 * bank's sample, bounded however many locations are fitted, and independent of how the stream is
 * batched.
 *
 * @example
 * const r = new RowReservoir(16384, 64, mulberry32(0));
 * r.offer(row);              // one Float32Array of 64 values, copied
 * r.rows();                  // the sample, min(seen, size) rows
 */
export class RowReservoir {
  private readonly vectors: Float32Array;
  /** Rows offered so far. */
  seen = 0;

  constructor(private readonly size: number, private readonly dim: number, private readonly rand: () => number) {
    this.vectors = new Float32Array(size * dim);
  }

  /** Row number `seen` replaces a random slot with probability size / (seen + 1). */
  offer(row: Float32Array): void {
    const slot = this.seen < this.size ? this.seen : Math.floor(this.rand() * (this.seen + 1));
    if (slot < this.size) this.vectors.set(row, slot * this.dim);
    this.seen++;
  }

  /** The sampled rows (a view: min(seen, size) rows of dim). */
  rows(): Float32Array {
    return this.vectors.subarray(0, Math.min(this.seen, this.size) * this.dim);
  }
}
