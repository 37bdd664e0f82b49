/**
 * `pmamba train --metrics-port N`: the coordinator's /metrics and /healthz. It runs no
 * processors, so its job metrics are every worker's, as BullMQ's queue events stream them for
 * the run's prefix (@pmamba/worker's startQueueMetrics), beside the queues' depth. It needs the
 * Redis the run will use — the same choice trainRun makes (option, REDIS_URL, the config's) —
 * and so cannot watch a private redis-server, which trainRun starts later, inside.
 */
import { loadRun } from '@pmamba/coordinator';
import { DEFAULT_REDIS_PREFIX, DEFAULT_STORE_URL, QUEUE_NAMES, checkClusterPrefix, isClusterUrl, parseRedisUrl, type RunConfig } from '@pmamba/protocol';
import { openStore } from '@pmamba/store';
import { startQueueMetrics, type MetricsServer } from '@pmamba/worker';
import { CliError } from './errors.ts';
import { closeQueueConnection, queueConnection } from './redis-client.ts';
import { absoluteStoreUrl } from './train-run.ts';

export interface TrainMetricsOptions {
  port: number;
  host: string;
  config?: RunConfig;
  /** The run to resume (its prefix is in its record). */
  resume?: string;
  redisUrl?: string;
  prefix?: string;
  storeUrl?: string;
}

/** The prefix trainRun will use: the option, else the run's config (a resumed run's record holds it). */
async function runPrefix(o: TrainMetricsOptions): Promise<string> {
  if (o.prefix) return o.prefix;
  if (o.config) return o.config.redis.prefix ?? DEFAULT_REDIS_PREFIX;
  const store = await openStore(absoluteStoreUrl(o.storeUrl ?? DEFAULT_STORE_URL));
  try {
    return (await loadRun(store, o.resume!)).config.redis.prefix ?? DEFAULT_REDIS_PREFIX;
  } finally {
    await store.close();
  }
}

export async function startTrainMetrics(o: TrainMetricsOptions): Promise<MetricsServer> {
  const url = [o.redisUrl, process.env.REDIS_URL, o.config?.redis.url].find((u) => u !== undefined && u !== '');
  if (url === undefined) {
    throw new CliError('--metrics-port watches the Redis of the run: give --redis URL or set REDIS_URL (a private redis-server is not watched)', 'E_BAD_OPTION');
  }
  const prefix = await runPrefix(o);
  const parsed = parseRedisUrl(url);
  if (isClusterUrl(parsed)) checkClusterPrefix(prefix);
  // One node: BullMQ and the depth reader open their own connections; a cluster: a Cluster of
  // this server's own, closed with it.
  const connection = queueConnection(parsed);
  try {
    const server = await startQueueMetrics({ connection, prefix, queues: Object.values(QUEUE_NAMES), port: o.port, host: o.host });
    return { url: server.url, port: server.port, close: async () => (await server.close(), await closeQueueConnection(connection)) };
  } catch (err) {
    await closeQueueConnection(connection);
    throw new CliError(`--metrics-port ${o.port}: cannot serve metrics on ${o.host} (${(err as Error).message})`, 'E_BAD_OPTION');
  }
}
