import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadBatch, readMvtec } from '@pmamba/data';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/image.ts';
import { ImageDecodeError } from '../src/errors.ts';
import { batches } from '../src/loader.ts';
import type { DataWarning } from '@pmamba/data';
import { tempDir, writeMask, writeSolid } from './support/helpers.ts';

const S = 8;

test('loadBatch: N×3×S×S images, N×S×S masks and labels in sample order; skip drops a corrupt file only', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    for (let i = 0; i < 3; i++) await writeSolid(join(dir, 'c', 'train', 'good', `00${i}.png`), S, S, [i * 100, 0, 0]);
    await writeSolid(join(dir, 'c', 'test', 'good', '000.png'), S, S, [10, 20, 30]);
    await writeSolid(join(dir, 'c', 'test', 'hole', '000.png'), S, S, [40, 50, 60]);
    await writeMask(join(dir, 'c', 'ground_truth', 'hole', '000_mask.png'), S, S, [2, 2, 4, 4]);
    const ix = await readMvtec(dir);
    const test = ix.classes[0].test;
    const b = await loadBatch(test, { size: S });
    assert.equal(b.images.length, 2 * 3 * S * S);
    assert.equal(b.masks.length, 2 * S * S);
    assert.deepEqual(Array.from(b.labels), [0, 1]);
    assert.equal(b.masks.subarray(0, S * S).reduce((a, v) => a + v, 0), 0);
    assert.equal(b.masks.subarray(S * S).reduce((a, v) => a + v, 0), 4);
    assert.ok(Math.abs(b.images[0] - (10 / 255 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]) < 1e-6);
    assert.ok(Math.abs(b.images[3 * S * S + 2 * S * S] - (60 / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2]) < 1e-6);

    // Corrupt the middle training image.
    const train = ix.classes[0].train;
    await writeFile(train[1].image, 'garbage');
    await assert.rejects(loadBatch(train, { size: S, masks: false }), (e: unknown) => e instanceof ImageDecodeError && e.path === train[1].image);
    const seen: DataWarning[] = [];
    const kept = await loadBatch(train, { size: S, masks: false, policy: 'skip', onWarning: (w) => seen.push(w) });
    assert.deepEqual(kept.samples.map((s) => s.id), [train[0].id, train[2].id]);
    assert.equal(kept.images.length, 2 * 3 * S * S);
    assert.equal(kept.skipped.length, 1);
    assert.equal(seen[0].path, train[1].image);
    // The third image (red 200) moved into slot 1.
    assert.ok(Math.abs(kept.images[3 * S * S] - (200 / 255 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]) < 1e-6);
  } finally {
    await cleanup();
  }
});

test('batches yields consecutive slices covering every sample once', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    for (let i = 0; i < 5; i++) await writeSolid(join(dir, 'c', 'train', 'good', `00${i}.png`), S, S, [i, i, i]);
    const ix = await readMvtec(dir);
    const sizes: number[] = [];
    const ids: string[] = [];
    for await (const b of batches(ix.classes[0].train, 2, { size: S, masks: false })) {
      sizes.push(b.samples.length);
      ids.push(...b.samples.map((s) => s.id));
    }
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(ids, ix.classes[0].train.map((s) => s.id));
  } finally {
    await cleanup();
  }
});
