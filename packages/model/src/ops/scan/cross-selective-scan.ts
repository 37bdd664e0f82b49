/**
 * SS2D's four-direction selective scan as one differentiable op on a row-major map.
 *
 * For each batch element and direction k — row-major, column-major, reversed row-major,
 * reversed column-major — a selective scan runs over the H·W tokens in that order:
 *   dt_t = softplus(delta_t[k] + deltaBias[k]);  h_t = exp(dt_t·A[k]) ⊙ h_{t−1} + dt_t·B_t[k]·u_t;
 *   y_t[k] = Σ_n C_t[k][n]·h_t[·,n] + Ds[k]·u_t,
 * and the four outputs, each at the token it belongs to, are summed: y [B,H,W,D]. Equal to
 * `selectiveScan` on the four re-ordered copies of the map with the outputs mapped back
 * (the construction layers/cross-scan.ts used to make), but no copy, reversal or transpose of
 * the map is ever made: the kernels (cross-selective-scan-kernels.ts — WebAssembly SIMD where
 * available, else JS) visit tokens by index, apply the softplus themselves and run on the scan
 * pool's threads (scan-pool.ts). The backward pass keeps the inputs and the forward pass's
 * checkpoints of the state, and recomputes the states between them. On the multi-threaded wasm
 * backend the kernels work in the backend's own heap (scan-heap.ts); elsewhere inputs are copied
 * into the scan arena and outputs out of it.
 *
 * That is the `kernels` implementation. The `ops` one (cross-selective-scan-ops.ts) computes the
 * same function in tfjs ops, so that on a GPU backend the inputs are not copied to host memory
 * and back; which one runs is the scan mode (scan-mode.ts: the call's `opts.scan`, else the
 * enclosing `withScanMode`, else `auto`) resolved against the active backend.
 *
 * @example
 * // u [B,H,W,D]; delta [B,H,W,4,D]; A [4,D,N] (= −exp(A_log)); Bm, Cm [B,H,W,4,N]; Ds, deltaBias [4,D]
 * const y = crossSelectiveScan(u, delta, A, Bm, Cm, Ds, deltaBias); // [B,H,W,D]
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  backwardTask, checkpointLength, CROSS_DIRECTIONS, crossUnits, crossWork, finishBackward, forwardTask, usesWasm, type CrossInputs,
  type CrossShape,
} from './cross-selective-scan-kernels.ts';
import { scanHeap, type ScanHeap } from './scan-heap.ts';
import { sumUnits } from './selective-scan-kernels.ts';
import { mainKernels, runScanTask, scanThreads } from './scan-pool.ts';
import { scanArena, type ScanArena } from './scan-pool-memory.ts';
import { crossSelectiveScanOps } from './cross-selective-scan-ops.ts';
import { currentScanMode, resolveScanMode, type ScanMode } from './scan-mode.ts';
import { CrossSelectiveScanShapeError } from '../../errors.ts';

const fmt = (t: tf.Tensor) => `[${t.shape.join(',')}]${t.dtype === 'float32' ? '' : ` ${t.dtype}`}`;

function shapeOf(u: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, Bm: tf.Tensor, Cm: tf.Tensor, Ds: tf.Tensor,
  deltaBias: tf.Tensor): CrossShape {
  const K = CROSS_DIRECTIONS;
  const fail = (what: string): never => {
    throw new CrossSelectiveScanShapeError(`crossSelectiveScan: ${what} (got u ${fmt(u)}, delta ${fmt(delta)}, A ${fmt(A)}, ` +
      `Bm ${fmt(Bm)}, Cm ${fmt(Cm)}, Ds ${fmt(Ds)}, deltaBias ${fmt(deltaBias)}; expected u [B,H,W,D], delta [B,H,W,${K},D], ` +
      `A [${K},D,N], Bm, Cm [B,H,W,${K},N], Ds, deltaBias [${K},D])`);
  };
  if (u.rank !== 4) fail('u must be rank 4');
  const [B, H, W, D] = u.shape as number[];
  if (A.rank !== 3) fail('A must be rank 3');
  const N = (A.shape as number[])[2];
  const same = (t: tf.Tensor, s: number[]) => t.rank === s.length && t.shape.every((v, i) => v === s[i]);
  if (!same(delta, [B, H, W, K, D])) fail(`delta must be [B,H,W,${K},D]`);
  if (!same(A, [K, D, N])) fail(`A must be [${K},D,N]`);
  if (!same(Bm, [B, H, W, K, N])) fail(`Bm must be [B,H,W,${K},N]`);
  if (!same(Cm, [B, H, W, K, N])) fail(`Cm must be [B,H,W,${K},N]`);
  if (!same(Ds, [K, D])) fail(`Ds must be [${K},D]`);
  if (!same(deltaBias, [K, D])) fail(`deltaBias must be [${K},D]`);
  for (const t of [u, delta, A, Bm, Cm, Ds, deltaBias]) if (t.dtype !== 'float32') fail('all inputs must be float32');
  return { B, H, W, D, N };
}

/** The kernel inputs, copied into the task memory. */
function kernelInputs(ts: tf.Tensor[], arena: ScanArena): CrossInputs {
  const [u, delta, A, Bm, Cm, Ds, bias] = ts.map((t) => arena.copy(t.dataSync() as Float32Array));
  return { u, delta, A, Bm, Cm, Ds, bias };
}

