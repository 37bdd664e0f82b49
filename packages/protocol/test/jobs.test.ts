import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PayloadError, ProtocolError, QUEUE_NAMES, parseJobPayload, parseJobResult, parseCheckpointState,
  parseEvaluationRecord, parseRoundManifest, parseRunConfig, parseRunManifest, parseRunRecord,
  redisConnectionFromUrl, type QueueName, type RunRecord,
} from '../src/index.ts';
import { JOB_SCHEMAS } from '../src/jobs.ts';
import { PAYLOADS, RESULTS, ref, spec } from './support/examples.ts';

describe('queues and job schemas', () => {
  it('has one queue per job kind, each with a payload and a result schema', () => {
    assert.deepEqual(Object.values(QUEUE_NAMES).sort(), ['aggregate', 'evaluate', 'fit-map', 'report', 'teacher-pretrain', 'train-shard']);
    for (const queue of Object.values(QUEUE_NAMES)) {
      assert.ok(JOB_SCHEMAS[queue].payload && JOB_SCHEMAS[queue].result);
      // BullMQ uses ':' as its key separator.
      assert.ok(!queue.includes(':'));
    }
  });

  it('accepts valid payloads and results unchanged', () => {
    for (const queue of Object.values(QUEUE_NAMES) as QueueName[]) {
      assert.deepEqual(parseJobPayload(queue, PAYLOADS[queue]), PAYLOADS[queue]);
      assert.deepEqual(parseJobResult(queue, RESULTS[queue]), RESULTS[queue]);
    }
  });

  it('takes shards in the shape @pmamba/data plans them', () => {
    const shard = { id: 'metal_nut/3', className: 'metal_nut', index: 3, items: ['metal_nut/train/good/012.png'] };
    const payload = parseJobPayload('train-shard', { ...PAYLOADS['train-shard'], shards: [shard] });
    assert.deepEqual(payload.shards, [shard]);
  });

  it('starts round 0 from no weights, and defaults resumedFromStep to 0', () => {
    assert.equal(parseJobPayload('train-shard', { ...PAYLOADS['train-shard'], round: 0, init: null }).init, null);
    const { resumedFromStep, ...fresh } = RESULTS['train-shard'];
    assert.equal(resumedFromStep, 10);
    assert.equal(parseJobResult('train-shard', fresh).resumedFromStep, 0);
  });

  it('explains a bad payload by queue, job and field', () => {
    const base = PAYLOADS['train-shard'];
    const payload = { ...base, localEpochs: 2, shards: [], spec: { ...base.spec, batchSize: 0 } };
    assert.throws(() => parseJobPayload('train-shard', payload, 'quickstart.r2.w0'), (err: PayloadError) => {
      assert.equal(err.code, 'E_PAYLOAD_INVALID');
      assert.equal(err.queue, 'train-shard');
      assert.equal(
        err.message,
        'invalid payload for train-shard job quickstart.r2.w0:\n' +
          '  shards: expected at least one shard, got an empty list\n' +
          '  spec.batchSize: expected a positive integer, got 0\n' +
          '  localEpochs: set either localSteps or localEpochs, not both',
      );
      return true;
    });
    const { localSteps, ...noBudget } = PAYLOADS['train-shard'];
    assert.equal(localSteps, 20);
    assert.throws(() => parseJobPayload('train-shard', noBudget), /\(root\): set one of localSteps or localEpochs/);
    assert.throws(() => parseJobResult('train-shard', { ...RESULTS['train-shard'], loss: Number.NaN }), (err: PayloadError) => {
      assert.equal(err.code, 'E_RESULT_INVALID');
      assert.match(err.message, /loss: expected a finite, non-negative loss, got NaN/);
      return true;
    });
    assert.throws(() => parseJobResult('evaluate', { ...RESULTS.evaluate, metrics: { ...RESULTS.evaluate.metrics, i_auroc: 98.6 } }), /metrics\.i_auroc: expected a metric value in \[0, 1\] or null, got 98\.6/);
    assert.throws(() => parseJobPayload('trian-shard' as QueueName, {}), { code: 'E_QUEUE_UNKNOWN' });
  });
});

