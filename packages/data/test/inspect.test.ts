import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { classMetricProblems, formatInspect, inspectDataset, readMvtec } from '@pmamba/data';
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

test('sniffImageFormat knows the signatures of the formats the loader decodes', async () => {
  const { sniffImageFormat } = await import('../src/image.ts');
  const bytes = (...b: number[]) => Uint8Array.from(b);
  assert.equal(sniffImageFormat(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0)), 'png');
  assert.equal(sniffImageFormat(bytes(0xff, 0xd8, 0xff, 0xe0)), 'jpeg');
  assert.equal(sniffImageFormat(bytes(0x42, 0x4d, 1, 2)), 'bmp');
  assert.equal(sniffImageFormat(bytes(0x49, 0x49, 0x2a, 0)), 'tiff');
  assert.equal(sniffImageFormat(bytes(0x4d, 0x4d, 0, 0x2a)), 'tiff');
  assert.equal(sniffImageFormat(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1')), 'webp');
  assert.equal(sniffImageFormat(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ', 'latin1')), undefined);
  assert.equal(sniffImageFormat(Buffer.from('GIF89a', 'latin1')), undefined);
  assert.equal(sniffImageFormat(Buffer.from('<html>', 'latin1')), undefined);
  assert.equal(sniffImageFormat(bytes(0x89, 0x50)), undefined);
});

test('inspect checks every file signature without verify: a text .png and an empty mask are coded problems, each once', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const train = join(dir, 'nut', 'train', 'good');
    await writeSolid(join(train, '000.png'), 12, 10, [50, 60, 70]);
    await writeSolid(join(train, '001.jpg'), 12, 10, [50, 60, 70]);
    await writeSolid(join(train, '002.bmp'), 12, 10, [50, 60, 70]);
    await writeSolid(join(train, '003.tif'), 12, 10, [50, 60, 70]);
    await writeFile(join(train, '004.webp'), await sharp({ create: { width: 12, height: 10, channels: 3, background: '#323c46' } }).webp().toBuffer());
    const text = join(train, '005.png');
    await writeFile(text, 'hello, this is not a picture\n');
    await writeSolid(join(dir, 'nut', 'test', 'good', '000.png'), 12, 10, [50, 60, 70]);
    await writeSolid(join(dir, 'nut', 'test', 'scratch', '000.png'), 12, 10, [50, 60, 70]);
    await writeSolid(join(dir, 'nut', 'test', 'scratch', '001.png'), 12, 10, [50, 60, 70]);
    await writeMask(join(dir, 'nut', 'ground_truth', 'scratch', '000_mask.png'), 12, 10, [1, 1, 3, 3]);
    const emptyMask = join(dir, 'nut', 'ground_truth', 'scratch', '001_mask.png');
    await writeFile(emptyMask, '');
    const ix = await readMvtec(dir);

    const quick = await inspectDataset(ix, { headerSample: 10 });
    assert.deepEqual(quick.problems.map((p) => [p.code, p.path]), [
      ['E_IMAGE_UNREADABLE', text],
      ['E_MASK_UNREADABLE', emptyMask],
    ]);
    assert.match(quick.problems[0].message, /005\.png: not a supported image \(PNG, JPEG, BMP, TIFF, WebP\): the file starts with "hello, t"/);
    assert.match(quick.problems[1].message, /001_mask\.png: mask file is empty \(0 bytes\)/);
    // Every image but the text file parses (5 train, 3 test); the text file is not parsed again.
    assert.equal(quick.classes[0].checked, 8);

    const full = await inspectDataset(ix, { verify: true });
    assert.deepEqual(full.problems.map((p) => [p.code, p.path]), [
      ['E_IMAGE_UNREADABLE', text],
      ['E_MASK_UNREADABLE', emptyMask],
    ]);
    assert.equal(full.classes[0].checked, 8);
    assert.match(formatInspect(full), /2 problem\(s\)/);
  } finally {
    await cleanup();
  }
});

test('verify reports a class whose defect masks are all black, and classes with one-sided test sets', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cls = async (name: string, good: number, defects: ([number, number, number, number] | undefined)[]) => {
      for (let i = 0; i < 2; i++) await writeSolid(join(dir, name, 'train', 'good', `00${i}.png`), 16, 16, [90, 90, 90]);
      for (let i = 0; i < good; i++) await writeSolid(join(dir, name, 'test', 'good', `00${i}.png`), 16, 16, [90, 90, 90]);
      for (const [i, rect] of defects.entries()) {
        await writeSolid(join(dir, name, 'test', 'crack', `00${i}.png`), 16, 16, [90, 90, 90]);
        await writeMask(join(dir, name, 'ground_truth', 'crack', `00${i}_mask.png`), 16, 16, rect);
      }
    };
    await cls('fine', 1, [[2, 2, 5, 5], undefined]); // one black mask among marked ones: fine
    await cls('black', 2, [undefined, undefined, undefined]);
    await cls('nogood', 0, [[2, 2, 5, 5]]);
    await cls('nobad', 2, []);
    const ix = await readMvtec(dir);

    const full = await inspectDataset(ix, { verify: true });
    const black = full.classes.find((c) => c.name === 'black')!;
    assert.deepEqual([black.checkedMasks, black.emptyMasks], [3, 3]);
    const fine = full.classes.find((c) => c.name === 'fine')!;
    assert.deepEqual([fine.checkedMasks, fine.emptyMasks], [2, 1]);
    assert.deepEqual(full.problems.map((p) => [p.code, p.path]), [
      ['E_MASKS_EMPTY', undefined],
      ['E_TEST_LABELS', undefined],
      ['E_TEST_LABELS', undefined],
    ]);
    const text = formatInspect(full);
    assert.match(text, /\[E_MASKS_EMPTY\] class 'black': all 3 defect masks are empty \(black\): pixel metrics \(P-AUROC, P-AP, P-F1max, AU-PRO\) will be n\/a for it/);
    assert.match(text, /\[E_TEST_LABELS\] class 'nobad': the test set has no anomalous images \(2 normal\): image metrics .* and pixel metrics .* will be n\/a/);
    assert.match(text, /\[E_TEST_LABELS\] class 'nogood': the test set has no normal images \(1 anomalous\): image metrics \(I-AUROC, I-AP, I-F1max\) will be n\/a/);
    assert.match(text, /black\s+2\s+0\s+2\s+3\s+3 \(3 empty\)/);
    assert.doesNotMatch(text, /no problems found/);
    assert.deepEqual(classMetricProblems(full), full.problems);

    // Without verify masks are not decoded: only the test-set check, which needs no pixels.
    const quick = await inspectDataset(ix);
    assert.deepEqual(quick.problems.map((p) => p.code), ['E_TEST_LABELS', 'E_TEST_LABELS']);
    assert.equal(quick.classes[0].emptyMasks, undefined);
  } finally {
    await cleanup();
  }
});
