/**
 * Queue depth per queue and state, as BullMQ exports it (`Queue.exportPrometheusMetrics`,
 * family `bullmq_job_count{queue,state,prefix}`), over one Redis connection of its own shared by
 * the queues. That connection's state is also what /healthz reports: it reaches the same Redis
 * as the process's workers or coordinator.
 */
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import type { RedisConnectionOptions } from '@pmamba/protocol';

/**
 * BullMQ's exporter also writes bullmq_job_completed_total / bullmq_job_failed_total, which
 * count only when workers record BullMQ metrics (pmamba's do not: they would always read 0);
 * the pmamba_jobs_* counters say that instead.
 */
const KEPT_FAMILIES = new Set(['bullmq_job_count']);

/**
 * Several exporters' texts as one exposition: each family's HELP and TYPE once, then its samples
 * (BullMQ writes them per queue, and a family may not repeat in one scrape), families outside
 * `kept` dropped, and label sets written without the blank after commas.
 */
export function mergeExpositions(texts: readonly string[], kept: ReadonlySet<string> = KEPT_FAMILIES): string {
  const families = new Map<string, { help?: string; type?: string; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const line of texts.flatMap((t) => t.split('\n'))) {
    const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (meta) {
      const f = family(meta[2]);
      if (meta[1] === 'HELP') f.help ??= line;
      else f.type ??= line;
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line);
    if (sample) family(sample[1]).samples.push(line.replace(/",\s+/g, '",'));
  }
  return [...families]
    .filter(([name, f]) => kept.has(name) && f.samples.length > 0)
    .flatMap(([, f]) => [f.help, f.type, ...f.samples].filter((l): l is string => l !== undefined))
    .map((l) => `${l}\n`)
    .join('');
}

export class QueueDepth {
  readonly client: Redis | Cluster;
  private readonly queues: Queue[];

  /** `connection`: one node's options, or a Cluster, duplicated (closing this closes only the duplicate). */
  constructor(connection: RedisConnectionOptions | Cluster, private readonly prefix: string, readonly names: readonly string[]) {
    this.client = connection instanceof Cluster ? connection.duplicate() : new Redis({ ...connection, maxRetriesPerRequest: null });
    // Connection errors are reported through /healthz and pmamba_redis_up, not as unhandled events.
    this.client.on('error', () => undefined);
    this.queues = names.map((name) => new Queue(name, { connection: this.client, prefix }));
    for (const q of this.queues) q.on('error', () => undefined);
  }

  /** ready, connecting, reconnecting, end, … (ioredis' status). */
  get status(): string {
    return this.client.status;
  }

  /** The depth families, or undefined when Redis does not answer within `timeoutMs`. */
  async exposition(timeoutMs = 2000): Promise<string | undefined> {
    if (this.client.status !== 'ready') return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      const texts = await Promise.race([Promise.all(this.queues.map((q) => q.exportPrometheusMetrics({ prefix: this.prefix }))), timeout]);
      return texts && mergeExpositions(texts);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
    this.client.disconnect();
  }
}