/** The kernel inputs where the wasm backend keeps them. */
function heapInputs(ts: tf.Tensor[], heap: ScanHeap): CrossInputs {
  const [u, delta, A, Bm, Cm, Ds, bias] = ts.map((t) => heap.view(t));
  return { u, delta, A, Bm, Cm, Ds, bias };
}

/**
 * The op on the wasm backend's heap (scan-heap.ts): inputs read in place, the output, the
 * checkpoints and the u and delta gradients made as tensors the kernels write into.
 */
const heapScanOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const inputs = args.slice(0, 7) as tf.Tensor[];
  const save = args[7] as tf.GradSaveFunc;
  const shape = shapeOf(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]));
  const heap = scanHeap()!;
  const threads = scanThreads(crossWork(shape), crossUnits(shape.D));
  const y = heap.output(inputs[0].shape);
  const ckpt = heap.output([checkpointLength(shape)]);
  const scratch = heap.scratch();
  try {
    const task = forwardTask(heapInputs(inputs, heap), shape, scratch, { y: y.view, ckpt: ckpt.view });
    runScanTask(task, threads, { memory: heap.memory, alloc: scratch });
  } finally {
    scratch.free();
  }
  save([...inputs, ckpt.tensor]); // kept only while a gradient tape records
  ckpt.tensor.dispose();
  return {
    value: y.tensor as tf.Tensor4D,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const grad = heap.output(saved[0].shape);
      const gradDelta = heap.output(saved[1].shape);
      const bwdScratch = heap.scratch();
      try {
        const bwd = backwardTask(heapInputs(saved.slice(0, 7), heap), heap.view(dy), shape, bwdScratch, heap.view(saved[7]),
          { u: grad.view, delta: gradDelta.view });
        runScanTask(bwd, threads, { memory: heap.memory, alloc: bwdScratch });
        const { g } = bwd;
        const small = (v: Float64Array, i: number) => tf.tensor(Float32Array.from(v), saved[i].shape);
        // ∂B and ∂C: the units' tables summed in float64 (sumUnits), as on the arena. A float32
        // SIMD sum in the heap saved ~35 ms a step but moved the numbers by an ulp, and 120 steps
        // of training amplify an ulp into a different detector (test/quality-learns.test.ts).
        return [grad.tensor, gradDelta.tensor, small(g.A, 2), tf.tensor(sumUnits(g.Bm), saved[3].shape),
          tf.tensor(sumUnits(g.Cm), saved[4].shape), small(g.Ds, 5), small(g.bias, 6)];
      } finally {
        bwdScratch.free();
      }
    },
  };
});

/** The op on the scan arena: inputs copied in, outputs copied out. */
const scanOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const inputs = args.slice(0, 7) as tf.Tensor[];
  const save = args[7] as tf.GradSaveFunc;
  const shape = shapeOf(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]));
  save(inputs); // only the inputs: backward recomputes the states
  const threads = scanThreads(crossWork(shape), crossUnits(shape.D));
  // The task memory is reused by the next task: outputs are copied out right away.
  const arena = scanArena();
  arena.reset();
  const task = forwardTask(kernelInputs(inputs, arena), shape, arena);
  runScanTask(task, threads);
  // The WebAssembly kernels leave checkpoints of the state: the backward pass starts its chunks from them.
  const ckpt = usesWasm(shape, mainKernels()) ? task.ckpt.slice() : null;
  return {
    value: tf.tensor4d(task.y.slice(), inputs[0].shape as [number, number, number, number]),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      arena.reset();
      const bwd = backwardTask(kernelInputs(saved, arena), arena.copy(dy.dataSync() as Float32Array), shape, arena,
        ckpt && arena.copy(ckpt));
      runScanTask(bwd, threads);
      const g = finishBackward(bwd);
      return [g.u, g.delta, g.A, g.Bm, g.Cm, g.Ds, g.bias].map((v, i) => tf.tensor(v, saved[i].shape));
    },
  };
});

/**
 * y = Σ over the four directions of the selective scan of u in that direction, at row-major tokens.
 * u: [B,H,W,D]; delta: [B,H,W,4,D] (before the bias and softplus); A: [4,D,N] (already negative:
 * −exp(A_log)); Bm, Cm: [B,H,W,4,N]; Ds, deltaBias: [4,D] → y [B,H,W,D]. Gradients flow to all
 * seven inputs. `opts.scan` picks the implementation (default: the scan mode in force).
 */
export function crossSelectiveScan(u: tf.Tensor4D, delta: tf.Tensor, A: tf.Tensor, Bm: tf.Tensor, Cm: tf.Tensor,
  Ds: tf.Tensor, deltaBias: tf.Tensor, opts: { readonly scan?: ScanMode } = {}): tf.Tensor4D {
  const shape = shapeOf(u, delta, A, Bm, Cm, Ds, deltaBias);
  if (resolveScanMode(opts.scan ?? currentScanMode()) === 'ops') return crossSelectiveScanOps(u, delta, A, Bm, Cm, Ds, deltaBias);
  const heap = scanHeap();
  const op = heap && usesWasm(shape, mainKernels(heap.memory)) ? heapScanOp : scanOp;
  return op(u, delta, A, Bm, Cm, Ds, deltaBias) as tf.Tensor4D;
}
