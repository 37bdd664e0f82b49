/**
 * Copies a box of elements between two row-major arrays in one heap, as runs of contiguous
 * elements, each handed to `move` (a memmove). The trailing axes the box spans whole in both
 * arrays merge into one run, so a slice of rows, a split or concat along any axis or a pad is one
 * move per run instead of one index computation per element.
 *
 * @example
 * // rows 2–3, columns 1–3 of a [5, 8] matrix at element 0 into a [2, 3] matrix at element 100
 * const move = (dst: number, src: number, n: number) => heap.copyWithin(dst, src, src + n);
 * copyBox(move, { at: 0, shape: [5, 8], begin: [2, 1] }, { at: 100, shape: [2, 3], begin: [0, 0] }, [2, 3]);
 */

/** An array in the heap: its first element's index, its shape, and where the box starts in it. */
export interface BoxEnd {
  readonly at: number;
  readonly shape: readonly number[];
  readonly begin: readonly number[];
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, n = 1; d >= 0; d--) {
    s[d] = n;
    n *= shape[d];
  }
  return s;
}

/** Moves `count` elements from element index `src` to `dst`. */
export type Move = (dst: number, src: number, count: number) => void;

/** Copies the box of `size` from `src` to `dst` (element indices of one heap). */
export function copyBox(move: Move, src: BoxEnd, dst: BoxEnd, size: readonly number[]): void {
  if (size.some((n) => n === 0)) return;
  const rank = size.length;
  // The run: trailing axes spanned whole in both arrays, and the first axis that is not.
  let inner = rank - 1;
  let run = size[inner];
  while (inner > 0 && size[inner] === src.shape[inner] && size[inner] === dst.shape[inner]) {
    inner--;
    run *= size[inner];
  }
  const ss = strides(src.shape);
  const ds = strides(dst.shape);
  let s = src.at;
  let t = dst.at;
  for (let d = 0; d < rank; d++) {
    s += src.begin[d] * ss[d];
    t += dst.begin[d] * ds[d];
  }
  // An odometer over the axes before the run.
  const idx = new Array<number>(inner).fill(0);
  for (;;) {
    move(t, s, run);
    let d = inner - 1;
    for (; d >= 0; d--) {
      s += ss[d];
      t += ds[d];
      if (++idx[d] < size[d]) break;
      s -= size[d] * ss[d];
      t -= size[d] * ds[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}
