/**
 * Forward and backward selective-scan kernels over flat Float32Arrays.
 *
 * Per sequence (a direction k of one batch element), channel d and state n:
 *   h_t = exp(dt_t·A) ⊙ h_{t−1} + dt_t·B_t·u_t (h_{−1} = 0);  y_t = Σ_n C_t[n]·h_t[·,n] + Ds·u_t
 * The core (`forwardRange`, `backwardRange`) is layout-agnostic: a `ScanSequence` says where step
 * t of a sequence lives in the flat arrays (a token order plus base and stride per array), and
 * a call covers a range of channels, so that callers can visit tokens in any order (the cross
 * scan's four directions) and split channels across threads. Outputs are accumulated (y, du)
 * or owned per channel, so several sequences may add into one output token.
 * `scanForward` / `scanBackward` are the plain channel-last layout ([B,K,L,D], step sizes
 * already through the softplus) that `selectiveScan` uses.
 *
 * Loops run t → d → n so every inner loop walks contiguous memory. Running states and
 * gradient accumulators are float64; inputs, outputs and the states and decays the backward
 * pass holds are float32.
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

/** Where one sequence lives in the flat arrays: step t reads token `order[t]`. */
export interface ScanSequence {
  /** Direction: the row of A, Ds and the step-size bias. */
  readonly k: number;
  /** Token visited at each step (length L). */
  readonly order: Int32Array;
  /** u, y, du, dy: channel d of token p at uBase + p·uStride + d. */
  readonly uBase: number;
  readonly uStride: number;
  /** Step sizes and their gradient: dtBase + p·dtStride + d. */
  readonly dtBase: number;
  readonly dtStride: number;
  /** Bm, Cm and their gradients: state n of token p at bcBase + p·bcStride + n. */
  readonly bcBase: number;
  readonly bcStride: number;
}

/** The inputs of a core call, in the layout its sequences describe. */
export interface CoreInputs {
  readonly u: Float32Array;
  /** The step sizes dt, or their pre-activation when `bias` is given. */
  readonly delta: Float32Array;
  /** [K,D,N], normally < 0. */
  readonly A: Float32Array;
  readonly Bm: Float32Array;
  readonly Cm: Float32Array;
  /** [K,D]. */
  readonly Ds: Float32Array;
  /** [K,D]; when given, dt = softplus(delta + bias[k]) is computed in the kernel. */
  readonly bias: Float32Array | null;
}

