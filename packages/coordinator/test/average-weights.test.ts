import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSafetensors, writeSafetensors, type SafeTensor } from '@pmamba/model';
import { averageWeights } from '../src/average-weights.ts';
import { AverageWeightsError } from '../src/errors.ts';

function file(w: number[], frozen: number[], steps: bigint, meta: Record<string, string> = {}): Uint8Array {
  const tensors = new Map<string, SafeTensor>([
    ['net_s.w', { dtype: 'F32', shape: [2, 2], data: Float32Array.from(w) }],
    ['net_t.bn.running_var', { dtype: 'F32', shape: [2], data: Float32Array.from(frozen) }],
    ['net_t.bn.num_batches_tracked', { dtype: 'I64', shape: [], data: BigInt64Array.of(steps) }],
  ]);
  return writeSafetensors(tensors, meta);
}

describe('averageWeights', () => {
  it('weights each input by its samples', () => {
    const a = file([1, 2, 3, 4], [0.1, 0.2], 5n, { 'pmamba.model_config': '{}' });
    const b = file([5, 6, 7, 8], [0.1, 0.2], 9n);
    const out = readSafetensors(averageWeights([{ bytes: a, samples: 30 }, { bytes: b, samples: 10 }]));
    // 0.75·a + 0.25·b
    assert.deepEqual([...(out.tensors.get('net_s.w')!.data as Float32Array)], [2, 3, 4, 5]);
    assert.deepEqual(out.tensors.get('net_s.w')!.shape, [2, 2]);
    // Integer buffers come from the first input, metadata too.
    assert.deepEqual([...(out.tensors.get('net_t.bn.num_batches_tracked')!.data as BigInt64Array)], [5n]);
    assert.equal(out.metadata['pmamba.model_config'], '{}');
  });

  it('copies tensors no job changed bit for bit', () => {
    // 0.1 is not exact in float32; a weighted mean of equal values could round differently.
    const frozen = [0.1, 1 / 3];
    const out = readSafetensors(
      averageWeights([
        { bytes: file([1, 1, 1, 1], frozen, 1n), samples: 7 },
        { bytes: file([2, 2, 2, 2], frozen, 1n), samples: 3 },
        { bytes: file([3, 3, 3, 3], frozen, 1n), samples: 11 },
      ]),
    );
    assert.deepEqual(out.tensors.get('net_t.bn.running_var')!.data, Float32Array.from(frozen));
  });

  it('names the input and tensor that do not fit', () => {
    const a = file([1, 2, 3, 4], [0, 0], 1n);
    const other = readSafetensors(file([1, 2, 3, 4], [0, 0], 1n));
    other.tensors.set('net_s.w', { dtype: 'F32', shape: [4], data: new Float32Array(4) });
    const b = writeSafetensors(other.tensors);
    assert.throws(
      () => averageWeights([{ bytes: a, samples: 1, source: 'w0' }, { bytes: b, samples: 1, source: 'w1' }]),
      (e: AverageWeightsError) => e.code === 'E_WEIGHTS_INCOMPATIBLE' && /w1: net_s\.w is F32\[4\], expected F32\[2,2\]/.test(e.message),
    );
    assert.throws(() => averageWeights([{ bytes: a, samples: 0, source: 'w0' }]), /w0: samples must be a positive number/);
  });
});
