import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../src/ops/register-tfjs-gradients.ts';
import { crossScan, type ScanParams } from '../src/layers/cross-scan.ts';
import { fromWindows, pyramidScan, toWindows, type PyramidMode } from '../src/layers/pyramid-scan.ts';
import { PyramidScanError } from '../src/errors.ts';
import { relErr } from './support/helpers.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/scan/', import.meta.url));

/** A little-endian float32 C-order .npy file (as make_scan_fixtures.py writes them). */
function npy(name: string): tf.Tensor {
  const buf = readFileSync(`${FIXTURES}${name}.npy`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  assert.match(header, /'descr': '<f4'/, `${name}.npy must be little-endian float32`);
  assert.match(header, /'fortran_order': False/);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return tf.tensor(data, shape);
}

function fixtureParams(): ScanParams {
  return {
    xProjWeight: npy('params_x_proj_weight') as tf.Tensor3D,
    dtProjsWeight: npy('params_dt_projs_weight') as tf.Tensor3D,
    dtProjsBias: npy('params_dt_projs_bias') as tf.Tensor2D,
    aLogs: npy('params_A_logs') as tf.Tensor2D,
    ds: npy('params_Ds') as tf.Tensor1D,
  };
}
const PARAM_FILES: [keyof ScanParams, string][] = [
  ['xProjWeight', 'x_proj_weight'], ['dtProjsWeight', 'dt_projs_weight'], ['dtProjsBias', 'dt_projs_bias'],
  ['aLogs', 'A_logs'], ['ds', 'Ds']];

/** max |a − b| / max |b|. */
function relErrT(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return relErr(a.dataSync(), b.dataSync());
}

/** Random scan parameters for a map with di channels (N states, rank R). */
function randomParams(di: number, N: number, R: number, seed: number): ScanParams {
  return tf.tidy(() => ({
    xProjWeight: tf.randomUniform([4, R + 2 * N, di], -0.5, 0.5, 'float32', seed) as tf.Tensor3D,
    dtProjsWeight: tf.randomUniform([4, di, R], -0.5, 0.5, 'float32', seed + 1) as tf.Tensor3D,
    dtProjsBias: tf.randomUniform([4, di], -2, 0, 'float32', seed + 2) as tf.Tensor2D,
    aLogs: tf.randomUniform([4 * di, N], -1, 1, 'float32', seed + 3) as tf.Tensor2D,
    ds: tf.randomNormal([4 * di], 0.3, 0.1, 'float32', seed + 4) as tf.Tensor1D,
  }));
}

/** The cross scan of each s×s window, cut out with slices and glued back with concats. */
function slicedWindowScan(x: tf.Tensor4D, p: ScanParams, s: number): tf.Tensor4D {
  const [B, H, W, D] = x.shape;
  const h = H / s;
  const w = W / s;
  const rows = [];
  for (let i = 0; i < s; i++) {
    const row = [];
    for (let j = 0; j < s; j++) row.push(crossScan(tf.slice(x, [0, i * h, j * w, 0], [B, h, w, D]), p));
    rows.push(tf.concat(row, 2));
  }
  return tf.concat(rows, 1) as tf.Tensor4D;
}

test('cross scan and reference pyramid equal the PyTorch reference (golden fixtures)', async () => {
  await tf.setBackend('cpu');
  const p = fixtureParams();
  const errs: string[] = [];
  tf.tidy(() => {
    for (const name of ['b2_8x8', 'b1_16x16', 'b1_4x6']) {
      const x = npy(`x_${name}`) as tf.Tensor4D;
      const e = relErrT(crossScan(x, p), npy(`scan4_${name}`));
      errs.push(`scan4 ${name} ${e.toExponential(1)}`);
      assert.ok(e < 1e-4, `scan4 ${name}: ${e}`);
      if (name === 'b1_4x6') continue;
      for (const t of [64, 8, 0]) {
        const e3 = relErrT(pyramidScan(x, p, { reference: true, level3Threshold: t }), npy(`pyramid_${name}_t${t}`));
        errs.push(`pyramid ${name} t${t} ${e3.toExponential(1)}`);
        assert.ok(e3 < 1e-4, `pyramid ${name} threshold ${t}: ${e3}`);
      }
    }
    // The fixtures are only worth something if level 3 changes the result.
    assert.ok(relErrT(npy('pyramid_b1_16x16_t64'), npy('pyramid_b1_16x16_t8')) > 1e-2);
  });
  console.log('relative errors vs PyTorch:', errs.join(', '));
  tf.dispose(Object.values(p));
});

test('gradients through the reference pyramid equal PyTorch autograd, on cpu and wasm', async () => {
  for (const backend of ['cpu', 'wasm']) {
    assert.ok(await tf.setBackend(backend));
    const p = fixtureParams();
    const x = npy('xg_b2_8x8');
    const w = npy('w_b2_8x8');
    const before = tf.memory().numTensors;
    const errs: string[] = [];
    tf.tidy(() => {
      const loss = (xx: tf.Tensor, ...ps: tf.Tensor[]) => {
        const q = Object.fromEntries(PARAM_FILES.map(([k], i) => [k, ps[i]])) as unknown as ScanParams;
        return tf.sum(tf.mul(pyramidScan(xx as tf.Tensor4D, q, { reference: true, level3Threshold: 0 }), w));
      };
      const grads = tf.grads(loss)([x, ...PARAM_FILES.map(([k]) => p[k])]);
      const names = ['x', ...PARAM_FILES.map(([, f]) => f)];
      grads.forEach((g, i) => {
        const e = relErrT(g, npy(`grad_${names[i]}_b2_8x8_t0`));
        errs.push(`${names[i]} ${e.toExponential(1)}`);
        assert.ok(e < 1e-4, `${backend}: gradient of ${names[i]}: ${e}`);
      });
    });
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
    console.log(`${backend} gradient relative errors vs PyTorch:`, errs.join(', '));
    tf.dispose([x, w, ...Object.values(p)]);
  }
  await tf.setBackend('cpu');
});

test('pyramid levels 1-4 equal the mean of window scans built from slices', async () => {
  await tf.setBackend('cpu');
  const p = randomParams(6, 4, 2, 11);
  tf.tidy(() => {
    const x = tf.randomNormal([2, 8, 16, 6], 0, 1, 'float32', 5) as tf.Tensor4D; // rectangular
    const scans = [1, 2, 4, 8].map((s) => slicedWindowScan(x, p, s));
    for (const levels of [1, 2, 3, 4] as const) {
      const want = tf.div(tf.addN(scans.slice(0, levels)), levels);
      const e = relErrT(pyramidScan(x, p, { levels }), want);
      assert.ok(e < 1e-6, `levels ${levels}: ${e}`);
    }
    // Each level matters.
    assert.ok(relErrT(scans[1], scans[0]) > 1e-2 && relErrT(scans[3], scans[2]) > 1e-2);
  });
  tf.dispose(Object.values(p));
});

test('reference mode: level 3 re-scans the level-2 outputs, only above the threshold', async () => {
  await tf.setBackend('cpu');
  const p = randomParams(4, 3, 1, 21);
  tf.tidy(() => {
    const x = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 9) as tf.Tensor4D;
    const y1 = crossScan(x, p);
    const y2 = slicedWindowScan(x, p, 2);
    const y3 = slicedWindowScan(y2, p, 4); // 4×4 windows of the level-2 output = its quadrants' quadrants
    const check = (mode: PyramidMode, want: tf.Tensor) => {
      const e = relErrT(pyramidScan(x, p, mode), want);
      assert.ok(e < 1e-6, `${JSON.stringify(mode)}: ${e}`);
    };
    check({ reference: true, level3Threshold: 8 }, tf.div(tf.add(y1, y2), 2));
    check({ reference: true, level3Threshold: 7 }, tf.div(tf.addN([y1, y2, y3]), 3));
    // Not the same as level 3 of the input (the `levels` mode).
    assert.ok(relErrT(y3, slicedWindowScan(x, p, 4)) > 1e-2);
  });
  tf.dispose(Object.values(p));
});

