/** Valid payloads, results and manifests, one per schema, for tests to start from. */
import { presetConfig } from '@pmamba/model/spec';
import { parseRunConfig, trainSpecOf, type ArtifactRef, type QueueName, type TeacherRef, type TrainSpec } from '../../src/index.ts';
import type { JobPayload, JobResult } from '../../src/jobs.ts';

export const sha = (c: string): string => c.repeat(64);

export const ref = (key: string, c = 'a', size = 1024): ArtifactRef => ({ key, sha256: sha(c), size });

const metrics = { i_auroc: 0.98, i_ap: 0.99, i_f1max: 0.97, p_auroc: 0.97, p_ap: 0.55, p_f1max: 0.58, au_pro: 0.92, mad: 0.851 };

const fp = sha('f');

/** The train spec of a small run on two MVTec classes, with the given teacher (default: random, Gaussian stem). */
export function spec(teacher: TeacherRef = { source: 'random', batchNorm: 'calibrate', stem: 'gaussian' }): TrainSpec {
  const config = parseRunConfig({ dataset: { root: '/data/mvtec', imageSize: 64 }, training: { rounds: 3, localSteps: 20, batchSize: 8, seed: 7 } });
  const dataset = { root: '/data/mvtec', format: 'mvtec', classes: ['bottle', 'cable'], badImagePolicy: 'fail' } as const;
  return trainSpecOf(config, { model: presetConfig('small'), dataset: { ...dataset, classes: [...dataset.classes] }, teacher });
}
const teacherPrefix = `teachers/self-supervised/${fp}/`;

export const PAYLOADS: { [Q in QueueName]: JobPayload<Q> } = {
  'teacher-pretrain': {
    fingerprint: fp,
    runId: 'quickstart',
    run: ref('runs/quickstart/run.json', '9'),
    spec: spec({ source: 'self-supervised', fingerprint: fp, batchNorm: 'calibrate', stem: 'gaussian' }),
    items: ['bottle/train/good/000.png', 'cable/train/good/007.png'],
    steps: 300,
    batchSize: 16,
    lr: 0.001,
    frozenStages: 2,
    seed: 7,
    checkpointEverySteps: 50,
    outputKey: `${teacherPrefix}teacher.safetensors`,
    recordKey: `${teacherPrefix}teacher.json`,
    checkpointKey: `${teacherPrefix}checkpoint.safetensors`,
    checkpointTrainerKey: `${teacherPrefix}checkpoint.trainer.safetensors`,
    checkpointStateKey: `${teacherPrefix}checkpoint.json`,
  },
  'train-shard': {
    runId: 'quickstart',
    round: 2,
    jobId: 'w0',
    model: 'unified',
    shards: [
      { id: 'bottle/0', className: 'bottle', index: 0, items: ['bottle/train/good/000.png', 'bottle/train/good/001.png'] },
      { id: 'cable/1', className: 'cable', index: 1, items: ['cable/train/good/007.png'] },
    ],
    init: ref('runs/quickstart/rounds/1/merged/unified.safetensors'),
    run: ref('runs/quickstart/run.json', '9'),
    spec: spec(),
    localSteps: 20,
    lr: 0.0025,
    seed: 7,
    outputKey: 'runs/quickstart/rounds/2/w0.safetensors',
    resultKey: 'runs/quickstart/rounds/2/w0.json',
    checkpointKey: 'runs/quickstart/rounds/2/checkpoints/w0.safetensors',
    checkpointTrainerKey: 'runs/quickstart/rounds/2/checkpoints/w0.trainer.safetensors',
    checkpointStateKey: 'runs/quickstart/rounds/2/checkpoints/w0.json',
    checkpointEverySteps: 10,
  },
  aggregate: {
    runId: 'quickstart',
    round: 2,
    model: 'unified',
    jobIds: ['w0', 'w1'],
    outputKey: 'runs/quickstart/rounds/2/merged/unified.safetensors',
    manifestKey: 'runs/quickstart/rounds/2/merged/unified.manifest.json',
    lastRound: false,
  },
  'fit-map': {
    runId: 'quickstart',
    model: 'unified',
    weights: ref('runs/quickstart/rounds/2/merged/unified.safetensors'),
    run: ref('runs/quickstart/run.json', '9'),
    items: ['bottle/train/good/000', 'cable/train/good/000'],
    map: { kind: 'residual-gaussian', scales: [0], shrinkage: 0.01 },
    outputKey: 'runs/quickstart/eval/unified.safetensors',
  },
  evaluate: {
    runId: 'quickstart',
    className: 'bottle',
    model: 'unified',
    weights: ref('runs/quickstart/rounds/2/merged/unified.safetensors'),
    run: ref('runs/quickstart/run.json', '9'),
    metricsKey: 'runs/quickstart/eval/bottle/metrics.json',
    heatmaps: 2,
    heatmapsPrefix: 'runs/quickstart/eval/bottle/heatmaps',
  },
  report: {
    runId: 'quickstart',
    classes: ['bottle', 'cable'],
    formats: ['md', 'json'],
    metricsKeys: { bottle: 'runs/quickstart/eval/bottle/metrics.json', cable: 'runs/quickstart/eval/cable/metrics.json' },
    reportKeys: { md: 'runs/quickstart/report/report.md', json: 'runs/quickstart/report/report.json' },
  },
};

export const RESULTS: { [Q in QueueName]: JobResult<Q> } = {
  'teacher-pretrain': {
    kind: 'pmamba.teacher',
    version: 1,
    fingerprint: fp,
    runId: 'quickstart',
    encoder: 'resnet18',
    imageSize: 64,
    teacher: ref(`${teacherPrefix}teacher.safetensors`, 'd'),
    images: 96,
    steps: 300,
    finalLoss: 0.71,
    resumedFromStep: 0,
    durationMs: 120000,
    backend: 'wasm',
    createdAt: '2026-12-06T12:00:00.000Z',
  },
  'train-shard': {
    runId: 'quickstart',
    round: 2,
    jobId: 'w0',
    weights: ref('runs/quickstart/rounds/2/w0.safetensors', 'b'),
    samples: 160,
    steps: 20,
    loss: 0.0831,
    resumedFromStep: 10,
    durationMs: 5120,
    backend: 'wasm',
  },
  aggregate: {
    runId: 'quickstart',
    round: 2,
    model: 'unified',
    weights: ref('runs/quickstart/rounds/2/merged/unified.safetensors', 'c'),
    samples: 320,
    loss: 0.08,
    manifest: ref('runs/quickstart/rounds/2/merged/unified.manifest.json', 'd', 600),
  },
  'fit-map': {
    runId: 'quickstart',
    model: 'unified',
    weights: ref('runs/quickstart/eval/unified.safetensors', 'a', 2000),
    images: 96,
    durationMs: 4000,
    backend: 'wasm',
  },
  evaluate: {
    runId: 'quickstart',
    className: 'bottle',
    metrics: { ...metrics, p_ap: null },
    images: { normal: 8, anomalous: 8 },
    metricsArtifact: ref('runs/quickstart/eval/bottle/metrics.json', 'e', 300),
    heatmaps: [ref('runs/quickstart/eval/bottle/heatmaps/000.png', 'f', 9000)],
    durationMs: 900,
  },
  report: {
    runId: 'quickstart',
    table: { classes: { bottle: metrics, cable: metrics }, mean: metrics },
    artifacts: [ref('runs/quickstart/report/report.md', '1', 700), ref('runs/quickstart/report/report.json', '2', 900)],
  },
};
