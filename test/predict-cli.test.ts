// `pmamba predict` end to end: reference-named weights without metadata, a .npy batch and
// image inputs, and the errors a user meets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { readNpy, npyToFloat32, synthesize } from '@pmamba/data';
import { PyramidMamba, exportStateDict, presetConfig, saveCheckpoint, useBackend, writeSafetensors } from '@pmamba/model';
import { applyTestWeights } from '../packages/model/test/support/test-weights.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const GOLDEN = join(ROOT, 'packages/model/test/fixtures/golden');
const CLI = join(ROOT, 'packages/cli/src/main.ts');
let dir: string;

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
