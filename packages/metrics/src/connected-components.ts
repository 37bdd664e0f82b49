/**
 * Connected components of a binary mask, as `scipy.ndimage.label` finds them: 8-connectivity
 * (3×3 all-ones structure, the MVTec AD evaluation's choice) by default, 4-connectivity on
 * request. Components are numbered 1, 2, … in raster order of their first pixel; 0 is background.
 *
 * @example
 * // 1 0
 * // 0 1   → one region with 8-connectivity, two with 4-connectivity
 * labelComponents(new Uint8Array([1, 0, 0, 1]), 2, 2).count; // 1
 */

/** Which neighbours join a region: 4 (edges) or 8 (edges and corners). */
export type Connectivity = 4 | 8;

/** The result of labelling one mask. */
export interface Components {
  /** Region number per pixel (0 = background), row-major. */
  labels: Int32Array;
  /** Number of regions. */
  count: number;
  /** Pixel count of region r at index r − 1. */
  sizes: Uint32Array;
}

/**
 * Labels the non-zero pixels of a `height`×`width` mask (row-major, starting at `offset` in
 * `mask`). Pass `labels` (length ≥ height·width) to reuse a buffer across images.
 */
export function labelComponents(
  mask: Uint8Array,
  height: number,
  width: number,
  connectivity: Connectivity = 8,
  offset = 0,
  labels: Int32Array = new Int32Array(height * width),
): Components {
  const size = height * width;
  labels.fill(0, 0, size);
  const stack = new Int32Array(size);
  const sizes: number[] = [];
  const diagonal = connectivity === 8;
  let count = 0;
  for (let start = 0; start < size; start++) {
    if (mask[offset + start] === 0 || labels[start] !== 0) continue;
    count++;
    labels[start] = count;
    let top = 0;
    stack[top++] = start;
    let pixels = 0;
    while (top > 0) {
      const p = stack[--top];
      pixels++;
      const y = (p / width) | 0;
      const x = p - y * width;
      const y0 = y > 0 ? y - 1 : y;
      const y1 = y < height - 1 ? y + 1 : y;
      const x0 = x > 0 ? x - 1 : x;
      const x1 = x < width - 1 ? x + 1 : x;
      for (let yy = y0; yy <= y1; yy++) {
        for (let xx = x0; xx <= x1; xx++) {
          if (!diagonal && yy !== y && xx !== x) continue;
          const q = yy * width + xx;
          if (labels[q] === 0 && mask[offset + q] !== 0) {
            labels[q] = count;
            stack[top++] = q;
          }
        }
      }
    }
    sizes.push(pixels);
  }
  return { labels, count, sizes: Uint32Array.from(sizes) };
}
