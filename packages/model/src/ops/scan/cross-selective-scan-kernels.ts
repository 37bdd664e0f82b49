/**
 * Kernels of the fused four-direction selective scan (`crossSelectiveScan`) over flat arrays.
 *
 * Layouts (row-major): u, y: [B,H,W,D] (token p = i·W + j); delta: [B,H,W,K,D]; Bm, Cm:
 * [B,H,W,K,N]; A: [K,D,N] (< 0); Ds, bias: [K,D]; K = 4. Direction k visits the tokens of a
 * batch element in its own order — row-major, column-major, and the reverse of each — by index
 * arithmetic on these row-major arrays, so no direction is ever materialised; its outputs are
 * added into y at the tokens they belong to, and dt = softplus(delta + bias) is computed inside
 * the kernel.
 *
 * A task is split by channel units of `CHANNEL_UNIT` channels: states are per channel, so units
 * are independent except for ∂Bm and ∂Cm (sums over channels), which each unit writes to its own
 * array and `finishBackward` adds up in unit order. Results therefore do not depend on how units
 * are spread over threads (scan-pool.ts). A part (a range of units) runs on the WebAssembly SIMD
 * kernels (cross-selective-scan-wasm.ts) when they are available and N is a multiple of 4, on
 * the JS core (selective-scan-kernels.ts) otherwise; which one is fixed when the parts are
 * planned, so every thread of a task runs the same arithmetic. This module holds no state and
 * imports no tfjs, so the pool's workers can load it.
 *
 * @example
 * const task = forwardTask(inputs, { B: 1, H: 8, W: 8, D: 16, N: 4 }, arena);
 * const [part] = planParts(task, [[0, crossUnits(16)]], arena, kernels);
 * runCrossScanPart(task, part, kernels);
 */
import { backwardRange, forwardRange, sumUnits, type CoreGrads, type ScanSequence } from './selective-scan-kernels.ts';
import type { ScanWasm } from './cross-selective-scan-wasm.ts';

/** Scan directions: row-major, column-major, reversed row-major, reversed column-major. */
export const CROSS_DIRECTIONS = 4;

/** Channels per unit of work; a thread takes whole units. */
export const CHANNEL_UNIT = 64;

export interface CrossShape {
  readonly B: number;
  readonly H: number;
  readonly W: number;
  readonly D: number;
  readonly N: number;
}

export interface CrossInputs {
  readonly u: Float32Array;
  /** Step-size pre-activations, [B,H,W,K,D]: dt = softplus(delta + bias). */
  readonly delta: Float32Array;
  readonly A: Float32Array;
  readonly Bm: Float32Array;
  readonly Cm: Float32Array;
  readonly Ds: Float32Array;
  readonly bias: Float32Array;
}

/** Gradients of a scalar loss with respect to each input (same shapes). */
export type CrossGrads = { readonly [K in keyof CrossInputs]: Float32Array };

/** Makes a task's arrays: zeroed ones, or a copy of an input. */
export interface Allocator {
  f32(length: number): Float32Array;
  f64(length: number): Float64Array;
  i32(length: number): Int32Array;
  copy(a: Float32Array): Float32Array;
}

export interface ForwardTask {
  readonly kind: 'forward';
  readonly shape: CrossShape;
  readonly inp: CrossInputs;
  /** Token of each step, per direction (crossOrders). */
  readonly orders: readonly Int32Array[];
  /** The output, [B,H,W,D], zeroed. */
  readonly y: Float32Array;
  /**
   * The state before every CHECKPOINT_STEPS-th step, [B·K, ceil(L / CHECKPOINT_STEPS), D, N],
   * filled by the WebAssembly parts (slot 0 stays zero) for the backward pass.
   */
  readonly ckpt: Float32Array;
}

export interface BackwardTask {
  readonly kind: 'backward';
  readonly shape: CrossShape;
  readonly inp: CrossInputs;
  readonly orders: readonly Int32Array[];
  /** ∂loss/∂y, [B,H,W,D]. */
  readonly gy: Float32Array;
  readonly g: CoreGrads;
  /** The forward pass's checkpoints (ForwardTask.ckpt), or null: the backward pass recomputes them. */
  readonly ckpt: Float32Array | null;
}

export type CrossTask = ForwardTask | BackwardTask;

