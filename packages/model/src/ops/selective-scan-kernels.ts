/**
 * Forward and backward selective-scan kernels over flat Float32Arrays (channel-last layout).
 *
 * Shapes (row-major): u, dt, y: [B,K,L,D]; A: [K,D,N]; Bm, Cm: [B,K,L,N]; Ds: [K,D].
 *   h_t = exp(dt_t·A) ⊙ h_{t−1} + dt_t·B_t·u_t (h_{−1} = 0);  y_t = Σ_n C_t[n]·h_t[·,n] + Ds·u_t
 * The step sizes dt arrive already through the softplus (selective-scan.ts applies it with
 * tensor ops, which the backends vectorise). Each (b, k) pair is an independent sequence with its
 * own [D,N] state; loops run t → d → n so every inner loop walks contiguous memory. Running
 * states and gradient accumulators are float64; inputs, outputs and the states and decays the
 * backward pass holds are float32.
 *
 * @example
 * const y = scanForward({ u, dt, A, Bm, Cm, Ds }, { B: 1, K: 4, L: 64, D: 8, N: 16 });
 */

export interface ScanShape {
  readonly B: number;
  readonly K: number;
  readonly L: number;
  readonly D: number;
  readonly N: number;
}

export interface ScanInputs {
  readonly u: Float32Array;
  /** Step sizes, > 0 (softplus(delta + bias)). */
  readonly dt: Float32Array;
  /** State matrix, normally < 0. */
  readonly A: Float32Array;
  readonly Bm: Float32Array;
  readonly Cm: Float32Array;
  readonly Ds: Float32Array;
}

/** Gradients of a scalar loss with respect to each input (same shapes). */
export type ScanGrads = { readonly [K in keyof ScanInputs]: Float32Array };

export interface ScanBackwardOptions {
  /**
   * Time steps whose states are recomputed and held at once in the reverse pass; a pass before
   * it keeps one checkpoint state per chunk. Default: as many steps as fit in 64 MiB of buffers
   * (all of them when L·D·N ≤ 8M), so shorter sequences skip the checkpoint pass.
   */
  readonly chunk?: number;
}

/** Bytes of per-step buffers (state + decay, float32) the backward pass may hold by default. */
const CHUNK_BUDGET_BYTES = 64 * 2 ** 20;

// exp(x) as 2^k · p(r), r = x − k·ln2 ∈ [−ln2/2, ln2/2], p a degree-7 Taylor polynomial:
// relative error < 1e-8 (far below float32 resolution) at a third of Math.exp's cost, which
// dominates the scan (one exp per (t, d, n)).
const POW2_OFFSET = 1100;
const POW2 = new Float64Array(2 * POW2_OFFSET + 1);
for (let i = 0; i < POW2.length; i++) POW2[i] = Math.pow(2, i - POW2_OFFSET);
const LOG2E = Math.LOG2E;
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;

/** Fast exp, clamped to [−708, 709] so that results stay normal and finite. */
export function fastExp(x: number): number {
  const c = x < -708 ? -708 : x > 709 ? 709 : x;
  const k = Math.floor(c * LOG2E + 0.5);
  const r = (c - k * LN2_HI) - k * LN2_LO;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r / 5040))))));
  return p * POW2[k + POW2_OFFSET];
}

function checkLengths(inp: ScanInputs, s: ScanShape): void {
  const { B, K, L, D, N } = s;
  const want: [keyof ScanInputs, number][] = [
    ['u', B * K * L * D], ['dt', B * K * L * D], ['A', K * D * N], ['Bm', B * K * L * N], ['Cm', B * K * L * N], ['Ds', K * D]];
  for (const [name, n] of want) {
    if (inp[name].length !== n) {
      throw new RangeError(`selective scan kernel: ${name} has ${inp[name].length} values, expected ${n} for B=${B} K=${K} L=${L} D=${D} N=${N}`);
    }
  }
}

