/**
 * The space kNN distances are measured in: features standardised to zero mean and unit variance
 * on the training sample, rotated onto their principal axes (the eigenvectors of the correlation
 * matrix, by decreasing variance) and cut to the leading `dims` axes. The rotation keeps
 * distances; the cut drops the weakest directions, which hold little but noise and cost as much
 * search time as the strong ones.
 *
 * @example
 * const space = fitFeatureSpace(sample, 42, 24);
 * const z = space.transform(features); // 24 floats per vector
 */

/** A fitted map from raw feature vectors to the search space. */
export interface FeatureSpace {
  /** Floats per input vector. */
  inDim: number;
  /** Floats per output vector. */
  outDim: number;
  /** Fraction of the standardised variance the kept axes hold. */
  explained: number;
  /** Maps vectors (vector-major) into the space. */
  transform(vectors: Float32Array): Float32Array;
}

/** Fits the map on `vectors` (n·inDim floats), keeping min(dims, inDim) axes. */
export function fitFeatureSpace(vectors: Float32Array, inDim: number, dims: number): FeatureSpace {
  const n = vectors.length / inDim;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`fitFeatureSpace: need at least two ${inDim}-vectors, got ${vectors.length} floats`);
  const mean = new Float64Array(inDim);
  const sq = new Float64Array(inDim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < inDim; d++) {
      const v = vectors[i * inDim + d];
      mean[d] += v;
      sq[d] += v * v;
    }
  }
  const scale = new Float64Array(inDim);
  for (let d = 0; d < inDim; d++) {
    mean[d] /= n;
    const sd = Math.sqrt(Math.max(0, sq[d] / n - mean[d] * mean[d]));
    scale[d] = sd > 1e-8 ? 1 / sd : 0; // a constant feature carries no information
  }
  const cov = new Float64Array(inDim * inDim);
  const z = new Float64Array(inDim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < inDim; d++) z[d] = (vectors[i * inDim + d] - mean[d]) * scale[d];
    for (let a = 0; a < inDim; a++) {
      const za = z[a];
      for (let b = a; b < inDim; b++) cov[a * inDim + b] += za * z[b];
    }
  }
  for (let a = 0; a < inDim; a++) {
    for (let b = a; b < inDim; b++) {
      cov[a * inDim + b] /= n;
      cov[b * inDim + a] = cov[a * inDim + b];
    }
  }
  const { values, vectors: axes } = symmetricEigen(cov, inDim);
  const outDim = Math.min(dims, inDim);
  const total = values.reduce((s, v) => s + Math.max(0, v), 0);
  const kept = values.subarray(0, outDim).reduce((s, v) => s + Math.max(0, v), 0);
  // y = A (x − mean) ⊙ scale, folded into one outDim×inDim matrix.
  const A = new Float32Array(outDim * inDim);
  for (let r = 0; r < outDim; r++) for (let d = 0; d < inDim; d++) A[r * inDim + d] = axes[r * inDim + d] * scale[d];
  const shift = Float32Array.from(mean);

  return {
    inDim,
    outDim,
    explained: total > 0 ? kept / total : 1,
    transform(x: Float32Array): Float32Array {
      const count = x.length / inDim;
      const y = new Float32Array(count * outDim);
      const c = new Float32Array(inDim);
      for (let i = 0; i < count; i++) {
        for (let d = 0; d < inDim; d++) c[d] = x[i * inDim + d] - shift[d];
        for (let r = 0; r < outDim; r++) {
          let s = 0;
          const o = r * inDim;
          for (let d = 0; d < inDim; d++) s += A[o + d] * c[d];
          y[i * outDim + r] = s;
        }
      }
      return y;
    },
  };
}

/**
 * Eigen-decomposition of a symmetric n×n matrix by cyclic Jacobi rotations (n is a few dozen
 * here). Returns eigenvalues in decreasing order and the matching unit eigenvectors as rows.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= 1e-24 * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i] || i - j);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((col, r) => {
    values[r] = a[col * n + col];
    for (let k = 0; k < n; k++) vectors[r * n + k] = v[k * n + col];
  });
  return { values, vectors };
}
