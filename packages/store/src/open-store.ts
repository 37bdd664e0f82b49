/**
 * Store URLs:
 *   file://./artifacts     a folder relative to the working directory (the default)
 *   file:///abs/path       an absolute folder
 *   s3://bucket[/prefix]   an S3 bucket, optionally under a key prefix
 * S3 uses the standard AWS credential chain; `S3_ENDPOINT` points it at an S3-compatible
 * server (path-style addressing then, unless `S3_FORCE_PATH_STYLE=false`).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_STORE_URL } from '@pmamba/protocol';
import type { ArtifactStore } from './artifact-store.ts';
import { StoreError } from './errors.ts';
import { validateKey } from './key-path.ts';
import { LocalArtifactStore } from './local-store.ts';
import type { RetryOptions } from './retry.ts';
import { S3ArtifactStore, type S3StoreOptions } from './s3-store.ts';

export type StoreLocation = { kind: 'file'; path: string } | { kind: 's3'; bucket: string; prefix: string };

export interface OpenStoreOptions {
  /** Where S3_ENDPOINT, S3_FORCE_PATH_STYLE and AWS_* come from. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Folder that relative `file://` URLs are resolved against. Default: process.cwd(). */
  cwd?: string;
  /** Retries of transient failures. Default: DEFAULT_RETRY. */
  retry?: RetryOptions;
  /** S3 tuning: see S3StoreOptions. */
  s3?: Pick<S3StoreOptions, 'multipartThreshold' | 'partSize' | 'queueSize' | 'client'>;
}

function badUrl(url: string, why: string): StoreError {
  return new StoreError(
    'E_STORE_URL',
    `invalid store URL ${JSON.stringify(url)}: ${why}; expected file://./relative/folder, file:///absolute/folder or s3://bucket/prefix`,
  );
}

/** Parses a store URL without touching the file system or the network. */
export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreLocation {
  if (url.startsWith('file://')) {
    const rest = url.slice('file://'.length);
    if (rest === '') throw badUrl(url, 'the folder is missing');
    if (rest.startsWith('/')) {
      try {
        return { kind: 'file', path: fileURLToPath(url) };
      } catch (err) {
        throw badUrl(url, (err as Error).message);
      }
    }
    return { kind: 'file', path: resolve(cwd, rest) };
  }
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/\/+$/, '');
    if (bucket === '') throw badUrl(url, 'the bucket is missing');
    if (prefix !== '') {
      try {
        validateKey(prefix);
      } catch (err) {
        throw badUrl(url, `the prefix is not a valid key path (${(err as Error).message})`);
      }
    }
    return { kind: 's3', bucket, prefix };
  }
  throw badUrl(url, 'unknown scheme');
}

function flag(env: Readonly<Record<string, string | undefined>>, name: string): boolean | undefined {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new StoreError('E_STORE_URL', `${name}=${JSON.stringify(env[name])} is not a boolean (use true or false)`);
}

/** Opens the store a URL names (default: ./artifacts). */
export async function openStore(url: string = DEFAULT_STORE_URL, options: OpenStoreOptions = {}): Promise<ArtifactStore> {
  const location = parseStoreUrl(url, options.cwd);
  if (location.kind === 'file') return LocalArtifactStore.open(location.path, { retry: options.retry });

  const env = options.env ?? process.env;
  const endpoint = env.S3_ENDPOINT?.trim() || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new StoreError('E_STORE_URL', `S3_ENDPOINT=${JSON.stringify(endpoint)} is not an http(s) URL (e.g. http://127.0.0.1:9000)`);
  }
  // Pass env credentials explicitly only when env is not the process's own (the SDK reads that itself).
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const credentials =
    options.env && accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  return new S3ArtifactStore({
    bucket: location.bucket,
    prefix: location.prefix,
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
    forcePathStyle: flag(env, 'S3_FORCE_PATH_STYLE') ?? endpoint !== undefined,
    credentials,
    retry: options.retry,
    ...options.s3,
  });
}
