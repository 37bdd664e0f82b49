import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { crc32, deflateRawSync, gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import {
  PyramidMamba, loadTeacherWeights, nchwToNhwc, presetConfig, readTeacherWeights, useBackend, type SafeTensor,
} from '../src/index.ts';
import { ParamRegistry } from '../src/params.ts';
import { PthGlobalError, PthError, TeacherArchError, ZipError } from '../src/errors.ts';
import { readPth } from '../src/weights/pth.ts';
import { ResNetEncoder } from '../src/encoder/resnet.ts';
import { readZipDirectory, readZipEntry } from '../src/weights/zip.ts';

// Written by fixtures/teacher/make_teacher_fixture.py with torch 1.13 / torchvision 0.14.
const FIXTURES = new URL('./fixtures/teacher/', import.meta.url);
const file = (name: string): Uint8Array => {
  const b = readFileSync(new URL(name, FIXTURES));
  return name.endsWith('.gz') ? gunzipSync(b) : b;
};

/** A little-endian float32 C-order .npy file. */
function npy(name: string): { shape: number[]; data: Float32Array } {
  const buf = readFileSync(new URL(name, FIXTURES));
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  assert.match(header, /'descr': '<f4', 'fortran_order': False/, `${name} must be little-endian C-order float32`);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').filter((s) => s.trim()).map(Number);
  return { shape, data: new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLen, buf.byteOffset + buf.length)) };
}

/** A zip archive of the given entries, stored or deflated (what any zip tool may write). */
function zip(entries: [string, Uint8Array][], deflate: boolean): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const body = deflate ? deflateRawSync(data) : Buffer.from(data);
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    local.copy(dir, 10, 8, 26); // method, time, date, crc, sizes
    dir.writeUInt16LE(n.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, n, body);
    central.push(dir, n);
    offset += 30 + n.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

const values = (t: SafeTensor) => Array.from(t.data as ArrayLike<number | bigint>);

let pth: Uint8Array;
let safetensors: Uint8Array;
let main: Map<string, SafeTensor>;

before(async () => {
  await useBackend('wasm');
  pth = file('resnet18.pth.gz');
  safetensors = file('resnet18.safetensors.gz');
  main = readTeacherWeights(pth, 'resnet18.pth');
});

test('a torch.save .pth and a safetensors file of one torchvision resnet18 read to identical tensors', () => {
  const st = readTeacherWeights(safetensors, 'resnet18.safetensors');
  assert.equal(main.size, 92, 'stem, layer1..3 (BN running stats and counters included) and fc');
  assert.deepEqual([...main.keys()].sort(), [...st.keys()].sort());
  for (const [name, t] of main) assert.deepEqual(st.get(name), t, name);
  assert.equal(main.get('layer3.1.bn2.num_batches_tracked')!.dtype, 'I64');
  assert.deepEqual(main.get('fc.weight')!.shape, [1000, 512]);
});

test('a resnet18 teacher loaded from either file gives torchvision\'s layer1..3 features', (t) => {
  const model = new PyramidMamba(presetConfig('small'));
  const input = npy('input.npy');
  const expected = [1, 2, 3].map((i) => npy(`layer${i}.npy`));
  const x = tf.tidy(() => nchwToNhwc(tf.tensor4d(input.data, input.shape as [number, number, number, number])));
  for (const [name, bytes] of [['resnet18.pth', pth], ['resnet18.safetensors', safetensors]] as const) {
    const report = loadTeacherWeights(model, bytes, name);
    assert.equal(report.loaded, model.params.under('net_t.').length);
    assert.deepEqual(report.ignored.sort(), ['fc.bias', 'fc.weight']);
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => model.teacher(x).map((f) => tf.transpose(f, [0, 3, 1, 2]).dataSync() as Float32Array));
    assert.equal(tf.memory().numTensors, before);
    got.forEach((g, i) => {
      const e = expected[i].data;
      let maxAbs = 0;
      let maxRef = 0;
      for (let j = 0; j < e.length; j++) {
        maxAbs = Math.max(maxAbs, Math.abs(g[j] - e[j]));
        maxRef = Math.max(maxRef, Math.abs(e[j]));
      }
      t.diagnostic(`${name} layer${i + 1}: max |err| ${maxAbs.toExponential(2)}, relative to max |ref| ${maxRef.toFixed(2)}: ${(maxAbs / maxRef).toExponential(2)}`);
      assert.ok(maxAbs <= 1e-5 * maxRef, `${name} layer${i + 1}: max |err| ${maxAbs} vs max |ref| ${maxRef}`);
    });
  }
  x.dispose();
  model.dispose();
});