test('window split and merge are inverse reshapes in the reference quadrant order', () => {
  tf.tidy(() => {
    const x = tf.reshape(tf.range(0, 2 * 4 * 6 * 3), [2, 4, 6, 3]) as tf.Tensor4D;
    const q = toWindows(x, 2);
    assert.deepEqual(q.shape, [8, 2, 3, 3]);
    // quadrant (i=1, j=0) of image 1 is batch 1·4 + 2; its first pixel is x[1, 2, 0, :]
    assert.deepEqual(Array.from(tf.slice(q, [6, 0, 0, 0], [1, 1, 1, 3]).dataSync()),
      Array.from(tf.slice(x, [1, 2, 0, 0], [1, 1, 1, 3]).dataSync()));
    assert.deepEqual(Array.from(fromWindows(q, 2).dataSync()), Array.from(x.dataSync()));
    assert.deepEqual(Array.from(fromWindows(toWindows(x, 2), 2).dataSync()), Array.from(x.dataSync()));
  });
});

test('sizes the pyramid cannot split are refused with a coded error', () => {
  const p = randomParams(4, 2, 1, 3);
  const x = tf.zeros([1, 6, 6, 4]) as tf.Tensor4D;
  const refused = (mode: PyramidMode, re: RegExp) => assert.throws(() => pyramidScan(x, p, mode),
    (e: unknown) => e instanceof PyramidScanError && e.code === 'E_PYRAMID_SCAN_SIZE' && re.test(e.message));
  refused({ levels: 3 }, /3 levels need map sides divisible by 4, got 6×6/);
  refused({ reference: true, level3Threshold: 4 }, /needs sides divisible by 4/);
  assert.doesNotThrow(() => tf.dispose(pyramidScan(x, p, { levels: 2 })));
  assert.doesNotThrow(() => tf.dispose(pyramidScan(x, p, { reference: true, level3Threshold: 6 })));
  tf.dispose([x, ...Object.values(p)]);
});