/** Gradient outputs of a core call; every array starts zeroed (u and the float64 ones accumulate). */
export interface CoreGrads {
  readonly u: Float32Array;
  /** ∂loss/∂delta (through the softplus when the inputs carry a bias). */
  readonly delta: Float32Array;
  /**
   * ∂loss/∂Bm and ∂loss/∂Cm per channel unit: unit q (channels q·unit … q·unit+unit−1) writes its
   * sum over channels to Bm[q] / Cm[q]; the caller adds the units up (see `sumUnits`).
   */
  readonly Bm: readonly Float32Array[];
  readonly Cm: readonly Float32Array[];
  /** [K,D,N]. */
  readonly A: Float64Array;
  /** [K,D]. */
  readonly Ds: Float64Array;
  /** [K,D]: ∂loss/∂bias (only filled when the inputs carry a bias). */
  readonly bias: Float64Array;
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

/** softplus(x) = log(1 + eˣ), written so that neither tail overflows or loses digits. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(fastExp(-x)) : Math.log1p(fastExp(x));
}

/** softplus′(x) = sigmoid(x), from e^(−|x|) so that neither tail overflows. */
export function softplusGrad(x: number): number {
  const e = fastExp(x > 0 ? -x : x);
  return x > 0 ? 1 / (1 + e) : e / (1 + e);
}

/** dt of step (t, d): the step size itself, or softplus(delta + bias). */
function stepSize(delta: Float32Array, bias: Float32Array | null, i: number, kd: number): number {
  return bias === null ? delta[i] : softplus(delta[i] + bias[kd]);
}

/**
 * Forward scan of `seqs` over channels d0..d1−1: adds each step's output (C·h + Ds·u) into y at
 * the step's token (y is not cleared first).
 */
export function forwardRange(inp: CoreInputs, y: Float32Array, seqs: readonly ScanSequence[], D: number, N: number,
  d0: number, d1: number): void {
  const DNr = (d1 - d0) * N;
  const w: ForwardWork = {
    h: new Float64Array(DNr), Ak: new Float64Array(DNr), bRow: new Float64Array(N), cRow: new Float64Array(N),
  };
  for (const s of seqs) forwardSequence(inp, y, s, w, D, N, d0, d1);
}

interface ForwardWork {
  readonly h: Float64Array;
  readonly Ak: Float64Array;
  readonly bRow: Float64Array;
  readonly cRow: Float64Array;
}

function forwardSequence(inp: CoreInputs, y: Float32Array, s: ScanSequence, w: ForwardWork, D: number, N: number,
  d0: number, d1: number): void {
  const { u, delta, A, Bm, Cm, Ds, bias } = inp;
  const { h, Ak, bRow, cRow } = w;
  const { k, order, uBase, uStride, dtBase, dtStride, bcBase, bcStride } = s;
  const kD = k * D;
  Ak.set(A.subarray((kD + d0) * N, (kD + d1) * N));
  h.fill(0);
  for (let t = 0; t < order.length; t++) {
    const p = order[t];
    const uo = uBase + p * uStride;
    const dto = dtBase + p * dtStride;
    const bo = bcBase + p * bcStride;
    bRow.set(Bm.subarray(bo, bo + N));
    cRow.set(Cm.subarray(bo, bo + N));
    for (let d = d0; d < d1; d++) {
      const dtv = stepSize(delta, bias, dto + d, kD + d);
      const uv = u[uo + d];
      const dtu = dtv * uv;
      const hd = (d - d0) * N;
      let acc = 0;
      for (let n = 0; n < N; n++) {
        const hv = fastExp(dtv * Ak[hd + n]) * h[hd + n] + dtu * bRow[n];
        h[hd + n] = hv;
        acc += hv * cRow[n];
      }
      y[uo + d] += acc + Ds[kD + d] * uv;
    }
  }
}

/** Buffers and inputs of one backward call over a channel range, shared by its passes. */
interface BackwardWork {
  readonly inp: CoreInputs;
  readonly gy: Float32Array;
  readonly g: CoreGrads;
  readonly D: number;
  readonly N: number;
  /** The channel range [d0, d1) and the unit size of the gradients of Bm and Cm. */
  readonly d0: number;
  readonly d1: number;
  readonly unit: number;
  /** A[k] of the current sequence over the range, float64. */
  readonly Ak: Float64Array;
  /** Running state of the replay, float64 like the forward pass. */
  readonly h: Float64Array;
  /** hs[i·DNr…]: state after step t0+i−1 of the current chunk (slot 0 = chunk start), stored float32. */
  readonly hs: Float32Array;
  /** decay[i·DNr…]: exp(dt·A) at step t0+i, stored float32. */
  readonly decay: Float32Array;
  /** dts[i·Dr…] / dtGrad[i·Dr…]: dt at step t0+i and d dt / d delta (1 without a bias). */
  readonly dts: Float64Array;
  readonly dtGrad: Float64Array;
  /** ∂loss/∂h_t through h_{t+1}, i.e. a_{t+1} ⊙ g_{t+1}. */
  readonly gh: Float64Array;
  readonly bRow: Float64Array;
  readonly cRow: Float64Array;
  readonly gBt: Float64Array;
  readonly gCt: Float64Array;
}

// The passes are separate small functions so that V8 inlines fastExp into each loop.

/** Advances state h over steps t0..t1−1 of sequence s. */
function advance(w: BackwardWork, s: ScanSequence, h: Float64Array, t0: number, t1: number): void {
  const { D, N, d0, d1, Ak, bRow } = w;
  const { u, delta, Bm, bias } = w.inp;
  const { k, order, uBase, uStride, dtBase, dtStride, bcBase, bcStride } = s;
  const kD = k * D;
  for (let t = t0; t < t1; t++) {
    const p = order[t];
    const uo = uBase + p * uStride;
    const dto = dtBase + p * dtStride;
    const bo = bcBase + p * bcStride;
    bRow.set(Bm.subarray(bo, bo + N));
    for (let d = d0; d < d1; d++) {
      const dtv = stepSize(delta, bias, dto + d, kD + d);
      const dtu = dtv * u[uo + d];
      const hd = (d - d0) * N;
      for (let n = 0; n < N; n++) h[hd + n] = fastExp(dtv * Ak[hd + n]) * h[hd + n] + dtu * bRow[n];
    }
  }
}

/** Recomputes steps t0..t1−1 from the state in h, keeping every state, decay factor and dt. */
function replay(w: BackwardWork, s: ScanSequence, t0: number, t1: number): void {
  const { D, N, d0, d1, Ak, bRow, h, hs, decay, dts, dtGrad } = w;
  const { u, delta, Bm, bias } = w.inp;
  const { k, order, uBase, uStride, dtBase, dtStride, bcBase, bcStride } = s;
  const kD = k * D;
  const Dr = d1 - d0;
  const DNr = Dr * N;
  hs.set(h, 0);
  for (let t = t0; t < t1; t++) {
    const p = order[t];
    const uo = uBase + p * uStride;
    const dto = dtBase + p * dtStride;
    const bo = bcBase + p * bcStride;
    bRow.set(Bm.subarray(bo, bo + N));
    const prev = (t - t0) * DNr;
    const cur = prev + DNr;
    const ci = (t - t0) * Dr;
    for (let d = d0; d < d1; d++) {
      let dtv: number;
      if (bias === null) {
        dtv = delta[dto + d];
        dtGrad[ci + d - d0] = 1;
      } else {
        const x = delta[dto + d] + bias[kD + d];
        dtv = softplus(x);
        dtGrad[ci + d - d0] = softplusGrad(x);
      }
      dts[ci + d - d0] = dtv;
      const dtu = dtv * u[uo + d];
      const hd = (d - d0) * N;
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

/** Reverse scan over replayed steps t1−1..t0 of sequence s. */
function reverse(w: BackwardWork, s: ScanSequence, t0: number, t1: number): void {
  const { D, N, d0, d1, unit, Ak, bRow, cRow, hs, decay, dts, dtGrad, gh, gBt, gCt, gy } = w;
  const { u, Bm, Cm, Ds } = w.inp;
  const { u: gU, delta: gDelta, Bm: gB, Cm: gC, A: gA, Ds: gDs, bias: gBias } = w.g;
  const { k, order, uBase, uStride, dtBase, dtStride, bcBase, bcStride } = s;
  const Dr = d1 - d0;
  const DNr = Dr * N;
  const kD = k * D;
  for (let t = t1 - 1; t >= t0; t--) {
    const p = order[t];
    const uo = uBase + p * uStride;
    const dto = dtBase + p * dtStride;
    const bo = bcBase + p * bcStride;
    bRow.set(Bm.subarray(bo, bo + N));
    cRow.set(Cm.subarray(bo, bo + N));
    const prev = (t - t0) * DNr;
    const cur = prev + DNr;
    const ci = (t - t0) * Dr - d0;
    for (let q0 = d0; q0 < d1; q0 += unit) {
      const q1 = Math.min(d1, q0 + unit);
      gBt.fill(0);
      gCt.fill(0);
      for (let d = q0; d < q1; d++) {
        const dtv = dts[ci + d];
        const uv = u[uo + d];
        const dtu = dtv * uv;
        const gyv = gy[uo + d];
        const hd = (d - d0) * N;
        const ad = (kD + d) * N;
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
          gA[ad + n] += gEh * dtv;
          gh[i] = g * e;
        }
        const gDeltaV = gStep * dtGrad[ci + d];
        gU[uo + d] += gBu * dtv + gyv * Ds[kD + d];
        gDelta[dto + d] = gDeltaV;
        gDs[kD + d] += gyv * uv;
        gBias[kD + d] += gDeltaV;
      }
      const q = (q0 / unit) | 0;
      const gBq = gB[q];
      const gCq = gC[q];
      for (let n = 0; n < N; n++) {
        gBq[bo + n] = gBt[n];
        gCq[bo + n] = gCt[n];
      }
    }
  }
}

/**
 * Gradients of Σ gy ⊙ y over channels d0..d1−1 (a range of whole units of `unit` channels) of
 * every sequence, by a reverse scan; adds into / writes the arrays of g. The forward states are
 * recomputed here: a first pass keeps the state at each chunk start, then chunks are replayed
 * last to first, each holding its own states and decay factors, so memory is
 * O(L/chunk·Dr·N + chunk·Dr·N) for Dr = d1 − d0 channels.
 */
export function backwardRange(inp: CoreInputs, gy: Float32Array, g: CoreGrads, seqs: readonly ScanSequence[],
  D: number, N: number, d0: number, d1: number, unit: number, opts: ScanBackwardOptions = {}): void {
  if (seqs.length === 0 || d1 <= d0) return;
  const L = seqs[0].order.length;
  const Dr = d1 - d0;
  const DNr = Dr * N;
  const chunk = Math.max(1, Math.min(L, Math.floor(opts.chunk ?? CHUNK_BUDGET_BYTES / (8 * DNr))));
  const nChunks = Math.ceil(L / chunk);
  const w: BackwardWork = {
    inp, gy, g, D, N, d0, d1, unit,
    Ak: new Float64Array(DNr), h: new Float64Array(DNr), hs: new Float32Array((chunk + 1) * DNr),
    decay: new Float32Array(chunk * DNr), dts: new Float64Array(chunk * Dr), dtGrad: new Float64Array(chunk * Dr),
    gh: new Float64Array(DNr), bRow: new Float64Array(N), cRow: new Float64Array(N), gBt: new Float64Array(N), gCt: new Float64Array(N),
  };
  // ckpt[c·DNr…]: state before the first step of chunk c (chunk 0 starts from zeros).
  const ckpt = new Float64Array(nChunks * DNr);
  const h = new Float64Array(DNr);
  for (const s of seqs) {
    w.Ak.set(inp.A.subarray((s.k * D + d0) * N, (s.k * D + d1) * N));
    h.fill(0);
    for (let c = 1; c < nChunks; c++) { // the last chunk's own steps are not needed
      advance(w, s, h, (c - 1) * chunk, c * chunk);
      ckpt.set(h, c * DNr);
    }
    w.gh.fill(0);
    for (let c = nChunks - 1; c >= 0; c--) {
      const t0 = c * chunk;
      const t1 = Math.min(L, t0 + chunk);
      w.h.set(ckpt.subarray(c * DNr, (c + 1) * DNr));
      replay(w, s, t0, t1);
      reverse(w, s, t0, t1);
    }
  }
}

/** A new array, Σ over units of the per-unit arrays in unit order (so independent of who computed which unit). */
export function sumUnits(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0].slice();
  const out = new Float32Array(parts[0].length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let q = 0; q < parts.length; q++) s += parts[q][i];
    out[i] = s;
  }
  return out;
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

/** The sequences of the plain layout: (b, k) at [b,k,·,·], steps in order. */
function plainSequences(s: ScanShape): ScanSequence[] {
  const { B, K, L, D, N } = s;
  const order = Int32Array.from({ length: L }, (_, t) => t);
  const seqs: ScanSequence[] = [];
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const first = (b * K + k) * L;
      seqs.push({ k, order, uBase: first * D, uStride: D, dtBase: first * D, dtStride: D, bcBase: first * N, bcStride: N });
    }
  }
  return seqs;
}