/** y = selective scan of the inputs; returns a new [B,K,L,D] array. */
export function scanForward(inp: ScanInputs, s: ScanShape): Float32Array {
  checkLengths(inp, s);
  const { B, K, L, D, N } = s;
  const { u, dt, A, Bm, Cm, Ds } = inp;
  const DN = D * N;
  const y = new Float32Array(B * K * L * D);
  const h = new Float64Array(DN);
  const Ak = new Float64Array(DN); // A[k] as float64
  const bRow = new Float64Array(N);
  const cRow = new Float64Array(N);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const seq = b * K + k;
      const xo = seq * L * D;
      const bo = seq * L * N;
      const kD = k * D;
      Ak.set(A.subarray(k * DN, (k + 1) * DN));
      h.fill(0);
      for (let t = 0; t < L; t++) {
        const xt = xo + t * D;
        bRow.set(Bm.subarray(bo + t * N, bo + t * N + N));
        cRow.set(Cm.subarray(bo + t * N, bo + t * N + N));
        for (let d = 0; d < D; d++) {
          const dtv = dt[xt + d];
          const uv = u[xt + d];
          const dtu = dtv * uv;
          const hd = d * N;
          let acc = 0;
          for (let n = 0; n < N; n++) {
            const hv = fastExp(dtv * Ak[hd + n]) * h[hd + n] + dtu * bRow[n];
            h[hd + n] = hv;
            acc += hv * cRow[n];
          }
          y[xt + d] = acc + Ds[kD + d] * uv;
        }
      }
    }
  }
  return y;
}

/** Buffers and inputs of one backward call, shared by its passes. */
interface Workspace {
  readonly inp: ScanInputs;
  readonly gy: Float32Array;
  readonly g: { u: Float32Array; dt: Float32Array; Bm: Float32Array; Cm: Float32Array; A: Float64Array; Ds: Float64Array };
  readonly D: number;
  readonly N: number;
  /** A[k] of the current sequence, float64. */
  readonly Ak: Float64Array;
  /** Running state of the replay, float64 like the forward pass. */
  readonly h: Float64Array;
  /** hs[i·DN…]: state after step t0+i−1 of the current chunk (slot 0 = chunk start), stored float32. */
  readonly hs: Float32Array;
  /** decay[i·DN…]: exp(dt·A) at step t0+i, stored float32. */
  readonly decay: Float32Array;
  /** ∂loss/∂h_t through h_{t+1}, i.e. a_{t+1} ⊙ g_{t+1}. */
  readonly gh: Float64Array;
  readonly bRow: Float64Array;
  readonly cRow: Float64Array;
  readonly gBt: Float64Array;
  readonly gCt: Float64Array;
}

// The passes are separate small functions so that V8 inlines fastExp into each loop.

/** Advances state h (length D·N) over steps t0..t1−1 of the sequence at offsets xo / bo. */
function advance(w: Workspace, h: Float64Array, xo: number, bo: number, t0: number, t1: number): void {
  const { D, N, Ak, bRow } = w;
  const { u, dt, Bm } = w.inp;
  for (let t = t0; t < t1; t++) {
    const xt = xo + t * D;
    bRow.set(Bm.subarray(bo + t * N, bo + t * N + N));
    for (let d = 0; d < D; d++) {
      const dtv = dt[xt + d];
      const dtu = dtv * u[xt + d];
      const hd = d * N;
      for (let n = 0; n < N; n++) h[hd + n] = fastExp(dtv * Ak[hd + n]) * h[hd + n] + dtu * bRow[n];
    }
  }
}

/** Recomputes steps t0..t1−1 from the state in h, keeping every state and decay factor. */
function replay(w: Workspace, xo: number, bo: number, t0: number, t1: number): void {
  const { D, N, Ak, bRow, h, hs, decay } = w;
  const { u, dt, Bm } = w.inp;
  const DN = D * N;
  hs.set(h, 0);
  for (let t = t0; t < t1; t++) {
    const xt = xo + t * D;
    bRow.set(Bm.subarray(bo + t * N, bo + t * N + N));
    const prev = (t - t0) * DN;
    const cur = prev + DN;
    for (let d = 0; d < D; d++) {
      const dtv = dt[xt + d];
      const dtu = dtv * u[xt + d];
      const hd = d * N;
      for (let n = 0; n < N; n++) {
        const e = fastExp(dtv * Ak[hd + n]);
        const hv = e * h[hd + n] + dtu * bRow[n];
        decay[prev + hd + n] = e;
        h[hd + n] = hv;
        hs[cur + hd + n] = hv;
      }
    }
  }
}

