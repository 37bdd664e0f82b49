/**
 * The services a run-driving command needs, brought up in one place for `train`, `sweep` and
 * `scheduler`: Redis (the given one, else a private redis-server) and, when asked — or by
 * default with a private Redis, which nothing else can reach — worker processes on this machine.
 */
import { availableParallelism } from 'node:os';
import { startLocalWorkers, type LocalWorkers } from './local-workers.ts';
import { resolveRedis, shellPrefix, type RedisService } from './redis.ts';

export interface ServiceOptions {
  /** Redis URLs in order of preference (the option, REDIS_URL, the config's); none: a private server. */
  redisUrls: (string | undefined)[];
  prefix: string;
  /** An absolute store URL (workers may run in another folder). */
  storeUrl: string;
  /** Worker processes to start; default: `defaultWorkers` (at most the cores) with a private Redis, else 0. */
  localWorkers?: number;
  defaultWorkers: number;
  backend: string;
  workerArgs?: string[];
  /** Start a private redis-server when no URL is given. Default: true. */
  allowPrivate?: boolean;
  log: (line: string) => void;
}

export interface Services {
  redis: RedisService;
  workers: LocalWorkers | undefined;
  /** `--store … [--redis … --prefix …]`: what a later command needs to reach the same run. */
  where: string;
  stop(): Promise<void>;
}

export async function startServices(o: ServiceOptions): Promise<Services> {
  const redis = await resolveRedis(o.redisUrls, { allowPrivate: o.allowPrivate ?? true, prefix: o.prefix });
  if (redis.private) o.log(`pmamba: started a private redis-server at ${redis.shownUrl} (stopped when this command ends)`);
  const count = o.localWorkers ?? (redis.private ? Math.min(o.defaultWorkers, availableParallelism()) : 0);
  let workers: LocalWorkers | undefined;
  if (count > 0) {
    workers = startLocalWorkers({ count, redisUrl: redis.url, prefix: o.prefix, storeUrl: o.storeUrl, backend: o.backend, args: o.workerArgs, log: o.log });
    o.log(`pmamba: started ${count} local worker process(es)`);
  }
  return {
    redis,
    workers,
    where: `--store ${o.storeUrl}${redis.private ? '' : ` --redis ${redis.shownUrl} --prefix ${shellPrefix(o.prefix)}`}`,
    stop: async () => {
      await workers?.stop();
      await redis.stop();
    },
  };
}
