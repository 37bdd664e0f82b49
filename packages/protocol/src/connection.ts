/**
 * Redis connection options for BullMQ from a URL: `redis://[user:password@]host[:port][/db]`,
 * or `rediss://…` for TLS. A password missing from the URL is taken from REDIS_PASSWORD.
 */
import { ProtocolError } from './errors.ts';

export interface RedisConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  /** Present for rediss:// URLs. */
  tls?: { servername: string };
  /** BullMQ workers require null: a blocked command must wait for reconnection, not fail. */
  maxRetriesPerRequest: null;
}

export const DEFAULT_REDIS_PORT = 6379;

function invalid(url: string, why: string): ProtocolError {
  const shown = url.replace(/\/\/([^/]*)@/, '//***@');
  return new ProtocolError('E_REDIS_URL', `invalid Redis URL ${JSON.stringify(shown)}: ${why}; expected redis://[user:password@]host[:port][/db] or rediss://… for TLS`);
}

export function redisConnectionFromUrl(
  url: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RedisConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(url, 'not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw invalid(url, `unknown scheme ${parsed.protocol}`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw invalid(url, 'the host is missing');
  const port = parsed.port === '' ? DEFAULT_REDIS_PORT : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw invalid(url, `the database "${dbText}" is not a number`);
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password) || env.REDIS_PASSWORD || '';
  return {
    host,
    port,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    db: dbText === '' ? 0 : Number(dbText),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
    maxRetriesPerRequest: null,
  };
}
