/**
 * Redis for tests: REDIS_URL or 127.0.0.1:6379, and a BullMQ prefix unique to the test run so
 * parallel runs (and other helpers' tests) never see each other's jobs. `clear()` deletes every
 * key under the prefix.
 *
 *   const redis = testRedis('e2e');
 *   …
 *   await redis.clear();
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisConnectionFromUrl, type RedisConnectionOptions } from '@pmamba/protocol';

export interface TestRedis {
  url: string;
  connection: RedisConnectionOptions;
  prefix: string;
  /** Deletes every key under the prefix. */
  clear(): Promise<void>;
}

export function testRedis(label: string): TestRedis {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const connection = redisConnectionFromUrl(url);
  const prefix = `pmamba-test-${label}-${randomBytes(4).toString('hex')}`;
  return {
    url,
    connection,
    prefix,
    clear: async () => {
      const client = new Redis(connection);
      try {
        let cursor = '0';
        do {
          const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (found.length > 0) await client.del(...found);
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    },
  };
}
