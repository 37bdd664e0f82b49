import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImage, loadMask, loadRgb } from '@pmamba/data';
import { IMAGENET_MEAN, IMAGENET_STD, cropBox, decodeImage, imageInfo } from '../src/image.ts';
import { ImageDecodeError } from '../src/errors.ts';
import { decodeBmp } from '../src/bmp.ts';
import { encodeBmp24, encodeBmp32TopDown, encodeBmp8, near, tempDir, writeMask, writeRaw, writeSolid } from './support/helpers.ts';

const norm = (v: number, c: number): number => (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];

test('PNG, JPEG, TIFF and BMP decode to the same solid colour', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    for (const ext of ['png', 'jpg', 'tif', 'bmp']) {
      const p = join(dir, `solid.${ext}`);
      await writeSolid(p, 20, 12, [200, 100, 50]);
      const img = await decodeImage(p);
      assert.equal(img.width, 20, ext);
      assert.equal(img.height, 12, ext);
      assert.equal(img.channels, 3, ext);
      const tol = ext === 'jpg' ? 3 : 0;
      for (let i = 0; i < 20 * 12; i++) {
        assert.ok(Math.abs(img.data[i * 3] - 200) <= tol && Math.abs(img.data[i * 3 + 1] - 100) <= tol && Math.abs(img.data[i * 3 + 2] - 50) <= tol, `${ext} pixel ${i}`);
      }
      assert.equal((await imageInfo(p)).format, ext === 'jpg' ? 'jpeg' : ext === 'tif' ? 'tiff' : ext);
    }
  } finally {
    await cleanup();
  }
});

test('BMP variants: 24-bit bottom-up, 32-bit top-down, 8-bit colour and grey palettes, truncation', () => {
  const w = 3;
  const h = 2;
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  assert.deepEqual(Array.from(decodeBmp(encodeBmp24(rgb, w, h)).data), Array.from(rgb));
  assert.deepEqual(Array.from(decodeBmp(encodeBmp32TopDown(rgb, w, h)).data), Array.from(rgb));
  const pal = encodeBmp8(new Uint8Array([0, 1, 1, 0, 2, 2]), w, h, [[1, 2, 3], [200, 100, 0], [9, 9, 250]]);
  const p = decodeBmp(pal);
  assert.equal(p.channels, 3);
  assert.deepEqual(Array.from(p.data.subarray(0, 9)), [1, 2, 3, 200, 100, 0, 200, 100, 0]);
  const grey = decodeBmp(encodeBmp8(new Uint8Array([0, 128, 255, 7, 8, 9]), w, h, Array.from({ length: 256 }, (_, i) => [i, i, i])));
  assert.equal(grey.channels, 1);
  assert.deepEqual(Array.from(grey.data), [0, 128, 255, 7, 8, 9]);
  const full = encodeBmp24(rgb, w, h);
  assert.throws(() => decodeBmp(full.subarray(0, full.length - 4), 'cut.bmp'), (e: unknown) => e instanceof ImageDecodeError && e.code === 'E_IMAGE_TRUNCATED' && /cut\.bmp/.test(e.message));
});

test('loadImage: ImageNet normalisation, CHW layout, shorter-side resize and centre crop', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // 8 wide × 4 high: left quarter red, middle half green, right quarter blue.
    const w = 8;
    const h = 4;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = x < 2 ? [255, 0, 0] : x < 6 ? [0, 255, 0] : [0, 0, 255];
        data.set(c, (y * w + x) * 3);
      }
    }
    const p = join(dir, 'bands.png');
    await writeRaw(p, data, w, h, 3);
    // size 4: the shorter side is already 4, the crop keeps columns 2..5, all green.
    const out = await loadImage(p, { size: 4 });
    assert.equal(out.length, 3 * 4 * 4);
    for (let i = 0; i < 16; i++) {
      assert.ok(near(out[i], norm(0, 0), 1e-6), 'R plane');
      assert.ok(near(out[16 + i], norm(255, 1), 1e-6), 'G plane');
      assert.ok(near(out[32 + i], norm(0, 2), 1e-6), 'B plane');
    }
    // Into a batch buffer at an offset.
    const batch = new Float32Array(2 * 3 * 16).fill(99);
    await loadImage(p, { size: 4 }, batch, 48);
    assert.equal(batch[0], 99);
    assert.ok(near(batch[48 + 16], norm(255, 1)));
    // The crop box follows torchvision: shorter side to `resize`, centre crop `size`.
    assert.deepEqual(cropBox(900, 600, { size: 224, resize: 256 }), { resizedWidth: 384, resizedHeight: 256, left: 80, top: 16 });
    assert.deepEqual(cropBox(8, 4, { size: 4 }), { resizedWidth: 8, resizedHeight: 4, left: 2, top: 0 });
  } finally {
    await cleanup();
  }
});

