import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatInspect, inspectDataset, readMvtec } from '@pmamba/data';
import { tempDir, writeMask, writeRaw, writeSolid } from './support/helpers.ts';

test('inspect counts classes and defects; verify finds a truncated image and a grey/colour mix', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    for (let i = 0; i < 4; i++) await writeSolid(join(dir, 'nut', 'train', 'good', `00${i}.png`), 12, 10, [50, 60, 70]);
    await writeSolid(join(dir, 'nut', 'train', 'good', '009.png'), 12, 10, [50]);
    await writeSolid(join(dir, 'nut', 'test', 'good', '000.png'), 12, 10, [50, 60, 70]);
    await writeSolid(join(dir, 'nut', 'test', 'scratch', '000.png'), 12, 10, [50, 60, 70]);
    await writeMask(join(dir, 'nut', 'ground_truth', 'scratch', '000_mask.png'), 12, 10, [1, 1, 3, 3]);
    const noisy = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 31) % 253);
    const bad = join(dir, 'nut', 'train', 'good', '003.png');
    await writeRaw(bad, noisy, 64, 64, 3);
    const bytes = await readFile(bad);
    await writeFile(bad, bytes.subarray(0, bytes.length >> 1));

    const ix = await readMvtec(dir);
    const quick = await inspectDataset(ix);
    assert.deepEqual(quick.totals, { classes: 1, train: 5, validation: 0, testGood: 1, testAnomalous: 1 });
    assert.equal(quick.classes[0].checked, 3);
    assert.deepEqual(quick.classes[0].defects, { scratch: 1 });

    const full = await inspectDataset(ix, { verify: true });
    assert.equal(full.classes[0].checked, 6);
    assert.deepEqual(full.classes[0].sizes, { '12×10': 6 });
    const codes = full.problems.map((p) => p.code).sort();
    assert.deepEqual(codes, ['E_IMAGE_CHANNELS', 'E_IMAGE_TRUNCATED']);
    assert.equal(full.problems.find((p) => p.code === 'E_IMAGE_TRUNCATED')!.path, bad);
    const text = formatInspect(full);
    assert.match(text, /nut\s+5\s+0\s+1\s+1\s+1\s+scratch:1\s+12×10\s+mixed/);
    assert.match(text, /2 problem\(s\)/);
  } finally {
    await cleanup();
  }
});
