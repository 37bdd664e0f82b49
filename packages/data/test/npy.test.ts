import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeNpy, npyToFloat32, npyToFloat64, readNpy, writeNpy } from '@pmamba/data';
import { NpyError } from '../src/errors.ts';
import { parseNpy } from '../src/npy.ts';
import { tempDir } from './support/helpers.ts';

// Bytes written by numpy 2.4 `np.save` (base64), so the parser is checked against the real thing.
const NUMPY = {
  f4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAA/AACgvwAAQEBvEoM6AAAgQAAAAIA=',
  i8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDUsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAP3/////////',
  b1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAB',
  f8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqamZmZmZm5P5qZmZmZmck/',
  u1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQIDBAU=',
  fortran: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAABAQAAAgD8AAIBAAAAAQAAAoEA=',
  bigEndian: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/wAAAwAAAAA==',
  f4x234: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMsIDQpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPwAAAEAAAEBAAACAQAAAoEAAAMBAAADgQAAAAEEAABBBAAAgQQAAMEEAAEBBAABQQQAAYEEAAHBBAACAQQAAiEEAAJBBAACYQQAAoEEAAKhBAACwQQAAuEE=',
  bool3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAE=',
};
const bytes = (k: keyof typeof NUMPY): Uint8Array => new Uint8Array(Buffer.from(NUMPY[k], 'base64'));

test('reads numpy float32, float64, int64, bool and uint8 files with their shapes', () => {
  const f4 = parseNpy(bytes('f4'));
  assert.equal(f4.dtype, 'float32');
  assert.deepEqual(f4.shape, [2, 3]);
  assert.deepEqual(Array.from(f4.data as Float32Array), [0.5, -1.25, 3, Math.fround(1e-3), 2.5, -0]);

  const i8 = parseNpy(bytes('i8'));
  assert.equal(i8.dtype, 'int64');
  assert.deepEqual(Array.from(npyToFloat64(i8.data)), [0, 1, 1, 0, -3]);

  const b1 = parseNpy(bytes('b1'));
  assert.equal(b1.dtype, 'bool');
  assert.deepEqual(Array.from(b1.data as Uint8Array), [1, 0, 0, 1]);

  const f8 = parseNpy(bytes('f8'));
  assert.deepEqual(Array.from(f8.data as Float64Array), [0.1, 0.2]);
  assert.deepEqual(Array.from(npyToFloat32(f8.data)), [Math.fround(0.1), Math.fround(0.2)]);

  const u1 = parseNpy(bytes('u1'));
  assert.deepEqual(u1.shape, [1, 2, 3]);
  assert.deepEqual(Array.from(u1.data as Uint8Array), [0, 1, 2, 3, 4, 5]);
});

test('big-endian data is byte-swapped; Fortran order is refused with a clear error', () => {
  assert.deepEqual(Array.from(parseNpy(bytes('bigEndian')).data as Float32Array), [1.5, -2]);
  assert.throws(
    () => parseNpy(bytes('fortran'), 'maps.npy'),
    (e: unknown) => e instanceof NpyError && e.code === 'E_NPY_FORMAT' && /maps\.npy: Fortran-ordered/.test(e.message),
  );
});

test('writes the same bytes numpy writes', () => {
  const f = new Float32Array(24).map((_, i) => i);
  assert.deepEqual(encodeNpy(f, [2, 3, 4]), bytes('f4x234'));
  assert.deepEqual(encodeNpy(new Uint8Array([1, 0, 1]), [3], 'bool'), bytes('bool3'));
});

test('round-trips files of every written dtype, and rejects bad shapes and truncated files', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cases = [
      [new Float32Array([1.5, -2, 3e-8, 7, 8, 9]), [3, 2]],
      [new Uint8Array([0, 255, 7]), [3]],
      [new Float64Array([Math.PI]), [1, 1]],
      [new BigInt64Array([-5n, 9n]), [2]],
      [new Int32Array([-1, 2, 3, 4]), [2, 2]],
    ] as const;
    for (const [i, [data, shape]] of cases.entries()) {
      const path = join(dir, `a${i}.npy`);
      writeNpy(path, data, shape);
      const back = readNpy(path);
      assert.deepEqual(back.shape, shape);
      assert.deepEqual(Array.from(back.data as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>));
      const fromBytes = readNpy(new Uint8Array(await readFile(path)));
      assert.deepEqual(fromBytes.shape, shape);
    }
    assert.throws(() => writeNpy(join(dir, 'bad.npy'), new Float32Array(5), [2, 3]), (e: unknown) => e instanceof NpyError && e.code === 'E_NPY_SHAPE');
    const cut = bytes('f4').subarray(0, 140);
    assert.throws(() => parseNpy(cut, 'cut.npy'), /cut\.npy: truncated npy data/);
    assert.throws(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 'x.npy'), /not a \.npy file/);
    assert.throws(() => readNpy(join(dir, 'missing.npy')), (e: unknown) => e instanceof NpyError && /missing\.npy/.test(e.message));
  } finally {
    await cleanup();
  }
});

test('a 0-d array and a version 2.0 header are read', () => {
  const v1 = encodeNpy(new Float32Array([3.5]), []);
  assert.deepEqual(parseNpy(v1).shape, []);
  // Rebuild the same header as format 2.0 (4-byte header length).
  const headerLen = v1[8] | (v1[9] << 8);
  const v2 = new Uint8Array(v1.length + 2);
  v2.set(v1.subarray(0, 6));
  v2[6] = 2;
  new DataView(v2.buffer).setUint32(8, headerLen, true);
  v2.set(v1.subarray(10), 12);
  const a = parseNpy(v2);
  assert.equal((a.data as Float32Array)[0], 3.5);
});
