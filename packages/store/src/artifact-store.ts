/**
 * The artifact store contract. Implementations: a local folder (`LocalArtifactStore`) and
 * S3 or an S3-compatible server (`S3ArtifactStore`); `openStore(url)` picks one.
 *
 * Guarantees every implementation keeps:
 * - keys are validated (`validateKey`) and can never address anything outside the store;
 * - every write records the object's sha256, and every read verifies it (E_HASH_MISMATCH);
 * - a write becomes visible only once complete: readers see the old object or the new one,
 *   never a partial one;
 * - transient failures are retried with backoff; permanent ones fail at once.
 */
import { StoreError } from './errors.ts';

export interface PutOptions {
  /** MIME type recorded with the object. Default: `application/octet-stream`. */
  contentType?: string;
}

/** What a write produced, or what a verified read found: enough to cite the object in a manifest. */
export interface StoredObject {
  key: string;
  size: number;
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** The sha256 recorded at write time; undefined for objects this store did not write. */
  sha256: string | undefined;
  contentType: string | undefined;
  lastModified: Date | undefined;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date | undefined;
}

export interface ArtifactStore {
  /** Where the store points: `file:///abs/path` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Writes bytes atomically; replaces an existing object. */
  putBytes(key: string, bytes: Uint8Array, options?: PutOptions): Promise<StoredObject>;
  /** Writes a file's content atomically, streaming it (multipart on S3 when large). */
  putFile(key: string, path: string, options?: PutOptions): Promise<StoredObject>;
  /** Reads and verifies an object. E_NOT_FOUND when absent, E_HASH_MISMATCH when corrupt. */
  getBytes(key: string): Promise<Uint8Array>;
  /**
   * Streams an object into `path` (parent folders are created), verifying it on the way; the
   * destination is replaced only by verified bytes.
   */
  getToFile(key: string, path: string): Promise<StoredObject>;
  /** Reads an object to the end without keeping it and checks its hash. */
  verify(key: string): Promise<StoredObject>;
  /** Size, recorded hash and type of an object, or undefined when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix` (default: all), sorted by key. */
  list(prefix?: string): Promise<ListedObject[]>;
  /** Removes an object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Writes `value` as pretty-printed JSON (`application/json`). */
  putJson(key: string, value: unknown): Promise<StoredObject>;
  /**
   * Reads a JSON object, verified like getBytes. `parse` (e.g. a zod schema's `parse`) checks
   * its shape; its errors propagate unchanged.
   */
  getJson<T = unknown>(key: string, parse?: (value: unknown) => T): Promise<T>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** JSON helpers and `exists`, written once over the primitives. */
export abstract class BaseArtifactStore implements ArtifactStore {
  abstract readonly url: string;
  abstract putBytes(key: string, bytes: Uint8Array, options?: PutOptions): Promise<StoredObject>;
  abstract putFile(key: string, path: string, options?: PutOptions): Promise<StoredObject>;
  abstract getBytes(key: string): Promise<Uint8Array>;
  abstract getToFile(key: string, path: string): Promise<StoredObject>;
  abstract verify(key: string): Promise<StoredObject>;
  abstract head(key: string): Promise<ObjectInfo | undefined>;
  abstract list(prefix?: string): Promise<ListedObject[]>;
  abstract delete(key: string): Promise<void>;
  abstract close(): Promise<void>;

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  async putJson(key: string, value: unknown): Promise<StoredObject> {
    const text = JSON.stringify(value, null, 2);
    if (text === undefined) {
      throw new StoreError('E_STORE_JSON', `cannot write "${key}" to ${this.url} as JSON: the value is ${typeof value}`, key);
    }
    return this.putBytes(key, Buffer.from(`${text}\n`, 'utf8'), { contentType: 'application/json' });
  }

  async getJson<T = unknown>(key: string, parse?: (value: unknown) => T): Promise<T> {
    const bytes = await this.getBytes(key);
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    } catch (err) {
      throw new StoreError('E_STORE_JSON', `object "${key}" in ${this.url} is not valid JSON: ${(err as Error).message}`, key, {
        cause: err,
      });
    }
    return parse ? parse(value) : (value as T);
  }
}