const plainInputs = (inp: ScanInputs): CoreInputs => ({ ...inp, delta: inp.dt, bias: null });

/** y = selective scan of the inputs in the plain layout; returns a new [B,K,L,D] array. */
export function scanForward(inp: ScanInputs, s: ScanShape): Float32Array {
  checkLengths(inp, s);
  const y = new Float32Array(s.B * s.K * s.L * s.D);
  forwardRange(plainInputs(inp), y, plainSequences(s), s.D, s.N, 0, s.D);
  return y;
}

/** Gradients of Σ gy ⊙ y for every input of the plain layout, by a reverse scan (see backwardRange). */
export function scanBackward(inp: ScanInputs, gy: Float32Array, s: ScanShape, opts: ScanBackwardOptions = {}): ScanGrads {
  checkLengths(inp, s);
  const { B, K, L, D } = s;
  if (gy.length !== B * K * L * D) throw new RangeError(`selective scan kernel: dy has ${gy.length} values, expected ${B * K * L * D}`);
  const g: CoreGrads = {
    u: new Float32Array(inp.u.length), delta: new Float32Array(inp.dt.length), Bm: [new Float32Array(inp.Bm.length)],
    Cm: [new Float32Array(inp.Cm.length)], A: new Float64Array(inp.A.length), Ds: new Float64Array(inp.Ds.length),
    bias: new Float64Array(inp.Ds.length),
  };
  // One unit of all D channels: Bm and Cm gradients are summed over channels in one pass.
  backwardRange(plainInputs(inp), gy, g, plainSequences(s), D, s.N, 0, D, Math.max(1, D), opts);
  return { u: g.u, dt: g.delta, A: Float32Array.from(g.A), Bm: g.Bm[0], Cm: g.Cm[0], Ds: Float32Array.from(g.Ds) };
}