/** Number of channel units of a D-channel task. */
export function crossUnits(D: number): number {
  return Math.ceil(D / CHANNEL_UNIT);
}

/** Kernel work of a task: state updates per pass, B·K·L·D·N. */
export function crossWork(s: CrossShape): number {
  return s.B * CROSS_DIRECTIONS * s.H * s.W * s.D * s.N;
}

export function checkCrossLengths(inp: CrossInputs, s: CrossShape): void {
  const { B, H, W, D, N } = s;
  const K = CROSS_DIRECTIONS;
  const T = B * H * W;
  const want: [keyof CrossInputs, number][] = [
    ['u', T * D], ['delta', T * K * D], ['A', K * D * N], ['Bm', T * K * N], ['Cm', T * K * N], ['Ds', K * D], ['bias', K * D]];
  for (const [name, n] of want) {
    if (inp[name].length !== n) {
      throw new RangeError(`cross selective scan kernel: ${name} has ${inp[name].length} values, expected ${n} for ` +
        `B=${B} H=${H} W=${W} D=${D} N=${N}`);
    }
  }
}

/** Token visited at each step of each direction of an H×W map. */
export function crossOrders(H: number, W: number): Int32Array[] {
  const L = H * W;
  const rows = new Int32Array(L);
  const cols = new Int32Array(L);
  for (let t = 0; t < L; t++) {
    rows[t] = t;
    cols[t] = (t % H) * W + Math.floor(t / H); // step t = j·H + i visits token (i, j)
  }
  return [rows, cols, rows.slice().reverse(), cols.slice().reverse()];
}

/** The B·K sequences of a task, batch-major, visiting tokens in `orders` (crossOrders). */
export function crossSequences(s: CrossShape, orders: readonly Int32Array[]): ScanSequence[] {
  const { B, H, W, D, N } = s;
  const K = CROSS_DIRECTIONS;
  const L = H * W;
  const seqs: ScanSequence[] = [];
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      seqs.push({
        k, order: orders[k],
        uBase: b * L * D, uStride: D,
        dtBase: (b * L * K + k) * D, dtStride: K * D,
        bcBase: (b * L * K + k) * N, bcStride: K * N,
      });
    }
  }
  return seqs;
}

/** The orders of crossOrders, in memory from `alloc`. */
function placedOrders(shape: CrossShape, alloc: Allocator): Int32Array[] {
  return crossOrders(shape.H, shape.W).map((o) => {
    const a = alloc.i32(o.length);
    a.set(o);
    return a;
  });
}

/**
 * A forward task over `inp` (arrays already in memory from `alloc`). `out` gives the output and
 * checkpoint arrays, zeroed, where the caller has them in that memory already (e.g. as tensors).
 */
export function forwardTask(inp: CrossInputs, shape: CrossShape, alloc: Allocator,
  out?: { readonly y: Float32Array; readonly ckpt: Float32Array }): ForwardTask {
  checkCrossLengths(inp, shape);
  if (out && (out.y.length !== inp.u.length || out.ckpt.length !== checkpointLength(shape))) {
    throw new RangeError(`cross selective scan kernel: outputs of ${out.y.length} and ${out.ckpt.length} values, expected ${inp.u.length} and ${checkpointLength(shape)}`);
  }
  return {
    kind: 'forward', shape, inp, orders: placedOrders(shape, alloc),
    y: out?.y ?? alloc.f32(inp.u.length), ckpt: out?.ckpt ?? alloc.f32(checkpointLength(shape)),
  };
}

/** Floats of a forward task's checkpoints (ForwardTask.ckpt). */
export function checkpointLength(s: CrossShape): number {
  return s.B * CROSS_DIRECTIONS * Math.ceil((s.H * s.W) / CHECKPOINT_STEPS) * s.D * s.N;
}

/** Offset in ForwardTask.ckpt of sequence `seq`'s state before chunk `c`, from channel d0 on. */
function checkpointAt(s: CrossShape, seq: number, c: number, d0: number): number {
  return ((seq * Math.ceil((s.H * s.W) / CHECKPOINT_STEPS) + c) * s.D + d0) * s.N;
}

/**
 * A backward task for output gradient gy (inputs, gy and the forward pass's checkpoints, if
 * given, already in memory from `alloc`). `out` gives the u and delta gradients' arrays, zeroed,
 * where the caller has them in that memory already.
 */
