/**
 * Key syntax shared by every store. A key is a relative, '/'-separated path that cannot leave
 * the store's prefix on any backend: on S3-compatible servers that map keys to files (s3rver,
 * some gateways) and on the local store, '..' or an absolute path would otherwise escape.
 */
import { MAX_SEGMENT_BYTES } from '@pmamba/protocol';
import { StoreError } from './errors.ts';

/** S3's limit on a key's UTF-8 length. */
export const MAX_KEY_BYTES = 1024;
/** Names starting with this are the local store's own temp and sidecar files. */
export const RESERVED_SEGMENT_PREFIX = '.pmamba-';

// C0 controls (NUL included) and DEL: invisible in logs and unsafe in file names.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const DRIVE_LETTER = /^[A-Za-z]:/;

function reject(key: string, why: string): never {
  const shown = JSON.stringify(key).slice(0, 120);
  throw new StoreError('E_STORE_KEY', `invalid store key ${shown}: ${why}`, key);
}

function checkCharacters(key: string): void {
  if (CONTROL_CHARS.test(key)) reject(key, 'it contains a NUL or control character');
  if (key.includes('\\')) reject(key, "it contains a backslash; separate segments with '/'");
  if (Buffer.from(key, 'utf8').toString('utf8') !== key) reject(key, 'it is not valid Unicode');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) reject(key, `it is longer than ${MAX_KEY_BYTES} bytes`);
  if (key.startsWith('/') || DRIVE_LETTER.test(key)) reject(key, 'it is an absolute path; keys are relative to the store prefix');
}

function checkSegment(key: string, segment: string): void {
  if (segment === '') reject(key, "it has an empty segment (leading, trailing or doubled '/')");
  if (segment === '.' || segment === '..') reject(key, `it has a "${segment}" segment`);
  if (segment.startsWith(RESERVED_SEGMENT_PREFIX)) {
    reject(key, `segments starting with "${RESERVED_SEGMENT_PREFIX}" are reserved for the store's own files`);
  }
  if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
    reject(key, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
}

/** Throws E_STORE_KEY unless `key` names an object inside the store. Returns the key. */
export function validateKey(key: unknown): string {
  if (typeof key !== 'string') throw new StoreError('E_STORE_KEY', `invalid store key: expected a string, got ${typeof key}`);
  if (key === '') reject(key, 'it is empty');
  checkCharacters(key);
  for (const segment of key.split('/')) checkSegment(key, segment);
  return key;
}

/**
 * Throws E_STORE_KEY unless `prefix` is a listing prefix: '' (everything), whole segments
 * ending in '/', or whole segments followed by the start of one ('runs/ab' matches 'runs/abc/…').
 */
export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') throw new StoreError('E_STORE_KEY', `invalid store prefix: expected a string, got ${typeof prefix}`);
  if (prefix === '') return prefix;
  checkCharacters(prefix);
  const segments = prefix.split('/');
  const partial = segments.pop() ?? '';
  for (const segment of segments) checkSegment(prefix, segment);
  if (partial !== '') checkSegment(prefix, partial);
  return prefix;
}

/** Joins a validated store prefix (possibly empty) and key into a backend key. */
export function joinKey(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}/${key}`;
}
