// `pmamba predict` end to end: reference-named weights without metadata, a .npy batch and
// image inputs, and the errors a user meets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { readNpy, npyToFloat32, synthesize, writeNpy } from '@pmamba/data';
import { IMAGE_SIZE_KEY, PyramidMamba, exportStateDict, fitMemoryBank, fitResidualGaussian, inferAnomalyMaps, presetConfig, saveCheckpoint, useBackend, withFittedMap, writeSafetensors } from '@pmamba/model';
import { applyTestWeights } from '../packages/model/test/support/test-weights.ts';
import { outputStems } from '../packages/cli/src/predict-outputs.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const GOLDEN = join(ROOT, 'packages/model/test/fixtures/golden');
const CLI = join(ROOT, 'packages/cli/src/main.ts');
let dir: string;
/** A synthetic MVTec tree at 32² (classes carpet and disc): every folder's first image is 000.png. */
let synth32: string;

function pmamba(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
}

async function pmambaFails(...args: string[]): Promise<string> {
  try {
    await pmamba(...args);
  } catch (e) {
    const err = e as { code: number; stderr: string };
    assert.notEqual(err.code, 0);
    return err.stderr;
  }
  assert.fail(`pmamba ${args.join(' ')} should have failed`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmamba-predict-'));
  await useBackend('wasm');
  // The golden case's weights, saved as the reference saves them (no pmamba metadata).
  const meta = JSON.parse(readFileSync(join(GOLDEN, 's64_t4', 'meta.json'), 'utf8'));
  const model = new PyramidMamba(presetConfig('reference'));
  applyTestWeights(model.params, meta.seed);
  const sd = exportStateDict(model.params);
  writeFileSync(join(dir, 'ref.safetensors'), writeSafetensors(sd, { format: 'pt' }));
  sd.delete('net_s.layers_up.0.blocks.0.finalconv11.bias');
  writeFileSync(join(dir, 'broken.safetensors'), writeSafetensors(sd, { format: 'pt' }));
  model.dispose();
  const small = new PyramidMamba(presetConfig('small'), 3);
  writeFileSync(join(dir, 'small.safetensors'), saveCheckpoint(small));
  small.dispose();
  // Pyramid levels that fit 32², recorded as trained at 32² (as training writes its weights).
  const small32 = new PyramidMamba(presetConfig('small', { pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } }), 3);
  writeFileSync(join(dir, 'small32.safetensors'), saveCheckpoint(small32, { [IMAGE_SIZE_KEY]: '32' }));
  small32.dispose();
  synth32 = join(dir, 'synth32');
  await synthesize({ out: synth32, classes: 2, size: 32, train: 2, test: 2, seed: 1 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('predict on a .npy batch matches the reference maps and scores (level-3 threshold 4)', async () => {
  const out = join(dir, 'out-npy');
  await pmamba('predict', '--weights', join(dir, 'ref.safetensors'), '--input', join(GOLDEN, 's64_t4', 'input.npy'),
    '--out', out, '--level3-threshold', '4', '--backend', 'wasm');
  const maps = readNpy(join(out, 'maps.npy'));
  assert.deepEqual(maps.shape, [2, 64, 64]);
  const expected = npyToFloat32(readNpy(join(GOLDEN, 's64_t4', 'anomaly_maps.npy')).data);
  const got = npyToFloat32(maps.data);
  const maxDiff = Math.max(...Array.from(got, (v, i) => Math.abs(v - expected[i])));
  assert.ok(maxDiff < 1e-5, `maps differ by ${maxDiff}`);
  const scores = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8')) as number[];
  const es = npyToFloat32(readNpy(join(GOLDEN, 's64_t4', 'image_scores.npy')).data);
  assert.equal(scores.length, 2);
  scores.forEach((s, i) => assert.ok(Math.abs(s - es[i]) < 1e-5, `score ${i}: ${s} vs ${es[i]}`));
});

test('predict on a folder of images writes maps, scores in input order and heatmaps', async () => {
  const data = join(dir, 'synth');
  await synthesize({ out: data, classes: 1, size: 64, train: 1, test: 2, seed: 1 });
  const imgs = join(dir, 'imgs');
  mkdirSync(imgs);
  const good = join(data, readdirSync(data).find((c) => !c.endsWith('.json'))!, 'train', 'good');
  for (const f of readdirSync(good)) copyFileSync(join(good, f), join(imgs, `b-${f}`));
  copyFileSync(join(good, readdirSync(good)[0]), join(imgs, 'a.png'));
  // The same pixels as lossless WebP: any image extension data reads is an input (protocol's list).
  await sharp(join(imgs, 'a.png')).webp({ lossless: true }).toFile(join(imgs, 'c.webp'));
  const out = join(dir, 'out-img');
  await pmamba('predict', '--weights', join(dir, 'small.safetensors'), '--input', imgs, '--out', out, '--image-size', '64', '--backend', 'wasm');
  const n = readdirSync(imgs).length;
  assert.deepEqual(readNpy(join(out, 'maps.npy')).shape, [n, 64, 64]);
  const scores = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8')) as number[];
  assert.equal(scores.length, n);
  // a.png is a copy of the first b-* image: same score, listed first (sorted input order);
  // c.webp, the same pixels again, comes last.
  assert.ok(Math.abs(scores[0] - scores[1]) < 1e-6, `${scores[0]} vs ${scores[1]}`);
  assert.ok(Math.abs(scores[n - 1] - scores[0]) < 1e-6, `${scores[n - 1]} vs ${scores[0]}`);
  assert.deepEqual(readdirSync(join(out, 'heatmaps')).sort(), readdirSync(imgs).map((f) => `${basename(f, extname(f))}.png`).sort());
  const csv = readFileSync(join(out, 'scores.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'input,heatmap,score');
  assert.equal(csv[1], `${join(imgs, 'a.png')},heatmaps/a.png,${scores[0]}`);
});

test('bad input exits non-zero with a message naming it', async () => {
  const badShape = join(dir, 'bad.npy');
  const { encodeNpy } = await import('@pmamba/data');
  writeFileSync(badShape, encodeNpy(new Float32Array(2 * 64 * 64), [2, 64, 64]));
  assert.match(await pmambaFails('predict', '--weights', join(dir, 'ref.safetensors'), '--input', badShape, '--out', join(dir, 'x'), '--backend', 'wasm'),
    /bad\.npy: expected N×3×S×S/);
  assert.match(await pmambaFails('predict', '--weights', join(dir, 'nope.safetensors'), '--input', badShape, '--out', join(dir, 'x')),
    /nope\.safetensors: cannot read/);
  assert.match(await pmambaFails('predict', '--weights', join(dir, 'broken.safetensors'), '--input', join(GOLDEN, 's64_t64', 'input.npy'), '--out', join(dir, 'x'), '--backend', 'wasm'),
    /broken\.safetensors do not match the model:[\s\S]*missing \(1\): net_s\.layers_up\.0\.blocks\.0\.finalconv11\.bias/);
  assert.match(await pmambaFails('predict', '--weights', join(dir, 'ref.safetensors'), '--input', join(dir, 'missing-dir'), '--out', join(dir, 'x')),
    /missing-dir: no such file or folder/);
  const notWeights = join(dir, 'junk.safetensors');
  writeFileSync(notWeights, 'hello world, not safetensors');
  assert.match(await pmambaFails('predict', '--weights', notWeights, '--input', join(GOLDEN, 's64_t64', 'input.npy'), '--out', join(dir, 'x'), '--backend', 'wasm'),
    /junk\.safetensors/);
});

test('predict rejects a .npy batch holding NaN or ±Inf, naming the first bad index', async () => {
  const { encodeNpy } = await import('@pmamba/data');
  const values = new Float32Array(2 * 3 * 32 * 32);
  const at = (i: number, c: number, y: number, x: number) => ((i * 3 + c) * 32 + y) * 32 + x;
  values[at(1, 2, 5, 7)] = -Infinity;
  values[at(1, 2, 6, 0)] = NaN;
  const bad = join(dir, 'nonfinite.npy');
  writeFileSync(bad, encodeNpy(values, [2, 3, 32, 32]));
  const stderr = await pmambaFails('predict', '--weights', join(dir, 'small32.safetensors'), '--input', bad, '--out', join(dir, 'out-nan'), '--backend', 'wasm');
  assert.match(stderr, /nonfinite\.npy\[1, 2, 5, 7\] \(image 1, channel 2, y 5, x 7\) is -Infinity; input values must be finite \[E_NOT_FINITE\]/);
  assert.equal(existsSync(join(dir, 'out-nan')), false, 'nothing is written');
});

test('predict refuses a bad --image-size or --batch-size before loading the model', async () => {
  const args = (...extra: string[]) => ['predict', '--weights', join(dir, 'small32.safetensors'), '--input', join(synth32, 'carpet', 'train', 'good'),
    '--out', join(dir, 'out-bad-option'), '--backend', 'wasm', ...extra];
  assert.match(await pmambaFails(...args('--image-size', '100000')), /--image-size 100000: must be a positive multiple of 32, at most 4096 \[E_BAD_OPTION\]/);
  assert.match(await pmambaFails(...args('--image-size', '48')), /--image-size 48: must be a positive multiple of 32/);
  assert.match(await pmambaFails(...args('--batch-size', '0')), /--batch-size 0: must be a positive integer \[E_BAD_OPTION\]/);
  assert.match(await pmambaFails(...args('--batch-size', '-1')), /--batch-size -1: must be a positive integer \[E_BAD_OPTION\]/);
  // The small preset's levels [2,2,2,2] need 64² at least: 32 is a multiple of 32 but does not fit it.
  const misfit = await pmambaFails('predict', '--weights', join(dir, 'small.safetensors'), '--input', join(synth32, 'carpet', 'train', 'good'),
    '--out', join(dir, 'out-bad-option'), '--backend', 'wasm', '--image-size', '32');
  assert.match(misfit, /--image-size 32 does not fit the model in .*small\.safetensors: .*not divisible by 2.*sizes that fit this model near it: 64 .*\[E_BAD_OPTION\]/);
  assert.equal(existsSync(join(dir, 'out-bad-option')), false, 'nothing is written');
});

test('predict runs at the image size the weights record, and warns when --image-size differs', async () => {
  const input = join(synth32, 'carpet', 'train', 'good');
  const weights = join(dir, 'small32.safetensors');
  const asRecorded = await pmamba('predict', '--weights', weights, '--input', input, '--out', join(dir, 'out-32'), '--backend', 'wasm');
  assert.deepEqual(readNpy(join(dir, 'out-32', 'maps.npy')).shape, [2, 32, 32]);
  assert.doesNotMatch(asRecorded.stderr, /warning/);
  const other = await pmamba('predict', '--weights', weights, '--input', input, '--out', join(dir, 'out-64'), '--backend', 'wasm', '--image-size', '64');
  assert.deepEqual(readNpy(join(dir, 'out-64', 'maps.npy')).shape, [2, 64, 64]);
  const warnings = other.stderr.split('\n').filter((l) => l.includes('warning'));
  assert.equal(warnings.length, 1, other.stderr);
  assert.match(warnings[0], /^pmamba: warning: .*small32\.safetensors: model trained at 32² is run at 64² \(--image-size 64\)/);
});

test('predict scores with the residual-Gaussian map stored in the weights', async () => {
  // Weights as a fit-map job writes them: a checkpoint with a map fitted on normal images.
  const model = new PyramidMamba(presetConfig('small', { pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } }), 3);
  const normal = Float32Array.from({ length: 4 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37) * 0.5);
  const rg = fitResidualGaussian(model, normal, 4, 32, { scales: [0] });
  const weights = join(dir, 'fitted32.safetensors');
  writeFileSync(weights, withFittedMap(saveCheckpoint(model, { [IMAGE_SIZE_KEY]: '32' }), { residualGaussian: rg }));
  const npy = join(dir, 'fitted-input.npy');
  writeNpy(npy, normal.subarray(0, 2 * 3 * 32 * 32), [2, 3, 32, 32]);
  const expected = inferAnomalyMaps(model, normal.subarray(0, 2 * 3 * 32 * 32), 2, 32, { residualGaussian: rg });
  model.dispose();
  const out = join(dir, 'out-fitted');
  const { stderr } = await pmamba('predict', '--weights', weights, '--input', npy, '--out', out, '--backend', 'wasm');
  assert.match(stderr, /scoring with the anomaly map stored in .*fitted32\.safetensors: residual Gaussian on scale\(s\) 0 /);
  const scores = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8')) as number[];
  scores.forEach((v, i) => assert.ok(Math.abs(v - expected.scores[i]) < 1e-4 * (1 + Math.abs(expected.scores[i])), `score ${i}: ${v} vs ${expected.scores[i]}`));
});

test('predict scores with the memory-bank map stored in the weights, at its input scale', async () => {
  const model = new PyramidMamba(presetConfig('small', { pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } }), 3);
  const normal = Float32Array.from({ length: 4 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.29) * 0.5);
  const memoryBank = fitMemoryBank(model, normal, 4, 32, { scale: 0, features: 'teacher', inputScale: 2, bankSize: 300, seed: 0 });
  const weights = join(dir, 'memory32.safetensors');
  writeFileSync(weights, withFittedMap(saveCheckpoint(model, { [IMAGE_SIZE_KEY]: '32' }), { memoryBank }));
  const npy = join(dir, 'memory-input.npy');
  const input = Float32Array.from(normal.subarray(0, 2 * 3 * 32 * 32), (v, i) => (i % 97 === 0 ? 2 : v));
  writeNpy(npy, input, [2, 3, 32, 32]);
  const expected = inferAnomalyMaps(model, input, 2, 32, { memoryBank });
  model.dispose();
  const out = join(dir, 'out-memory');
  const { stderr } = await pmamba('predict', '--weights', weights, '--input', npy, '--out', out, '--backend', 'wasm');
  assert.match(stderr, /scoring with the anomaly map stored in .*memory32\.safetensors: memory bank of 300 teacher vectors on scale 0, input ×2 \(from \d+ locations\)/);
  const scores = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8')) as number[];
  assert.ok(expected.scores.every((v) => v > 0));
  scores.forEach((v, i) => assert.ok(Math.abs(v - expected.scores[i]) < 1e-4 * (1 + Math.abs(expected.scores[i])), `score ${i}: ${v} vs ${expected.scores[i]}`));
});

test('predict names heatmaps after each input path, so same-named images of two folders both survive', async () => {
  const carpet = join(synth32, 'carpet', 'test', 'good');
  const disc = join(synth32, 'disc', 'test', 'good');
  const out = join(dir, 'out-two-classes');
  await pmamba('predict', '--weights', join(dir, 'small32.safetensors'), '--input', carpet, disc, '--out', out, '--backend', 'wasm');
  assert.deepEqual(readdirSync(join(out, 'heatmaps')).sort(), ['carpet__test__good__000.png', 'disc__test__good__000.png']);
  const scores = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8')) as number[];
  assert.deepEqual(readFileSync(join(out, 'scores.csv'), 'utf8').trim().split('\n'), [
    'input,heatmap,score',
    `${join(carpet, '000.png')},heatmaps/carpet__test__good__000.png,${scores[0]}`,
    `${join(disc, '000.png')},heatmaps/disc__test__good__000.png,${scores[1]}`,
  ]);
});

test('predict output names: one folder keeps base names; collisions keep the extension, then count', () => {
  assert.deepEqual(outputStems(['d/a.png', 'd/b.jpg']), ['a', 'b']);
  assert.deepEqual(outputStems(['x/carpet/test/crack/000.png', 'x/grid/test/crack/000.png']), ['carpet__test__crack__000', 'grid__test__crack__000']);
  assert.deepEqual(outputStems(['d/a.png', 'd/a.jpg', 'd/A.png']), ['a.png', 'a.jpg', 'A.png-2']);
  assert.deepEqual(outputStems(['d/a.png', 'd/a.png', 'd/a.png-2.png']), ['a.png', 'a.png-3', 'a.png-2']);
});