export function backwardTask(inp: CrossInputs, gy: Float32Array, shape: CrossShape, alloc: Allocator,
  ckpt: Float32Array | null = null, out?: { readonly u: Float32Array; readonly delta: Float32Array }): BackwardTask {
  checkCrossLengths(inp, shape);
  if (gy.length !== inp.u.length) throw new RangeError(`cross selective scan kernel: dy has ${gy.length} values, expected ${inp.u.length}`);
  if (ckpt && ckpt.length !== checkpointLength(shape)) {
    throw new RangeError(`cross selective scan kernel: checkpoints have ${ckpt.length} values, expected ${checkpointLength(shape)}`);
  }
  if (out && (out.u.length !== inp.u.length || out.delta.length !== inp.delta.length)) {
    throw new RangeError(`cross selective scan kernel: gradient arrays of ${out.u.length} and ${out.delta.length} values, expected ${inp.u.length} and ${inp.delta.length}`);
  }
  const units = crossUnits(shape.D);
  const perUnit = () => Array.from({ length: units }, () => alloc.f32(inp.Bm.length));
  return {
    kind: 'backward', shape, inp, gy, ckpt, orders: placedOrders(shape, alloc),
    g: {
      u: out?.u ?? alloc.f32(inp.u.length), delta: out?.delta ?? alloc.f32(inp.delta.length), Bm: perUnit(), Cm: perUnit(),
      A: alloc.f64(inp.A.length), Ds: alloc.f64(inp.Ds.length), bias: alloc.f64(inp.bias.length),
    },
  };
}

/** Per-thread buffers of the WebAssembly kernels for one part, in task memory. */
export interface WasmScratch {
  /** Steps per backward chunk (see ScanBackwardOptions in selective-scan-kernels.ts). */
  readonly chunk: number;
  /** Backward: chunks start from the forward pass's checkpoints (BackwardTask.ckpt), not from `ckpt` here. */
  readonly fromForward: boolean;
  readonly h: Float32Array;
  readonly dtBuf: Float32Array;
  readonly hs: Float32Array;
  readonly decay: Float32Array;
  readonly dts: Float32Array;
  readonly dtg: Float32Array;
  readonly gh: Float32Array;
  readonly gA: Float32Array;
  readonly ckpt: Float32Array;
  readonly gBt: Float32Array;
  readonly gCt: Float32Array;
  readonly gBtab: Int32Array;
  readonly gCtab: Int32Array;
}

/** Channel units q0..q1−1 of a task, and the kernels' buffers when it runs on WebAssembly (else null). */
export interface PartPlan {
  readonly q0: number;
  readonly q1: number;
  readonly scratch: WasmScratch | null;
}

/** Bytes of per-step buffers (state + decay, float32) a backward part may hold when it makes its own checkpoints. */
const CHUNK_BUDGET_BYTES = 64 * 2 ** 20;
/** Steps per WebAssembly call: short calls let the engine move hot loops to its optimising tier early. */
const STEPS_PER_CALL = 64;
/**
 * Steps between the forward pass's checkpoints, and so the backward chunk when it uses them. A
 * chunk's states and decays (8·steps·channels·N bytes, 256 KiB for a 64-channel unit at N = 16)
 * then stay in cache between the replay that writes them and the reverse pass that reads them:
 * the reverse pass ran 2× faster than over whole-sequence chunks, and no checkpoint pass is needed.
 */
export const CHECKPOINT_STEPS = 32;

/** Whether the WebAssembly kernels can run a task: available, and N a multiple of their 4 lanes. */
export function usesWasm(shape: CrossShape, kernels: ScanWasm | null): boolean {
  return kernels !== null && shape.N % 4 === 0;
}

/**
 * One plan per unit range, with scratch from `alloc` when the task runs on WebAssembly. `chunk`
 * overrides the backward chunk length (default: as many steps as fit in 64 MiB per part).
 */
