/**
 * From a parsed Redis URL (@pmamba/protocol's parseRedisUrl) to what BullMQ and ioredis need —
 * the one place that decides how pmamba connects:
 *
 * - one node: BullMQ gets the options themselves, as it always has (each Queue, Worker,
 *   FlowProducer and QueueEvents opens and closes its own connections), and a client of our
 *   own is `new Redis(options)`;
 * - a cluster: an ioredis Cluster, started from the URL's nodes, with the URL's user, password
 *   and TLS on every node's connection. BullMQ takes a Cluster as `connection`: queues share it,
 *   workers and queue events duplicate it for their blocking commands. BullMQ never closes a
 *   client it was given, so whoever asked for one closes it (`closeQueueConnection`).
 *
 * With TLS, a cluster's node addresses are used as given instead of being resolved to IP
 * addresses first (ioredis' default), so that each node's certificate is checked against its
 * host name — what managed clusters (ElastiCache, Memorystore, …) need.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { isClusterUrl, type ParsedRedisUrl, type RedisClusterConnectionOptions, type RedisConnectionOptions } from '@pmamba/protocol';

/** What @pmamba/coordinator and @pmamba/worker take as `connection`: one node's options, or a Cluster. */
export type QueueConnection = RedisConnectionOptions | Cluster;

/** Options of every node's connection. */
export type NodeOptions = Omit<RedisOptions, 'host' | 'port' | 'path' | 'sentinels'>;
/** Options of a Cluster client itself (not of its nodes' connections). */
export type ClusterClientOptions = Omit<ClusterOptions, 'redisOptions'>;

function newCluster(c: RedisClusterConnectionOptions, node: NodeOptions, cluster: ClusterClientOptions): Cluster {
  const { cluster: _, nodes, ...own } = c;
  return new Cluster(
    nodes.map((n) => ({ ...n })),
    {
      ...(c.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
      ...cluster,
      redisOptions: { ...own, ...node },
    },
  );
}

/**
 * A client of its own for the URL — the caller closes it: a Redis for one node (the URL's
 * options, then `node`), a Cluster for a cluster (`node` for every node's connection, `cluster`
 * for the cluster client; one node ignores `cluster`).
 */
export function redisClient(parsed: ParsedRedisUrl, node: NodeOptions = {}, cluster: ClusterClientOptions = {}): Redis | Cluster {
  return isClusterUrl(parsed) ? newCluster(parsed, node, cluster) : new Redis({ ...parsed, ...node });
}

/** BullMQ's `connection` for the URL: one node's options as they are, or a new Cluster (close it with closeQueueConnection). */
export function queueConnection(parsed: ParsedRedisUrl): QueueConnection {
  if (!isClusterUrl(parsed)) return parsed;
  const cluster = newCluster(parsed, {}, {});
  // The queues that share it report its errors (each on its own 'error'); before the first
  // queue attaches, an error without a listener would end the process.
  cluster.on('error', () => undefined);
  return cluster;
}

/** Closes a Cluster made by queueConnection; options hold no connection. */
export async function closeQueueConnection(connection: QueueConnection): Promise<void> {
  if (!(connection instanceof Cluster)) return;
  connection.on('error', () => undefined);
  await connection.quit().catch(() => connection.disconnect());
}

/**
 * A client of its own on the Redis of `connection`: a new Redis from one node's options (with
 * `maxRetriesPerRequest`), or the Cluster duplicated with it. The caller closes it.
 */
export function ownClient(connection: QueueConnection, maxRetriesPerRequest: number | null): Redis | Cluster {
  if (connection instanceof Cluster) {
    return connection.duplicate(undefined, { redisOptions: { ...connection.options.redisOptions, maxRetriesPerRequest } });
  }
  return new Redis({ ...connection, maxRetriesPerRequest });
}
