// The job metrics as progress reports and outcomes feed them, on a fake clock, and BullMQ's
// per-queue expositions merged into one that Prometheus accepts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobMetrics, imagesPerStep } from '../src/metrics/job-metrics.ts';
import { mergeExpositions } from '../src/metrics/queue-depth.ts';

/** A gauge's value for these labels. */
async function value(m: JobMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}

describe('JobMetrics', () => {
  it('measures seconds per step, images per second and the loss between progress reports', async () => {
    let now = 0;
    const m = new JobMetrics(['train-shard', 'evaluate'], () => now);
    m.progress('train-shard', 'r.r0.w0', { done: 0, total: 4, unit: 'steps' }, 8); // baseline
    now = 2000;
    m.progress('train-shard', 'r.r0.w0', { done: 2, total: 4, unit: 'steps', loss: 0.5 }, 8);
    assert.equal(await value(m, 'pmamba_images_per_second', { queue: 'train-shard' }), 8); // 2 steps × 8 images in 2 s
    assert.equal(await value(m, 'pmamba_train_loss', { queue: 'train-shard' }), 0.5);
    const text = await m.registry.metrics();
    assert.match(text, /pmamba_train_step_seconds_count\{queue="train-shard"\} 2/);
    assert.match(text, /pmamba_train_step_seconds_sum\{queue="train-shard"\} 2/);
    assert.match(text, /pmamba_train_step_seconds_bucket\{le="1",queue="train-shard"\} 2/);
    // A retry that went back to its checkpoint only sets a new baseline.
    now = 3000;
    m.progress('train-shard', 'r.r0.w0', { done: 1, total: 4, unit: 'steps', loss: 0.6 }, 8);
    assert.match(await m.registry.metrics(), /pmamba_train_step_seconds_count\{queue="train-shard"\} 2/);
    // Evaluation counts images.
    m.progress('evaluate', 'r.e0.evaluate-c0', { done: 0, total: 12, unit: 'images' });
    now = 3500;
    m.progress('evaluate', 'r.e0.evaluate-c0', { done: 6, total: 12, unit: 'images' });
    assert.equal(await value(m, 'pmamba_images_per_second', { queue: 'evaluate' }), 12);
    m.progress('evaluate', 'x', 'not a progress object');
  });

  it('counts outcomes per queue, every series present from the start', async () => {
    const m = new JobMetrics(['train-shard', 'evaluate']);
    assert.match(await m.registry.metrics(), /pmamba_jobs_failed_total\{queue="evaluate"\} 0/);
    m.outcome('train-shard', 'a', 'completed');
    m.outcome('train-shard', 'b', 'completed');
    m.outcome('evaluate', 'c', 'retried');
    m.outcome('evaluate', 'c', 'failed');
    m.outcome('evaluate', 'd', 'stalled');
    const text = await m.registry.metrics();
    assert.match(text, /pmamba_jobs_completed_total\{queue="train-shard"\} 2/);
    assert.match(text, /pmamba_jobs_retried_total\{queue="evaluate"\} 1/);
    assert.match(text, /pmamba_jobs_failed_total\{queue="evaluate"\} 1/);
    assert.match(text, /pmamba_jobs_stalled_total\{queue="evaluate"\} 1/);
    assert.match(text, /^process_cpu_seconds_total /m);
  });

  it('takes the batch size of train-shard and teacher-pretrain payloads', () => {
    assert.equal(imagesPerStep({ spec: { batchSize: 4 } }), 4);
    assert.equal(imagesPerStep({ batchSize: 2, spec: { batchSize: 4 } }), 2);
    assert.equal(imagesPerStep({ runId: 'x' }), undefined);
    assert.equal(imagesPerStep(undefined), undefined);
  });
});

describe('mergeExpositions', () => {
  it('writes each family once, keeps only queue depth, and drops the blank after commas', () => {
    const perQueue = (q: string) =>
      [
        '# HELP bullmq_job_count Number of jobs in the queue by state',
        '# TYPE bullmq_job_count gauge',
        `bullmq_job_count{queue="${q}", state="active", prefix="p"} 1`,
        `bullmq_job_count{queue="${q}", state="waiting", prefix="p"} 2`,
        '# HELP bullmq_job_completed_total Total number of completed jobs',
        '# TYPE bullmq_job_completed_total counter',
        `bullmq_job_completed_total{queue="${q}", prefix="p"} 0`,
      ].join('\n');
    assert.equal(
      mergeExpositions([perQueue('a'), perQueue('b')]),
      [
        '# HELP bullmq_job_count Number of jobs in the queue by state',
        '# TYPE bullmq_job_count gauge',
        'bullmq_job_count{queue="a",state="active",prefix="p"} 1',
        'bullmq_job_count{queue="a",state="waiting",prefix="p"} 2',
        'bullmq_job_count{queue="b",state="active",prefix="p"} 1',
        'bullmq_job_count{queue="b",state="waiting",prefix="p"} 2',
        '',
      ].join('\n'),
    );
    assert.equal(mergeExpositions([]), '');
  });
});
