import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { PyramidMamba, checkImageSize, presetConfig, useBackend } from '../src/index.ts';
import { ModelConfigError } from '../src/errors.ts';
import { parseModelConfig } from '../src/config.ts';
import { dropPathRates } from '../src/decoder.ts';

test('the reference preset equals the public code: ResNet34, depths 3,4,6,3, d_state 16, levels 1+2 (+3 above 64)', () => {
  const c = presetConfig('reference');
  assert.equal(c.encoder, 'resnet34');
  assert.deepEqual(c.depths, [3, 4, 6, 3]);
  assert.equal(c.dState, 16);
  assert.deepEqual(c.pyramid, { mode: 'reference', level3Threshold: 64 });
  assert.equal(c.noiseStd, 0.05);
  // stochastic depth: linspace(0, 0.2, 16) reversed, sliced per stage
  const r = dropPathRates([3, 4, 6, 3], 0.2);
  assert.equal(r[0][0], 0.2);
  assert.ok(Math.abs(r[3][2]) < 1e-12);
});

test('config errors name the field', () => {
  assert.throws(() => parseModelConfig({ depths: [3, 4, 6] }), (e: unknown) => e instanceof ModelConfigError && /depths/.test(e.message));
  assert.throws(() => parseModelConfig({ pyramid: { mode: 'levels', levels: [1, 2, 5, 1] } }), /pyramid\.levels\.2/);
  assert.throws(() => parseModelConfig({ encoder: 'vgg16' }), /encoder/);
  assert.throws(() => parseModelConfig({ dstate: 16 }), /dstate|unrecognized/i);
});

test('image sizes: any multiple of 32 that the pyramid levels divide', () => {
  const levels = (l: number[]) => presetConfig('small', { pyramid: { mode: 'levels', levels: l } });
  checkImageSize(levels([1, 1, 1, 1]), 96);
  assert.throws(() => checkImageSize(levels([2, 2, 2, 2]), 96), /stage 0 map 3×3 is not divisible by 2/);
  assert.throws(() => checkImageSize(levels([1, 1, 1, 1]), 100), /multiple of 32/);
  checkImageSize(levels([1, 2, 3, 4]), 64);
  checkImageSize(presetConfig('reference'), 192);
  assert.throws(() => checkImageSize(presetConfig('reference', { pyramid: { mode: 'reference', level3Threshold: 0 } }), 64), /stage 0 map 2×2 is not divisible by 4/);
});

test('a 96² input runs through a model whose levels allow it', async () => {
  await useBackend('wasm');
  const model = new PyramidMamba(presetConfig('small', { pyramid: { mode: 'levels', levels: [1, 1, 2, 2] } }));
  const out = tf.tidy(() => model.forward(tf.zeros([1, 96, 96, 3]) as tf.Tensor4D).student.map((t) => t.shape));
  assert.deepEqual(out, [[1, 24, 24, 64], [1, 12, 12, 128], [1, 6, 6, 256]]);
  model.dispose();
});

test('--backend auto falls back to the fastest backend that loads, and says which', async () => {
  const said: string[] = [];
  const name = await useBackend('auto', (m) => said.push(m));
  assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm'].includes(name));
  assert.match(said.join('\n'), new RegExp(`using the ${name} backend`));
  await assert.rejects(useBackend('tensorflow-gpu'), /Install @tensorflow\/tfjs-node-gpu|tensorflow-gpu/);
  assert.equal(await useBackend('cpu'), 'cpu');
  await useBackend('wasm');
});
