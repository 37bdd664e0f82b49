import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { PyramidMamba, gaussianStem, presetConfig, useBackend } from '../src/index.ts';
import { gaussianFilterBank, gaussianTaps } from '../src/teacher/gaussian-stem.ts';

before(async () => {
  await useBackend('wasm');
});

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('Gaussian taps: the smoothing taps sum to one, the derivative taps to zero', () => {
  for (const sigma of [0.5, 1, 2]) {
    const g = gaussianTaps(sigma, 0, 7);
    close(g.reduce((a, b) => a + b, 0), 1, 1e-12, `σ ${sigma} order 0`);
    const d = gaussianTaps(sigma, 1, 7);
    close(d.reduce((a, b) => a + b, 0), 0, 1e-12, `σ ${sigma} order 1`);
    for (let i = 0; i < 7; i++) close(d[i], -d[6 - i], 1e-12, `σ ${sigma} order 1 antisymmetric at ${i}`);
    const d2 = gaussianTaps(sigma, 2, 7);
    for (let i = 0; i < 7; i++) close(d2[i], d2[6 - i], 1e-12, `σ ${sigma} order 2 symmetric at ${i}`);
    assert.ok(d2[3] < 0, 'the second derivative is negative at the centre');
  }
});

test('the stem is set to the filter bank, both signs, and keeps random filters past it', () => {
  const model = new PyramidMamba(presetConfig('small'), 3);
  const before = model.params.get('net_t.conv1.weight').dataSync().slice();
  const used = gaussianStem(model);
  const bank = gaussianFilterBank(7);
  assert.equal(bank.count, 72, '3 scales × (6 intensity + 2 × 3 colour) filters × 2 signs');
  assert.equal(used, 64, 'the ResNet stem has 64 channels');
  const w = model.params.get('net_t.conv1.weight').dataSync();
  for (let i = 0; i < 7 * 7 * 3; i++) {
    for (let o = 0; o < 64; o++) assert.equal(w[i * 64 + o], bank.weights[i * 72 + o]);
    for (let o = 0; o < 64; o += 2) assert.equal(w[i * 64 + o], -w[i * 64 + o + 1]);
  }
  assert.notDeepEqual(Array.from(w), Array.from(before));
  model.dispose();
});

test('on images, the filters measure what they are named for', () => {
  const model = new PyramidMamba(presetConfig('small'), 3);
  gaussianStem(model);
  const w = model.params.get('net_t.conv1.weight') as tf.Tensor4D;
  // Channel layout per σ: 0 G, 2 Gx, 4 Gy, 6 Gxx, 8 Gxy, 10 Gyy (intensity), 12… colour; odd = negated.
  const respond = (f: (x: number, y: number, c: number) => number) => tf.tidy(() => {
    const img = tf.tensor4d(Float32Array.from({ length: 32 * 32 * 3 }, (_, i) => f(Math.floor(i / 3) % 32, Math.floor(i / 96), i % 3)), [1, 32, 32, 3]);
    return tf.conv2d(img, w, 1, 'valid').dataSync();
  });
  const at = (r: Float32Array | Int32Array | Uint8Array, ch: number) => r[(10 * 26 + 10) * 64 + ch];
  // A constant grey image: no gradient and no colour respond; the smoothed intensity does, and
  // the sampled second derivatives by their DC part (their taps' sum, kept on purpose).
  const flat = respond(() => 1);
  close(at(flat, 0), Math.sqrt(3), 1e-5, 'G of a constant');
  for (const ch of [2, 4, 8, 12, 14, 16]) close(at(flat, ch), 0, 1e-5, `channel ${ch} of a constant`);
  const dc = gaussianTaps(0.5, 2, 7).reduce((a, b) => a + b, 0);
  close(at(flat, 6), Math.sqrt(3) * dc, 1e-5, 'Gxx of a constant: its DC part');
  // A horizontal ramp: Gx responds, Gy and Gxy do not.
  const ramp = respond((x) => x);
  assert.ok(Math.abs(at(ramp, 2)) > 0.5, `Gx of a ramp: ${at(ramp, 2)}`);
  for (const ch of [4, 8]) close(at(ramp, ch), 0, 1e-4, `channel ${ch} of a horizontal ramp`);
  // A red–green edge excites the red–green opponent, not intensity's gradient.
  const edge = respond((x, _y, c) => (x < 13 ? [1, 0, 0][c] : [0, 1, 0][c]));
  const at13 = (ch: number) => edge[(10 * 26 + 10) * 64 + ch];
  close(at13(2), 0, 1e-5, 'intensity Gx at an equiluminant edge');
  assert.ok(Math.abs(at13(14)) > 0.1, `red–green Gx at a red–green edge: ${at13(14)}`);
  model.dispose();
});
