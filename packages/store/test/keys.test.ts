import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys } from '../src/index.ts';
import { validateKey, validatePrefix, joinKey } from '../src/key-path.ts';

describe('artifact keys', () => {
  it('are deterministic paths under runs/<id>/', () => {
    assert.equal(keys.runRecordKey('paper-1'), 'runs/paper-1/run.json');
    assert.equal(keys.runManifestKey('paper-1'), 'runs/paper-1/manifest.json');
    assert.equal(keys.roundPrefix('paper-1', 12), 'runs/paper-1/rounds/12/');
    assert.equal(keys.jobWeightsKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/shard-07.safetensors');
    assert.equal(keys.jobResultKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/shard-07.json');
    assert.equal(keys.checkpointWeightsKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/checkpoints/shard-07.safetensors');
    assert.equal(keys.checkpointStateKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/checkpoints/shard-07.json');
    assert.equal(keys.checkpointTrainerKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/checkpoints/shard-07.trainer.safetensors');
    assert.equal(keys.jobTrainerKey('paper-1', 3, 'shard-07'), 'runs/paper-1/rounds/3/shard-07.trainer.safetensors');
    assert.equal(keys.mergedTrainerKey('paper-1', 3, 'cable'), 'runs/paper-1/rounds/3/merged/cable.trainer.safetensors');
    assert.equal(keys.mergedWeightsKey('paper-1', 3), 'runs/paper-1/rounds/3/merged/unified.safetensors');
    assert.equal(keys.mergedWeightsKey('paper-1', 3, 'metal_nut'), 'runs/paper-1/rounds/3/merged/metal_nut.safetensors');
    assert.equal(keys.roundManifestKey('paper-1', 0), 'runs/paper-1/rounds/0/merged/unified.manifest.json');
    assert.equal(keys.evalMetricsKey('paper-1', 'bottle'), 'runs/paper-1/eval/bottle/metrics.json');
    assert.equal(keys.heatmapKey('paper-1', 'bottle', '000.png'), 'runs/paper-1/eval/bottle/heatmaps/000.png');
    assert.equal(keys.reportKey('paper-1', 'html'), 'runs/paper-1/report/report.html');
  });

  it('are always valid keys, and reject ids that would change the path', () => {
    assert.equal(validateKey(keys.jobWeightsKey('a', 0, 'b')), 'runs/a/rounds/0/b.safetensors');
    const badIds = ['', '..', 'a/b', 'a.b', '-a', 'a b', 'x'.repeat(129), 'a\0'];
    for (const id of badIds) {
      assert.throws(() => keys.runRecordKey(id), { code: 'E_STORE_KEY' }, `run id ${JSON.stringify(id)}`);
      assert.throws(() => keys.jobWeightsKey('run', 0, id), { code: 'E_STORE_KEY' }, `job id ${JSON.stringify(id)}`);
    }
    for (const r of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => keys.roundPrefix('run', r), { code: 'E_STORE_KEY' });
    }
    for (const name of ['..', 'a/b', '', '.pmamba-meta.x']) {
      assert.throws(() => keys.evalMetricsKey('run', name), { code: 'E_STORE_KEY' });
      assert.throws(() => keys.mergedWeightsKey('run', 0, name), { code: 'E_STORE_KEY' });
    }
    assert.throws(() => keys.reportKey('run', 'pdf' as 'md'), { code: 'E_STORE_KEY' });
  });
});

describe('key syntax', () => {
  it('accepts relative slash-separated keys', () => {
    for (const key of ['a', 'a/b/c.bin', 'runs/x/rounds/0/j.safetensors', 'dots.in.name', '.hidden', 'sp ace/é/𝔸', '..a/b..']) {
      assert.equal(validateKey(key), key);
    }
  });

  it('rejects escapes and unsafe characters, naming the key and the reason', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['..', /"\.\." segment/],
      ['a/../b', /"\.\." segment/],
      ['./a', /"\." segment/],
      ['/abs', /absolute/],
      ['C:/win', /absolute/],
      ['a\\..\\b', /backslash/],
      ['a\0b', /NUL/],
      ['a\nb', /control/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['a/.pmamba-tmp.x', /reserved/],
      ['\ud800', /Unicode/],
      ['x'.repeat(201), /segment is longer/],
      [`${'x/'.repeat(600)}x`, /longer than 1024/],
    ];
    for (const [key, why] of cases) {
      assert.throws(() => validateKey(key), (err: { code?: string; key?: string; message?: string }) => {
        assert.equal(err.code, 'E_STORE_KEY');
        assert.equal(err.key, key);
        assert.match(err.message ?? '', why, `${JSON.stringify(key)}: ${err.message}`);
        return true;
      });
    }
    assert.throws(() => validateKey(42), { code: 'E_STORE_KEY' });
  });

  it('accepts listing prefixes that end mid-segment or with a slash', () => {
    for (const prefix of ['', 'runs/', 'runs/ab', 'runs/a/rounds/1']) assert.equal(validatePrefix(prefix), prefix);
    for (const prefix of ['/runs', '../', 'runs//', 'runs/..', 'a\\b']) {
      assert.throws(() => validatePrefix(prefix), { code: 'E_STORE_KEY' }, prefix);
    }
    assert.equal(joinKey('', 'k'), 'k');
    assert.equal(joinKey('p/q', 'k'), 'p/q/k');
  });
});