export function planParts(task: CrossTask, ranges: readonly (readonly [number, number])[], alloc: Allocator,
  kernels: ScanWasm | null, opts: { readonly chunk?: number } = {}): PartPlan[] {
  const { D, N, H, W } = task.shape;
  const wasm = usesWasm(task.shape, kernels);
  return ranges.map(([q0, q1]) => {
    const Dr = Math.min(D, q1 * CHANNEL_UNIT) - Math.min(D, q0 * CHANNEL_UNIT);
    if (!wasm || Dr <= 0) return { q0, q1, scratch: null };
    const L = H * W;
    const DNr = Dr * N;
    const Drp = Math.ceil(Dr / 4) * 4;
    const backward = task.kind === 'backward';
    const fromForward = backward && task.ckpt !== null && (opts.chunk ?? CHECKPOINT_STEPS) === CHECKPOINT_STEPS;
    const chunk = !backward ? 0
      : fromForward ? CHECKPOINT_STEPS : Math.max(1, Math.min(L, Math.floor(opts.chunk ?? CHUNK_BUDGET_BYTES / (8 * DNr))));
    return {
      q0, q1,
      scratch: {
        chunk, h: alloc.f32(DNr), dtBuf: alloc.f32(Drp), hs: alloc.f32(backward ? (chunk + 1) * DNr : 0),
        decay: alloc.f32(chunk * DNr), dts: alloc.f32(chunk * Drp), dtg: alloc.f32(chunk * Drp),
        gh: alloc.f32(backward ? DNr : 0), gA: alloc.f32(backward ? DNr : 0),
        fromForward,
        ckpt: alloc.f32(backward && !fromForward ? Math.ceil(L / chunk) * DNr : 0),
        gBt: alloc.f32(N), gCt: alloc.f32(N), gBtab: alloc.i32(q1 - q0), gCtab: alloc.i32(q1 - q0),
      },
    };
  });
}

/** Runs one part of a task (every sequence, the part's channels only). */
export function runCrossScanPart(task: CrossTask, part: PartPlan, kernels: ScanWasm | null): void {
  const { D, N } = task.shape;
  const d0 = Math.min(D, part.q0 * CHANNEL_UNIT);
  const d1 = Math.min(D, part.q1 * CHANNEL_UNIT);
  if (d1 <= d0) return;
  const seqs = crossSequences(task.shape, task.orders);
  if (part.scratch === null) {
    if (task.kind === 'forward') forwardRange(task.inp, task.y, seqs, D, N, d0, d1);
    else backwardRange(task.inp, task.gy, task.g, seqs, D, N, d0, d1, CHANNEL_UNIT);
    return;
  }
  if (kernels === null) throw new Error('cross selective scan: a part planned for WebAssembly reached a thread without its kernels');
  if (task.kind === 'forward') wasmForward(task, seqs, part.scratch, kernels, d0, d1);
  else wasmBackward(task, seqs, part.scratch, kernels, d0, d1, part.q0);
}

/** Byte addresses of one sequence's arrays over channels d0… (see cross-selective-scan-wasm.ts). */
function addresses(task: CrossTask, s: ScanSequence, d0: number) {
  const { D, N } = task.shape;
  const { inp } = task;
  const kd = s.k * D + d0;
  return {
    seq: [
      task.orders[s.k].byteOffset, inp.u.byteOffset + 4 * (s.uBase + d0), 4 * s.uStride, inp.delta.byteOffset + 4 * (s.dtBase + d0),
      4 * s.dtStride, inp.Bm.byteOffset + 4 * s.bcBase, inp.Cm.byteOffset + 4 * s.bcBase, 4 * s.bcStride,
    ] as const,
    A: inp.A.byteOffset + 4 * kd * N,
    bias: inp.bias.byteOffset + 4 * kd,
    Ds: inp.Ds.byteOffset + 4 * kd,
    /** Offset of the sequence's first channel in u-shaped arrays. */
    uAt: 4 * (s.uBase + d0),
    dtAt: 4 * (s.dtBase + d0),
    kd,
  };
}

function wasmForward(task: ForwardTask, seqs: readonly ScanSequence[], w: WasmScratch, k: ScanWasm, d0: number, d1: number): void {
  const { N } = task.shape;
  const Dr = d1 - d0;
  for (const [i, s] of seqs.entries()) {
    const a = addresses(task, s, d0);
    w.h.fill(0);
    const L = s.order.length;
    for (let t0 = 0; t0 < L; t0 += CHECKPOINT_STEPS) {
      if (t0 > 0) task.ckpt.set(w.h, checkpointAt(task.shape, i, t0 / CHECKPOINT_STEPS, d0));
      k.forward(...a.seq, t0, Math.min(L, t0 + CHECKPOINT_STEPS), a.A, a.bias, Dr, N, task.y.byteOffset + a.uAt, a.Ds,
        w.h.byteOffset, w.dtBuf.byteOffset);
    }
  }
}

