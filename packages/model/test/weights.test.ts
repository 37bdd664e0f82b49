import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  PyramidMamba, WeightsMismatchError, exportStateDict, isEncoderOnly, presetConfig, readSafetensors,
  writeSafetensors, type SafeTensor,
} from '../src/index.ts';
import { importEncoderStateDict, importStateDict } from '../src/weights/state-dict.ts';

before(async () => {
  await (await import('../src/backend.ts')).useBackend('wasm');
});

test('safetensors round-trips F32, I64, F16 and BF16 with metadata, laid out by item size', () => {
  const tensors = new Map<string, SafeTensor>([
    ['b.f32', { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, -2, 3.5, 0) }],
    ['a.i64', { dtype: 'I64', shape: [3], data: BigInt64Array.of(0n, 1n, -5n) }],
    ['c.u8', { dtype: 'U8', shape: [1], data: Uint8Array.of(7) }],
  ]);
  const bytes = writeSafetensors(tensors, { format: 'pt', note: 'x' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0);
  const back = readSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: 'pt', note: 'x' });
  assert.deepEqual([...(back.tensors.get('b.f32')!.data as Float32Array)], [1, -2, 3.5, 0]);
  assert.deepEqual([...(back.tensors.get('a.i64')!.data as BigInt64Array)], [0n, 1n, -5n]);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  assert.deepEqual(header['a.i64'].data_offsets, [0, 24], 'the 8-byte dtype comes first');
  // Half precision files decode to float32.
  const f16 = new Map<string, SafeTensor>([['h', { dtype: 'F16', shape: [3], data: new Uint8Array(Uint16Array.of(0x3c00, 0xc000, 0x3555).buffer) }],
    ['g', { dtype: 'BF16', shape: [2], data: new Uint8Array(Uint16Array.of(0x3f80, 0xc040).buffer) }]]);
  const h = readSafetensors(writeSafetensors(f16));
  assert.deepEqual([...(h.tensors.get('h')!.data as Float32Array)].map((v) => +v.toFixed(4)), [1, -2, 0.3333]);
  assert.deepEqual([...(h.tensors.get('g')!.data as Float32Array)], [1, -3]);
  assert.throws(() => readSafetensors(new Uint8Array(4), 'tiny.safetensors'), /tiny\.safetensors: too short/);
  // A Node Buffer (what readFileSync returns), also as a view into a larger allocation.
  const inBuffer = Buffer.concat([Buffer.alloc(5), Buffer.from(bytes)]).subarray(5);
  assert.deepEqual([...(readSafetensors(Buffer.from(bytes)).tensors.get('b.f32')!.data as Float32Array)], [1, -2, 3.5, 0]);
  assert.deepEqual([...(readSafetensors(inBuffer).tensors.get('b.f32')!.data as Float32Array)], [1, -2, 3.5, 0]);
});

test('a name or shape mismatch is one error listing everything that differs', () => {
  const model = new PyramidMamba(presetConfig('small'));
  const sd = exportStateDict(model.params);
  sd.delete('mff_oce.conv1.weight');
  sd.set('net_s.layers_up.0.blocks.0.finalconv11.bias', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
  sd.set('extra.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  sd.set('net_s.layers_up.0.blocks.0.smm_blocks.0.self_attention.scans.index_flat9', { dtype: 'I64', shape: [1], data: new BigInt64Array(1) });
  assert.throws(() => importStateDict(model.params, sd, 'w.safetensors'), (e: unknown) => {
    assert.ok(e instanceof WeightsMismatchError);
    assert.equal(e.code, 'E_WEIGHTS_MISMATCH');
    assert.match(e.message, /w\.safetensors do not match the model/);
    assert.match(e.message, /missing \(1\): mff_oce\.conv1\.weight/);
    assert.match(e.message, /shape mismatch \(1\): net_s\.layers_up\.0\.blocks\.0\.finalconv11\.bias: file \[3\], model \[512\]/);
    assert.match(e.message, /unexpected \(1\): extra\.weight/);
    assert.doesNotMatch(e.message, /index_flat9/, 'scan-index entries are ignored by name');
    return true;
  });
  model.dispose();
});

test('torchvision/timm encoder files (with fc and layer4) load into the teacher', () => {
  const src = new PyramidMamba(presetConfig('small'), 1);
  const dst = new PyramidMamba(presetConfig('small'), 2);
  const enc = new Map<string, SafeTensor>();
  for (const [name, t] of exportStateDict(src.params)) if (name.startsWith('net_t.')) enc.set(name.slice(6), t);
  enc.set('fc.weight', { dtype: 'F32', shape: [1000, 512], data: new Float32Array(512000) });
  enc.set('layer4.0.conv1.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  assert.ok(isEncoderOnly(enc));
  const report = importEncoderStateDict(dst.params, enc);
  assert.deepEqual(report.ignored.sort(), ['fc.weight', 'layer4.0.conv1.weight']);
  const x = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const a = tf.tidy(() => src.teacher(x)[2].dataSync());
  const b = tf.tidy(() => dst.teacher(x)[2].dataSync());
  assert.deepEqual(b, a);
  enc.delete('layer1.0.bn1.running_var');
  assert.throws(() => importEncoderStateDict(dst.params, enc, 'r18.safetensors'), /r18\.safetensors do not match[\s\S]*missing \(1\): layer1\.0\.bn1\.running_var/);
  x.dispose();
  src.dispose();
  dst.dispose();
});