/** Reverse scan over replayed steps t1−1..t0 of sequence (xo, bo) of direction k. */
function reverse(w: Workspace, k: number, xo: number, bo: number, t0: number, t1: number): void {
  const { D, N, Ak, bRow, cRow, hs, decay, gh, gBt, gCt, gy } = w;
  const { u, dt, Bm, Cm, Ds } = w.inp;
  const { u: gU, dt: gDt, Bm: gB, Cm: gC, A: gA, Ds: gDs } = w.g;
  const DN = D * N;
  const kD = k * D;
  const kDN = k * DN;
  for (let t = t1 - 1; t >= t0; t--) {
    const xt = xo + t * D;
    const bt = bo + t * N;
    bRow.set(Bm.subarray(bt, bt + N));
    cRow.set(Cm.subarray(bt, bt + N));
    const prev = (t - t0) * DN;
    const cur = prev + DN;
    gBt.fill(0);
    gCt.fill(0);
    for (let d = 0; d < D; d++) {
      const dtv = dt[xt + d];
      const uv = u[xt + d];
      const dtu = dtv * uv;
      const gyv = gy[xt + d];
      const hd = d * N;
      let gStep = 0;
      let gBu = 0;
      for (let n = 0; n < N; n++) {
        const i = hd + n;
        const g = gh[i] + gyv * cRow[n]; // ∂loss/∂h_t
        const e = decay[prev + i];
        const gEh = g * e * hs[prev + i]; // g ⊙ a_t ⊙ h_{t−1}
        const bn = bRow[n];
        gCt[n] += gyv * hs[cur + i];
        gBt[n] += g * dtu;
        gStep += gEh * Ak[i] + g * bn * uv;
        gBu += g * bn;
        gA[kDN + i] += gEh * dtv;
        gh[i] = g * e;
      }
      gU[xt + d] = gBu * dtv + gyv * Ds[kD + d];
      gDt[xt + d] = gStep;
      gDs[kD + d] += gyv * uv;
    }
    for (let n = 0; n < N; n++) {
      gB[bt + n] = gBt[n];
      gC[bt + n] = gCt[n];
    }
  }
}

/**
 * Gradients of Σ gy ⊙ y for every input, by a reverse scan. The forward states are recomputed
 * here: a first pass keeps the state at each chunk start, then chunks are replayed last to
 * first, each holding its own states and decay factors, so memory is O(L/chunk·D·N + chunk·D·N).
 */
export function scanBackward(inp: ScanInputs, gy: Float32Array, s: ScanShape, opts: ScanBackwardOptions = {}): ScanGrads {
  checkLengths(inp, s);
  const { B, K, L, D, N } = s;
  if (gy.length !== B * K * L * D) throw new RangeError(`selective scan kernel: dy has ${gy.length} values, expected ${B * K * L * D}`);
  const DN = D * N;
  const chunk = Math.max(1, Math.min(L, Math.floor(opts.chunk ?? CHUNK_BUDGET_BYTES / (8 * DN))));
  const nChunks = Math.ceil(L / chunk);
  const w: Workspace = {
    inp, gy, D, N,
    g: {
      u: new Float32Array(inp.u.length), dt: new Float32Array(inp.dt.length), Bm: new Float32Array(inp.Bm.length),
      Cm: new Float32Array(inp.Cm.length), A: new Float64Array(inp.A.length), Ds: new Float64Array(inp.Ds.length),
    },
    Ak: new Float64Array(DN), h: new Float64Array(DN), hs: new Float32Array((chunk + 1) * DN), decay: new Float32Array(chunk * DN),
    gh: new Float64Array(DN), bRow: new Float64Array(N), cRow: new Float64Array(N), gBt: new Float64Array(N), gCt: new Float64Array(N),
  };
  // ckpt[c·DN…]: state before the first step of chunk c (chunk 0 starts from zeros).
  const ckpt = new Float64Array(nChunks * DN);
  const h = new Float64Array(DN);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const seq = b * K + k;
      const xo = seq * L * D;
      const bo = seq * L * N;
      w.Ak.set(inp.A.subarray(k * DN, (k + 1) * DN));
      h.fill(0);
      for (let c = 1; c < nChunks; c++) { // the last chunk's own steps are not needed
        advance(w, h, xo, bo, (c - 1) * chunk, c * chunk);
        ckpt.set(h, c * DN);
      }
      w.gh.fill(0);
      for (let c = nChunks - 1; c >= 0; c--) {
        const t0 = c * chunk;
        const t1 = Math.min(L, t0 + chunk);
        w.h.set(ckpt.subarray(c * DN, (c + 1) * DN));
        replay(w, xo, bo, t0, t1);
        reverse(w, k, xo, bo, t0, t1);
      }
    }
  }
  const g = w.g;
  return { u: g.u, dt: g.dt, A: Float32Array.from(g.A), Bm: g.Bm, Cm: g.Cm, Ds: Float32Array.from(g.Ds) };
}