describe('run records and manifests', () => {
  const config = parseRunConfig({ run: { id: 'r1' }, dataset: { root: './data' }, training: { rounds: 2, localSteps: 3, workers: 2 } });
  const record: RunRecord = {
    kind: 'pmamba.run',
    version: 1,
    runId: 'r1',
    createdAt: '2025-06-01T12:00:00.000Z',
    config,
    plan: {
      mode: 'unified',
      classes: ['bottle', 'cable'],
      models: ['unified'],
      shards: [
        { id: 'bottle/0', className: 'bottle', index: 0, items: ['bottle/train/good/000.png'] },
        { id: 'cable/0', className: 'cable', index: 0, items: ['cable/train/good/000.png'] },
      ],
      rounds: 2,
      evaluationData: { fingerprint: 'e'.repeat(64), images: 2 },
    },
    spec: spec(),
    software: { pmamba: '0.1.0', node: process.version },
  };

  it('round-trips a run record through JSON', () => {
    assert.deepEqual(parseRunRecord(JSON.parse(JSON.stringify(record))), record);
  });

  it('validates round and run manifests', () => {
    const round = {
      kind: 'pmamba.round',
      version: 1,
      runId: 'r1',
      round: 1,
      model: 'unified',
      weights: ref('runs/r1/rounds/1/merged/unified.safetensors'),
      jobs: [
        { jobId: 'w0', weights: ref('runs/r1/rounds/1/w0.safetensors', 'b'), samples: 60, loss: 0.2 },
        { jobId: 'w1', weights: ref('runs/r1/rounds/1/w1.safetensors', 'c'), samples: 40, loss: 0.3 },
      ],
      samples: 100,
      loss: 0.24,
      createdAt: '2025-06-01T12:05:00Z',
    };
    assert.deepEqual(parseRoundManifest(round), round);
    const run = parseRunManifest({
      kind: 'pmamba.run-manifest',
      version: 1,
      runId: 'r1',
      rounds: 2,
      models: { unified: ref('runs/r1/rounds/1/merged/unified.safetensors') },
      createdAt: '2025-06-01T12:10:00Z',
    });
    assert.deepEqual(run.evaluation, {});
    assert.deepEqual(run.report, []);
  });

  it('validates evaluation records and checkpoint states, naming the bad field', () => {
    const evaluation = {
      kind: 'pmamba.evaluation',
      version: 1,
      runId: 'r1',
      className: 'bottle',
      model: 'unified',
      weights: ref('runs/r1/init.safetensors'),
      metrics: { i_auroc: 0.9, i_ap: 0.9, i_f1max: 0.8, p_auroc: 0.95, p_ap: 0.4, p_f1max: 0.45, au_pro: 0.8, mad: 0.74 },
      images: { normal: 10, anomalous: 10 },
      heatmaps: [{ artifact: ref('runs/r1/eval-at/0/bottle/heatmaps/crack_000.png', 'f'), caption: 'bottle/test/crack/000.png' }],
      curves: { image: { roc: { x: [0, 1], y: [0, 1] }, pr: { x: [0, 1], y: [1, 0.5] } }, pixel: { roc: { x: [0, 1], y: [0, 1] }, pr: { x: [0, 1], y: [1, 0] }, pro: { x: [0, 0.3], y: [0, 0.8] } } },
      durationMs: 1200,
      timings: { computeMs: 900, otherMs: 300 },
      backend: 'wasm',
      createdAt: '2025-06-01T12:06:00Z',
    };
    assert.deepEqual(parseEvaluationRecord(evaluation), { ...evaluation, skipped: [] });
    assert.throws(() => parseEvaluationRecord({ ...evaluation, metrics: { ...evaluation.metrics, mad: 74 } }, 'm.json'), /m\.json[\s\S]*metrics\.mad: expected a metric value in \[0, 1\] or null/);
    const checkpoint = {
      kind: 'pmamba.checkpoint',
      version: 1,
      runId: 'r1',
      round: 0,
      jobId: 'w0',
      step: 4,
      steps: 6,
      samples: 16,
      lossSum: 12.5,
      weights: ref('runs/r1/rounds/0/checkpoints/w0.safetensors'),
      init: null,
      createdAt: '2025-06-01T12:01:00Z',
    };
    assert.deepEqual(parseCheckpointState(checkpoint), checkpoint);
    assert.throws(() => parseCheckpointState({ ...checkpoint, step: 0 }), /step: expected a positive integer, got 0/);
    const withTrainer = { ...checkpoint, trainer: ref('runs/r1/rounds/0/checkpoints/w0.trainer.safetensors') };
    assert.deepEqual(parseCheckpointState(withTrainer), withTrainer);
    assert.throws(() => parseCheckpointState({ ...withTrainer, trainer: { key: 'k' } }, 'c.json'), /c\.json[\s\S]*trainer\.sha256/);
  });

  it('names the object and field of an invalid manifest', () => {
    const broken = { ...record, createdAt: 'yesterday', plan: { ...record.plan, rounds: 0 } };
    assert.throws(() => parseRunRecord(broken, 'runs/r1/run.json'), (err: ProtocolError) => {
      assert.equal(err.code, 'E_MANIFEST_INVALID');
      assert.equal(err.file, 'runs/r1/run.json');
      assert.equal(
        err.message,
        'invalid run record "runs/r1/run.json":\n' +
          '  createdAt: expected an ISO 8601 date-time such as 2025-01-31T12:00:00Z, got "yesterday"\n' +
          '  plan.rounds: expected a positive integer, got 0',
      );
      return true;
    });
  });
});

describe('Redis connection options', () => {
  it('reads host, port, credentials, database and TLS from the URL', () => {
    assert.deepEqual(redisConnectionFromUrl('redis://127.0.0.1:6380', {}), { host: '127.0.0.1', port: 6380, db: 0, maxRetriesPerRequest: null });
    assert.deepEqual(redisConnectionFromUrl('rediss://user:p%40ss@cache.example.com/3', {}), {
      host: 'cache.example.com',
      port: 6379,
      username: 'user',
      password: 'p@ss',
      db: 3,
      tls: { servername: 'cache.example.com' },
      maxRetriesPerRequest: null,
    });
    assert.equal(redisConnectionFromUrl('redis://[::1]:7000', {}).host, '::1');
    assert.equal(redisConnectionFromUrl('redis://h', { REDIS_PASSWORD: 'from-env' }).password, 'from-env');
  });

  it('rejects what it cannot use, without echoing the password', () => {
    for (const url of ['localhost:6379', 'http://h', 'redis://', 'redis://h/x', 'redis://u:secret@h/x']) {
      assert.throws(() => redisConnectionFromUrl(url, {}), (err: ProtocolError) => {
        assert.equal(err.code, 'E_REDIS_URL');
        assert.ok(!err.message.includes('secret'), err.message);
        return true;
      });
    }
  });
});