function wasmBackward(task: BackwardTask, seqs: readonly ScanSequence[], w: WasmScratch, k: ScanWasm, d0: number, d1: number,
  q0: number): void {
  const { N } = task.shape;
  const { g } = task;
  const Dr = d1 - d0;
  const DNr = Dr * N;
  const { chunk } = w;
  for (const [i, s] of seqs.entries()) {
    const a = addresses(task, s, d0);
    const L = s.order.length;
    const nChunks = Math.ceil(L / chunk);
    for (let q = 0; q < w.gBtab.length; q++) {
      w.gBtab[q] = g.Bm[q0 + q].byteOffset + 4 * s.bcBase;
      w.gCtab[q] = g.Cm[q0 + q].byteOffset + 4 * s.bcBase;
    }
    // Checkpoints: the state before each chunk (chunk 0 starts from zeros), the forward pass's or made here.
    const start = (c: number) => (w.fromForward && task.ckpt
      ? task.ckpt.subarray(checkpointAt(task.shape, i, c, d0), checkpointAt(task.shape, i, c, d0) + DNr)
      : w.ckpt.subarray(c * DNr, (c + 1) * DNr));
    w.h.fill(0);
    w.ckpt.fill(0, 0, DNr);
    for (let c = 1; c < nChunks && !w.fromForward; c++) {
      for (let t0 = (c - 1) * chunk; t0 < c * chunk; t0 += STEPS_PER_CALL) {
        k.advance(...a.seq, t0, Math.min(c * chunk, t0 + STEPS_PER_CALL), a.A, a.bias, Dr, N, w.h.byteOffset, w.dtBuf.byteOffset);
      }
      w.ckpt.set(w.h, c * DNr);
    }
    w.gh.fill(0);
    for (let c = nChunks - 1; c >= 0; c--) {
      const t0 = c * chunk;
      const t1 = Math.min(L, t0 + chunk);
      w.hs.set(start(c));
      for (let r0 = t0; r0 < t1; r0 += STEPS_PER_CALL) {
        k.replay(...a.seq, r0, Math.min(t1, r0 + STEPS_PER_CALL), a.A, a.bias, Dr, N,
          w.hs.byteOffset + 4 * (r0 - t0) * DNr, w.decay.byteOffset + 4 * (r0 - t0) * DNr,
          w.dts.byteOffset + 4 * (r0 - t0) * w.dtBuf.length, w.dtg.byteOffset + 4 * (r0 - t0) * w.dtBuf.length);
      }
      // ∂A accumulates in float32 over at most STEPS_PER_CALL steps, then goes to float64.
      for (let r1 = t1; r1 > t0; r1 -= STEPS_PER_CALL) {
        k.reverse(...a.seq, Math.max(t0, r1 - STEPS_PER_CALL), r1, a.A, Dr, N, a.Ds, w.hs.byteOffset, w.decay.byteOffset,
          w.dts.byteOffset, w.dtg.byteOffset, t0, w.gh.byteOffset, task.gy.byteOffset + a.uAt, g.u.byteOffset + a.uAt,
          g.delta.byteOffset + a.dtAt, w.gA.byteOffset, g.Ds.byteOffset + 8 * a.kd, g.bias.byteOffset + 8 * a.kd,
          w.gBtab.byteOffset, w.gCtab.byteOffset, CHANNEL_UNIT, w.gBt.byteOffset, w.gCt.byteOffset);
        k.flush(w.gA.byteOffset, g.A.byteOffset + 8 * a.kd * N, DNr);
      }
    }
  }
}

/** The gradients once every unit of a backward task has run, as fresh float32 arrays. */
export function finishBackward(task: BackwardTask): CrossGrads {
  const { g } = task;
  return {
    u: g.u.slice(), delta: g.delta.slice(), A: Float32Array.from(g.A), Bm: sumUnits(g.Bm), Cm: sumUnits(g.Cm),
    Ds: Float32Array.from(g.Ds), bias: Float32Array.from(g.bias),
  };
}
