/**
 * BullMQ queue names. Each job kind has a queue of its own (named like the job), so workers
 * can subscribe to the kinds they run and each queue gets its own concurrency and limits.
 */
import { z } from 'zod';

export const QUEUE_NAMES = {
  /** Pretrain a self-made teacher on a run's normal training images, before round 0. */
  teacherPretrain: 'teacher-pretrain',
  /** Train a model's copy on a set of shards for one round (children of aggregate). */
  trainShard: 'train-shard',
  /** Average a round's train-shard outputs, weighted by samples (parent of train-shard). */
  aggregate: 'aggregate',
  /** Fit a model's anomaly map (the residual Gaussian) on its normal training images, before its evaluation. */
  fitMap: 'fit-map',
  /** Evaluate one class: anomaly maps, per-class metrics, heatmaps (children of report). */
  evaluate: 'evaluate',
  /** Combine per-class metrics into the benchmark table (parent of evaluate). */
  report: 'report',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];
export const QueueNameSchema = z.enum(Object.values(QUEUE_NAMES) as [QueueName, ...QueueName[]]);

/**
 * The queue of schedule firings: BullMQ's job schedulers add one job per firing, and only
 * `pmamba scheduler` takes them. Kept out of QUEUE_NAMES, which lists the queues of a run's
 * jobs (the coordinator opens, and workers serve, every one of those).
 */
export const SCHEDULE_QUEUE = 'schedule';
