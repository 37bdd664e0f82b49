/**
 * Log lines of long-running commands (`pmamba worker`), through pino: JSON lines for log
 * collectors (the default when stderr is not a terminal), or the plain `pmamba worker: …` lines
 * people read (`pretty`, the default at a terminal). `--log-format` or PMAMBA_LOG_FORMAT chooses.
 *
 * Secrets never reach the stream: pino redacts the fields that hold them, credentials in any
 * URL are masked (`scheme://***@host`, as shownRedisUrl does for Redis), and — last, on every
 * written line — the secret values this process knows (REDIS_PASSWORD, the AWS secret and
 * session token, the passwords of the URLs it was given) are replaced, whatever field or
 * message carried them.
 */
import type { Logger } from 'pino';
import { CliError } from './errors.ts';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Fields that hold secrets wherever they appear (top level or one object down). */
const SECRET_FIELDS = ['password', 'secretAccessKey', 'sessionToken', 'authorization', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'REDIS_PASSWORD', 'PMAMBA_DASHBOARD_AUTH'];
export const REDACTED_PATHS = [...SECRET_FIELDS, ...SECRET_FIELDS.map((f) => `*.${f}`), 'headers.authorization', '*.headers.authorization'];

/** Environment variables whose values are secrets. */
const SECRET_ENV = ['REDIS_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** The format asked for: the option, else PMAMBA_LOG_FORMAT, else json unless `stream` is a terminal. */
export function logFormat(option: string | undefined, env: NodeJS.ProcessEnv = process.env, stream: { isTTY?: boolean } = process.stderr): LogFormat {
  const asked = option ?? env.PMAMBA_LOG_FORMAT;
  if (asked !== undefined && asked !== '') {
    if (!(LOG_FORMATS as readonly string[]).includes(asked)) throw new CliError(`log format ${JSON.stringify(asked)} (--log-format or PMAMBA_LOG_FORMAT): choose ${LOG_FORMATS.join(' or ')}`, 'E_BAD_OPTION');
    return asked as LogFormat;
  }
  return stream.isTTY ? 'pretty' : 'json';
}

/**
 * `scheme://user:password@host` → `scheme://***@host`, anywhere in a line. Up to the last '@'
 * before the host's '/': URL parsers take that one, so an unencoded '@' in a password stays hidden.
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s"'<>]*@/gi, '$1***@');
}

/** The secret values this process holds: from its environment and the passwords of `urls`. */
export function knownSecrets(env: NodeJS.ProcessEnv = process.env, urls: readonly (string | undefined)[] = []): string[] {
  const found = SECRET_ENV.map((k) => env[k]);
  for (const url of urls) {
    // A cluster URL's host list (h1:1,h2:2) is no WHATWG URL host: its password is read here.
    const cluster = /^rediss?\+cluster:\/\/(.*)@/is.exec(url ?? '');
    if (cluster) {
      const colon = cluster[1].indexOf(':');
      const raw = colon < 0 ? '' : cluster[1].slice(colon + 1);
      found.push(raw);
      try {
        found.push(decodeURIComponent(raw));
      } catch {
        // a malformed %-escape: the raw form is all there is
      }
      continue;
    }
    try {
      const u = new URL(url ?? '');
      found.push(decodeURIComponent(u.password), u.password);
    } catch {
      // not a URL: nothing to take from it
    }
  }
  // Very short values would blank out ordinary words; they are not worth hiding this way.
  return [...new Set(found.filter((s): s is string => typeof s === 'string' && s.length >= 4))];
}

/** Replaces every secret (and its JSON-escaped form) by ***, then masks URL credentials. */
export function scrub(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const s of secrets) {
    for (const form of new Set([s, JSON.stringify(s).slice(1, -1)])) out = out.split(form).join('***');
  }
  return maskUrlCredentials(out);
}

export interface LogOptions {
  /** Who logs: `pmamba worker` (pretty lines start with it; JSON lines carry it as `name`). */
  name: string;
  format: LogFormat;
  /** Secret values to keep out of every line (knownSecrets()). */
  secrets?: readonly string[];
  /** Where lines go. Default: stderr. */
  stream?: { write(text: string): unknown };
  /** Fields on every line (e.g. the worker's name). */
  base?: Record<string, unknown>;
}

/** A pino logger writing JSON lines or plain lines to stderr, secrets kept out (pino loads here, not with every command). */
export async function createLogger(o: LogOptions): Promise<Logger> {
  const { pino } = await import('pino');
  const stream = o.stream ?? process.stderr;
  const secrets = o.secrets ?? [];
  const destination = {
    write(json: string) {
      const line = scrub(json, secrets);
      if (o.format === 'json') {
        stream.write(line);
        return;
      }
      const { msg } = JSON.parse(line) as { msg?: string };
      stream.write(`${o.name}: ${msg ?? ''}\n`);
    },
  };
  return pino(
    {
      name: o.name.replace(/\s+/g, '-'),
      base: { pid: process.pid, ...o.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