test('downscaling a 2:1 solid image to a centre square keeps its colour exactly', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const p = join(dir, 'big.png');
    await writeSolid(p, 64, 32, [120, 60, 30]);
    const rgb = await loadRgb(p, { size: 16 });
    assert.equal(rgb.width, 16);
    assert.equal(rgb.height, 16);
    for (let i = 0; i < 16 * 16; i++) assert.deepEqual(Array.from(rgb.data.subarray(i * 3, i * 3 + 3)), [120, 60, 30]);
  } finally {
    await cleanup();
  }
});

test('grey images expand to three equal channels, or are refused under grey: fail', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const p = join(dir, 'grey.png');
    await writeSolid(p, 6, 6, [77]);
    assert.equal((await imageInfo(p)).channels, 1);
    const out = await loadImage(p, { size: 6 });
    for (let i = 0; i < 36; i++) for (let c = 0; c < 3; c++) assert.ok(near(out[c * 36 + i], norm(77, c), 1e-6));
    await assert.rejects(loadImage(p, { size: 6, grey: 'fail' }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'E_IMAGE_CHANNELS' && e.path === p);
    // Grey + alpha and 16-bit grey also count as grey; alpha is dropped.
    const ga = join(dir, 'ga.png');
    await writeFile(ga, await sharp(Buffer.alloc(4 * 4 * 2, 200), { raw: { width: 4, height: 4, channels: 2 } }).toColourspace('b-w').png().toBuffer());
    const rgb = await loadRgb(ga, { size: 4 });
    assert.deepEqual(Array.from(rgb.data.subarray(0, 3)), [200, 200, 200]);
  } finally {
    await cleanup();
  }
});

test('unreadable, truncated and missing files give errors that name the path', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const good = join(dir, 'ok.png');
    await writeRaw(good, new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) % 251), 64, 64, 3);
    const bytes = await sharp(good).png().toBuffer();
    const cut = join(dir, 'cut.png');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(loadImage(cut, { size: 32 }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'E_IMAGE_TRUNCATED' && e.path === cut && e.message.startsWith(cut));
    const jpg = join(dir, 'ok.jpg');
    await writeRaw(jpg, new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) % 251), 64, 64, 3);
    const jbytes = await sharp(jpg).jpeg().toBuffer();
    const jcut = join(dir, 'cut.jpg');
    await writeFile(jcut, jbytes.subarray(0, Math.floor(jbytes.length * 0.6)));
    await assert.rejects(loadImage(jcut, { size: 32 }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'E_IMAGE_TRUNCATED');
    const junk = join(dir, 'junk.png');
    await writeFile(junk, 'this is not an image');
    await assert.rejects(loadImage(junk, { size: 32 }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'E_IMAGE_UNREADABLE' && /junk\.png: not a supported image/.test(e.message));
    const missing = join(dir, 'nope.png');
    await assert.rejects(loadImage(missing, { size: 32 }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'E_IMAGE_UNREADABLE' && /nope\.png: cannot read image: file does not exist/.test(e.message));
  } finally {
    await cleanup();
  }
});

test('masks: nearest resize, same centre crop as the image, binarised at 0.5 or at non-zero', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // 16×8 mask, 255 in x∈[4,8) y∈[2,6): after crop to 8 (columns 4..11) then resize to 4.
    const p = join(dir, 'm.png');
    await writeMask(p, 16, 8, [4, 2, 8, 6]);
    const m8 = await loadMask(p, { size: 8 });
    const expected8 = Array.from({ length: 64 }, (_, i) => ((i % 8) < 4 && Math.floor(i / 8) >= 2 && Math.floor(i / 8) < 6 ? 1 : 0));
    assert.deepEqual(Array.from(m8), expected8);
    const m4 = await loadMask(p, { size: 4 });
    // Resized to 8×4 (nearest: source column 2x, row 2y), cropped columns 2..5 → source columns 4..10.
    assert.deepEqual(Array.from(m4), [0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
    assert.ok(m4.every((v) => v === 0 || v === 1));
    // Low values (VisA-style region indices) count only under 'nonzero'.
    const low = join(dir, 'low.png');
    await writeRaw(low, new Uint8Array([0, 1, 2, 0, 0, 0, 130, 127, 0]), 3, 3, 1);
    assert.deepEqual(Array.from(await loadMask(low, { size: 3 })), [0, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(Array.from(await loadMask(low, { size: 3, threshold: 'nonzero' })), [0, 1, 1, 0, 0, 0, 1, 1, 0]);
    assert.deepEqual(Array.from(await loadMask(undefined, { size: 2 })), [0, 0, 0, 0]);
    await assert.rejects(loadMask(join(dir, 'none.png'), { size: 4 }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'E_MASK_UNREADABLE');
  } finally {
    await cleanup();
  }
});
