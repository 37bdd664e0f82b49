import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fn, module, op } from '../src/ops/wasm-asm.ts';
import { scanWasm, type ScanWasm } from '../src/ops/scan/cross-selective-scan-wasm.ts';
import { ScanArena } from '../src/ops/scan/scan-pool-memory.ts';
import { ScanMemoryError } from '../src/errors.ts';
import {
  backwardTask, CHECKPOINT_STEPS, CROSS_DIRECTIONS as K, crossUnits, finishBackward, forwardTask, planParts, runCrossScanPart, type CrossTask,
} from '../src/ops/scan/cross-selective-scan-kernels.ts';
import { relErr } from './support/helpers.ts';

test('wasm assembler: the documented example builds a module that runs', () => {
  const f = new Fn('double', { at: 'i32' }, {});
  f.body(f.get('at'), f.get('at'), op.f32.load(), op.f32.const(2), op.f32.mul, op.f32.store());
  const bytes = module([f], { shared: false, minPages: 1, maxPages: 1 });
  const W = (globalThis as unknown as { WebAssembly: {
    Memory: new (d: object) => { buffer: ArrayBuffer };
    Instance: new (m: object, i: object) => { exports: { double(at: number): void } };
    Module: new (b: Uint8Array) => object;
  } }).WebAssembly;
  const memory = new W.Memory({ initial: 1, maximum: 1 });
  const { double } = new W.Instance(new W.Module(bytes), { env: { memory } }).exports;
  const view = new Float32Array(memory.buffer);
  view[3] = 1.25;
  double(12);
  assert.equal(view[3], 2.5);
  assert.throws(() => new Fn('dup', { a: 'i32' }, { a: 'f32' }), /declares a twice/);
});

test('scan task memory: arrays are zeroed, aligned, and a request past 4 GiB is refused with a coded error', () => {
  const arena = new ScanArena();
  const a = arena.f32(5);
  a.fill(7);
  const b = arena.f64(3);
  assert.equal(a.byteOffset % 16, 0);
  assert.equal(b.byteOffset % 16, 0);
  assert.ok(b.byteOffset >= a.byteOffset + 5 * 4 + 12, 'slack after each array for 4-lane reads');
  arena.reset();
  assert.deepEqual([...arena.f32(5)], [0, 0, 0, 0, 0]);
  assert.throws(() => arena.f32(2 ** 30), (e: unknown) => e instanceof ScanMemoryError && e.code === 'E_SCAN_MEMORY' && /4 GiB/.test(e.message));
});

test('cross scan kernels: the WebAssembly SIMD passes match the JS core, for several backward chunk lengths', () => {
  const arena = new ScanArena();
  // Node ≥ 16 has WebAssembly SIMD; without it the model falls back to the JS core silently.
  const kernels = scanWasm(arena.memory);
  assert.ok(kernels, 'WebAssembly SIMD kernels should build on this Node.js');
  const shape = { B: 2, H: 5, W: 7, D: 70, N: 8 }; // 2 channel units, the second not a multiple of 4
  const { B, H, W, D, N } = shape;
  const T = B * H * W;
  let seed = 1;
  const worst: Record<string, number> = {};
  const rnd = (n: number, f: (x: number) => number) => arena.copy(Float32Array.from({ length: n }, () => f(Math.sin(seed++ * 12.9898) * 0.999)));
  for (const deltaScale of [2, 60]) { // 60: the softplus far into both tails
    const inp = {
      u: rnd(T * D, (x) => x), delta: rnd(T * K * D, (x) => x * deltaScale - 1), A: rnd(K * D * N, (x) => -Math.exp(2 * x)),
      Bm: rnd(T * K * N, (x) => x), Cm: rnd(T * K * N, (x) => x), Ds: rnd(K * D, (x) => 1 + x), bias: rnd(K * D, (x) => x - 1),
    };
    const gy = rnd(T * D, Math.cos);
    const whole = [[0, crossUnits(D)]] as const;
    const split = [[0, 1], [1, crossUnits(D)]] as const;
    const run = (task: CrossTask, ranges: readonly (readonly [number, number])[], k: ScanWasm | null, chunk?: number) => {
      for (const part of planParts(task, ranges, arena, k, { chunk })) runCrossScanPart(task, part, k);
    };
    const fJs = forwardTask(inp, shape, arena);
    run(fJs, whole, null);
    const fWasm = forwardTask(inp, shape, arena);
    run(fWasm, split, kernels);
    const ey = relErr(fWasm.y, fJs.y);
    worst.y = Math.max(worst.y ?? 0, ey);
    assert.ok(ey < 1e-5, `delta scale ${deltaScale}: y relative error ${ey}`);
    const bJs = backwardTask(inp, gy, shape, arena);
    run(bJs, whole, null);
    const want = finishBackward(bJs);
    for (const chunk of [undefined, 6, 1]) {
      const bWasm = backwardTask(inp, gy, shape, arena);
      run(bWasm, split, kernels, chunk);
      const got = finishBackward(bWasm);
      for (const n of Object.keys(want) as (keyof typeof want)[]) {
        const e = relErr(got[n], want[n]);
        worst[n] = Math.max(worst[n] ?? 0, e);
        assert.ok(e < 1e-5, `delta scale ${deltaScale}, chunk ${chunk ?? 'default'}: ∂${n} relative error ${e}`);
      }
    }
    // From the forward pass's checkpoints (L = 35: two chunks): the same numbers as recomputing them.
    assert.ok(fWasm.ckpt.some((v) => v !== 0), 'the forward pass kept checkpoints');
    const bFwd = backwardTask(inp, gy, shape, arena, arena.copy(fWasm.ckpt));
    run(bFwd, whole, kernels);
    const bOwn = backwardTask(inp, gy, shape, arena);
    run(bOwn, whole, kernels, CHECKPOINT_STEPS);
    const [fromFwd, own] = [finishBackward(bFwd), finishBackward(bOwn)];
    for (const n of Object.keys(own) as (keyof typeof own)[]) assert.deepEqual(fromFwd[n], own[n], `∂${n} from the forward's checkpoints`);
    const bBad = backwardTask(inp, gy, shape, arena, arena.copy(fWasm.ckpt).fill(1)); // wrong states: they are read
    run(bBad, whole, kernels);
    assert.notDeepEqual(finishBackward(bBad).Cm, own.Cm); // ∂C reads the states (∂u does not: the scan is linear in h)
  }
  console.log('WebAssembly vs JS kernels, max relative errors:', Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
});