test('checkpoint dicts, half / bfloat16 / double storages, strided views and the legacy format read right', () => {
  const half = readPth(file('checkpoint_half.pth'), 'checkpoint_half.pth');
  assert.deepEqual([...half.keys()], ['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var',
    'bn1.num_batches_tracked', 'layer1.0.bn1.running_mean', 'layer1.0.bn1.running_var', 'layer2.0.downsample.0.weight']);
  assert.deepEqual([...half.values()].map((t) => t.dtype), ['F16', 'BF16', 'BF16', 'F64', 'F16', 'I64', 'F32', 'F32', 'F32']);
  const legacy = readTeacherWeights(file('legacy.pth'), 'legacy.pth');
  assert.equal(legacy.size, 8);
  // Channels-last float16, offset views into a shared storage, doubled strides: all equal the plain file.
  for (const [name, t] of [...half, ...legacy]) {
    const ref = main.get(name)!;
    assert.deepEqual(t.shape, ref.shape, name);
    assert.ok(t.data instanceof (ref.dtype === 'I64' ? BigInt64Array : Float32Array), `${name} decodes like its plain counterpart`);
    assert.deepEqual(values(t), values(ref), name);
  }
  // The same archive with deflated entries (as a zip tool may rewrite it).
  const bytes = file('checkpoint_half.pth');
  const entries = [...readZipDirectory(bytes, 'x').values()].map((e): [string, Uint8Array] => [e.name, readZipEntry(bytes, e, 'x')]);
  assert.deepEqual(readPth(zip(entries, true), 'deflated.pth'), half);
});

test('a pickle naming any global outside the state-dict whitelist is refused, never run', () => {
  // torch.save layout around a pickle of os.system('ls'): GLOBAL 'os system', ('ls',), REDUCE.
  const evil = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cos\nsystem\nX'), Buffer.from([2, 0, 0, 0]), Buffer.from('ls'), Buffer.from([0x85, 0x52, 0x2e])]);
  for (const deflate of [false, true]) {
    const bytes = zip([['evil/data.pkl', evil], ['evil/version', Buffer.from('3\n')]], deflate);
    assert.throws(() => readTeacherWeights(bytes, 'evil.pth'), (e: unknown) => {
      assert.ok(e instanceof PthGlobalError);
      assert.equal(e.code, 'E_PTH_GLOBAL_REFUSED');
      assert.match(e.message, /^evil\.pth: the pickle refers to os\.system, which is not part of a state dict/);
      return true;
    });
  }
  const noPickle = zip([['a/weights.bin', new Uint8Array(8)]], false);
  assert.throws(() => readPth(noPickle, 'x.zip'), (e: unknown) => e instanceof PthError && e.code === 'E_PTH_INVALID' && /x\.zip: the zip holds no <name>\/data\.pkl/.test(e.message));
});

test('truncated and corrupt files fail with coded errors naming the file and the fix', () => {
  assert.throws(() => readTeacherWeights(pth.subarray(0, pth.length >> 1), 'cut.pth'), (e: unknown) => {
    assert.ok(e instanceof ZipError);
    assert.equal(e.code, 'E_ZIP_INVALID');
    assert.match(e.message, /^cut\.pth: no zip end-of-central-directory record; the file is truncated/);
    return true;
  });
  const flipped = Uint8Array.from(file('checkpoint_half.pth'));
  flipped[2000] ^= 1;
  assert.throws(() => readPth(flipped, 'flip.pth'), /flip\.pth: zip entry checkpoint_half\/data\/0 fails its size or CRC check/);
  const legacy = file('legacy.pth');
  assert.throws(() => readTeacherWeights(legacy.subarray(0, legacy.length - 100), 'cut-legacy.pth'), (e: unknown) => {
    assert.ok(e instanceof PthError);
    assert.equal(e.code, 'E_PTH_INVALID');
    assert.match(e.message, /^cut-legacy\.pth: storage \d+ \(\d+ bytes\) is cut off; the file is truncated/);
    return true;
  });
  assert.throws(() => readTeacherWeights(legacy.subarray(0, 300), 'cut-pickle.pth'), (e: unknown) => {
    assert.equal((e as { code?: string }).code, 'E_PICKLE_INVALID');
    assert.match((e as Error).message, /^cut-pickle\.pth \(data\): pickle is truncated/);
    return true;
  });
  assert.throws(() => readTeacherWeights(safetensors.subarray(0, 1000), 'cut.safetensors'), { code: 'E_SAFETENSORS_INVALID' });
});

test('resnet18 weights into a resnet50 teacher fail naming both architectures', () => {
  // The teacher alone (a whole resnet50 model takes seconds to initialise).
  const model = { params: new ParamRegistry(), config: presetConfig('small', { encoder: 'resnet50' }) };
  new ResNetEncoder(model.params, 'resnet50');
  assert.throws(() => loadTeacherWeights(model, pth, 'resnet18.pth'), (e: unknown) => {
    assert.ok(e instanceof TeacherArchError);
    assert.equal(e.code, 'E_TEACHER_ARCH_MISMATCH');
    assert.match(e.message, /^resnet18\.pth holds resnet18 weights but the model's teacher is resnet50: set the model config's encoder to 'resnet18'/);
    return true;
  });
  model.params.dispose();
});
