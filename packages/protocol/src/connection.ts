/**
 * Redis connection options from a URL, in one of two forms:
 *
 *   redis://[user:password@]host[:port][/db]                     one Redis node (rediss://… for TLS)
 *   redis+cluster://[user:password@]host[:port][,host[:port]…]   a Redis Cluster (rediss+cluster://… for TLS)
 *
 * A cluster URL lists some of the cluster's nodes (any number, at least one): the client starts
 * from them and learns the rest, and which node serves which slot, from the cluster itself. Each
 * host is a name, an IPv4 address or a bracketed IPv6 address ([::1]:7000); the port defaults to
 * 6379. It has no database (a cluster has only database 0) and no query. User and password are
 * those of every node, percent-encoded like any URL's (an unencoded '@' in the password is kept:
 * the host list starts after the last '@'). A password missing from the URL is taken from
 * REDIS_PASSWORD. Schemes are case-insensitive.
 *
 * A Redis Cluster also needs a hash-tagged BullMQ prefix (`{pmamba}`): BullMQ's scripts and
 * flows touch several keys of a queue and of a parent's and children's queues, which a cluster
 * only allows when they hash to one slot — the tag's. `checkClusterPrefix` says so, early.
 *
 * This module is pure (no ioredis): the CLI turns what it returns into BullMQ's `connection`
 * (the options themselves for one node, an ioredis Cluster for a cluster).
 */
import { ProtocolError } from './errors.ts';

/** One Redis node: BullMQ's and ioredis' connection options. */
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

/** A node a cluster client starts from. */
export interface RedisNode {
  host: string;
  port: number;
}

/** A Redis Cluster: the nodes to start from, and the options of the connection to every node. */
export interface RedisClusterConnectionOptions {
  /** Tells a cluster from one node (RedisConnectionOptions has no such field). */
  cluster: true;
  /** The URL's nodes, in its order (at least one). */
  nodes: RedisNode[];
  username?: string;
  password?: string;
  /**
   * Present for rediss+cluster:// URLs: TLS to every node, each checked against its own host
   * name (no fixed servername: the nodes differ).
   */
  tls?: Record<string, never>;
  /** As for one node: BullMQ's blocking commands wait for reconnection. */
  maxRetriesPerRequest: null;
}

/** What a Redis URL says: one node or a cluster. */
export type ParsedRedisUrl = RedisConnectionOptions | RedisClusterConnectionOptions;

export const DEFAULT_REDIS_PORT = 6379;

const EXPECTED =
  'expected redis://[user:password@]host[:port][/db], rediss://… for TLS, or redis+cluster://[user:password@]host[:port][,host[:port]…] (rediss+cluster://… for TLS) for a Redis Cluster';

function invalid(url: string, why: string): ProtocolError {
  const shown = url.replace(/\/\/([^/]*)@/, '//***@');
  return new ProtocolError('E_REDIS_URL', `invalid Redis URL ${JSON.stringify(shown)}: ${why}; ${EXPECTED}`);
}

export function isClusterUrl(parsed: ParsedRedisUrl): parsed is RedisClusterConnectionOptions {
  return 'cluster' in parsed && parsed.cluster === true;
}

/** Whether `url` has a cluster scheme (redis+cluster:// or rediss+cluster://), without parsing the rest. */
export function hasClusterScheme(url: string): boolean {
  return /^rediss?\+cluster:\/\//i.test(url);
}

/** The URL's user and password (user from the URL; password from it, else REDIS_PASSWORD). */
function credentials(
  url: string,
  userinfo: string,
  env: Readonly<Record<string, string | undefined>>,
): { username?: string; password?: string } {
  const colon = userinfo.indexOf(':');
  const [rawUser, rawPassword] = colon < 0 ? [userinfo, ''] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(rawUser);
    password = decodeURIComponent(rawPassword);
  } catch {
    throw invalid(url, 'the user or password has a malformed %-escape');
  }
  password ||= env.REDIS_PASSWORD || '';
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/** `host[:port]` or `[v6]:port` of a cluster URL. */
function clusterNode(url: string, text: string): RedisNode {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$/.exec(text);
  if (!m) {
    throw invalid(url, text === '' ? 'a node of the list is empty' : `the node "${text}" is not host[:port] (IPv6: [address]:port)`);
  }
  const port = m[3] === undefined ? DEFAULT_REDIS_PORT : Number(m[3]);
  if (port < 1 || port > 65535) throw invalid(url, `the port of "${text}" is not 1-65535`);
  return { host: m[1] ?? m[2], port };
}

function parseClusterUrl(url: string, env: Readonly<Record<string, string | undefined>>): RedisClusterConnectionOptions {
  const m = /^(rediss?)\+cluster:\/\/(.*)$/is.exec(url)!;
  const tls = m[1].toLowerCase() === 'rediss';
  const rest = m[2];
  const at = rest.lastIndexOf('@');
  const userinfo = at < 0 ? '' : rest.slice(0, at);
  let hostPart = at < 0 ? rest : rest.slice(at + 1);
  if (/[?#]/.test(hostPart)) throw invalid(url, 'a cluster URL takes no query or fragment');
  const slash = hostPart.indexOf('/');
  if (slash >= 0) {
    const path = hostPart.slice(slash + 1);
    if (path !== '') throw invalid(url, `a Redis Cluster has only database 0; remove "/${path}"`);
    hostPart = hostPart.slice(0, slash);
  }
  if (hostPart === '') throw invalid(url, 'the node list is missing');
  const nodes = hostPart.split(',').map((text) => clusterNode(url, text));
  return {
    cluster: true,
    nodes,
    ...credentials(url, userinfo, env),
    ...(tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** What the URL says: one node (`redis://`, `rediss://`) or a cluster (`redis+cluster://`, `rediss+cluster://`). */
export function parseRedisUrl(
  url: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedRedisUrl {
  return hasClusterScheme(url) ? parseClusterUrl(url, env) : singleNode(url, env);
}

/**
 * One node's options. A cluster URL is refused (E_REDIS_URL): what takes one node cannot
 * follow a cluster's slots. Use parseRedisUrl where a cluster is welcome.
 */
export function redisConnectionFromUrl(
  url: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RedisConnectionOptions {
  if (hasClusterScheme(url)) throw invalid(url, 'this takes a single Redis node, not a Redis Cluster');
  return singleNode(url, env);
}

function singleNode(url: string, env: Readonly<Record<string, string | undefined>>): RedisConnectionOptions {
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

/**
 * The prefix's hash tag, as Redis Cluster finds it in a key that starts with the prefix: the
 * text between the first '{' and the next '}', when not empty. Undefined: no tag.
 */
export function prefixHashTag(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}

/**
 * E_REDIS_PREFIX unless `prefix` has a hash tag, which a Redis Cluster needs: every BullMQ key
 * is `<prefix>:<queue>:…`, and a queue's scripts and a flow's parent and children must find
 * their keys in one slot. The message suggests the prefix wrapped in braces.
 */
export function checkClusterPrefix(prefix: string, option = '--prefix'): void {
  if (prefixHashTag(prefix) !== undefined) return;
  const suggested = `{${prefix.replace(/[{}]/g, '') || 'pmamba'}}`;
  throw new ProtocolError(
    'E_REDIS_PREFIX',
    `a Redis Cluster needs a hash-tagged BullMQ prefix, so that all the keys of pmamba's queues fall in one slot; ` +
      `got ${JSON.stringify(prefix)}: use ${option} '${suggested}' (redis.prefix: '${suggested}' in a run config), ` +
      `the same for the coordinator, the workers and every other command of the deployment`,
  );
}
