/**
 * An artifact store in an S3 bucket (AWS or any S3-compatible server). Each object carries its
 * sha256 as user metadata (`x-amz-meta-sha256`), set in the same PUT or multipart upload as the
 * bytes, so the hash and the bytes become visible together, atomically.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type GetObjectCommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SHA256_PATTERN } from '@pmamba/protocol';
import {
  BaseArtifactStore,
  type ListedObject,
  type ObjectInfo,
  type PutOptions,
  type StoredObject,
} from './artifact-store.ts';
import { stageFile, writeAll } from './atomic-file.ts';
import { HashMismatchError, StoreError } from './errors.ts';
import { hasher, sha256, sha256File } from './hash.ts';
import { joinKey, validateKey, validatePrefix } from './key-path.ts';
import { withRetry, type RetryOptions } from './retry.ts';
import { isTransientS3Error, s3StoreError } from './s3-errors.ts';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const SHA256_METADATA = 'sha256';
const MIB = 1024 * 1024;
/** S3's smallest multipart part (except the last). */
export const MIN_PART_SIZE = 5 * MIB;

export interface S3ClientOptions {
  /** Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000`. Default: AWS. */
  endpoint?: string;
  /** Region. Default: `us-east-1` with a custom endpoint, else the SDK's chain (AWS_REGION, profile). */
  region?: string;
  /** Address buckets as `endpoint/bucket` (most S3-compatible servers need it). Default: true with an endpoint. */
  forcePathStyle?: boolean;
  /** Static credentials. Default: the SDK's standard chain (env, profile, SSO, instance role…). */
  credentials?: S3ClientConfig['credentials'];
}

/**
 * An S3 client configured for the store: the store retries on its own (so the SDK does not),
 * and checksums are computed only where S3 requires them — the SDK's default streaming
 * checksums corrupt uploads on some S3-compatible servers (s3rver) and the store verifies
 * content with its own sha256 anyway.
 */
/**
 * The AWS SDK prints a nine-line notice about its future Node requirement in every process that
 * makes a client — every CLI command and every worker child. One line, once per process tree
 * (children inherit the variable), says the same.
 */
function quietSdkVersionNotice(): void {
  if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED !== undefined) return;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (Number(process.versions.node.split('.')[0]) < 22) {
    process.stderr.write(`pmamba: note: AWS SDK releases after January 2027 need Node >= 22; this is Node ${process.version}\n`);
  }
}

export function createS3Client(options: S3ClientOptions = {}): S3Client {
  quietSdkVersionNotice();
  const region = options.region ?? (options.endpoint ? 'us-east-1' : undefined);
  return new S3Client({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(region ? { region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface S3StoreOptions extends S3ClientOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'. Default: '' (the bucket root). */
  prefix?: string;
  /** Use this client instead of building one (it should come from createS3Client). Not closed by close(). */
  client?: S3Client;
  /** Retries of transient failures. Default: DEFAULT_RETRY (5 attempts, 200 ms doubling to 5 s). */
  retry?: RetryOptions;
  /** Objects larger than this are uploaded in parts with lib-storage's Upload. Default: 16 MiB. */
  multipartThreshold?: number;
  /** Part size of multipart uploads; at least 5 MiB. Default: 8 MiB. */
  partSize?: number;
  /** Parts uploaded concurrently. Default: 4. */
  queueSize?: number;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class S3ArtifactStore extends BaseArtifactStore {
  readonly url: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly retry: RetryOptions;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(options: S3StoreOptions) {
    super();
    if (!BUCKET_NAME.test(options.bucket)) {
      throw new StoreError('E_STORE_URL', `invalid S3 bucket name ${JSON.stringify(options.bucket)}: use 3-63 lower-case letters, digits, '.' or '-'`);
    }
    const prefix = options.prefix ?? '';
    if (prefix !== '') validateKey(prefix);
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.url = prefix === '' ? `s3://${this.bucket}` : `s3://${this.bucket}/${prefix}`;
    this.client = options.client ?? createS3Client(options);
    this.ownsClient = options.client === undefined;
    this.retry = options.retry ?? {};
    this.partSize = Math.max(MIN_PART_SIZE, options.partSize ?? 8 * MIB);
    this.multipartThreshold = options.multipartThreshold ?? 16 * MIB;
    this.queueSize = Math.max(1, options.queueSize ?? 4);
  }

  async putBytes(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<StoredObject> {
    const bucketKey = this.bucketKey(key);
    const digest = { sha256: sha256(bytes), size: bytes.byteLength };
    await this.run(key, 'write', () => this.upload(bucketKey, () => bytes, digest, options));
    return { key, ...digest };
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<StoredObject> {
    const bucketKey = this.bucketKey(key);
    const source = resolve(path);
    let digest: { sha256: string; size: number };
    try {
      digest = await sha256File(source);
    } catch (err) {
      throw new StoreError('E_STORE_IO', `cannot write "${key}" to ${this.url}: cannot read ${source}: ${(err as Error).message}`, key, {
        cause: err,
      });
    }
    await this.run(key, 'write', async () => {
      // Small files go in one PUT from memory; large ones stream in parts. The file must not
      // change during the upload, or its recorded hash will not match.
      const small = digest.size <= this.multipartThreshold ? await readFile(source) : undefined;
      await this.upload(bucketKey, () => small ?? createReadStream(source), digest, options);
    });
    return { key, ...digest };
  }

  async getBytes(key: string): Promise<Uint8Array> {
    const bucketKey = this.bucketKey(key);
    return this.run(key, 'read', async () => {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
      const expected = this.recordedHash(key, response);
      const bytes = await this.body(key, response).transformToByteArray();
      const actual = sha256(bytes);
      if (actual !== expected) throw new HashMismatchError(key, this.url, expected, actual);
      return bytes;
    });
  }

  async getToFile(key: string, path: string): Promise<StoredObject> {
    const bucketKey = this.bucketKey(key);
    const target = resolve(path);
    return this.run(key, 'read', async () => {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
      const expected = this.recordedHash(key, response);
      const staged = await stageFile(target, async (fh) => {
        const hash = hasher();
        for await (const chunk of this.body(key, response) as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          await writeAll(fh, chunk);
        }
        return { sha256: hash.digest(), size: hash.size };
      });
      if (staged.result.sha256 !== expected) {
        await staged.discard();
        throw new HashMismatchError(key, this.url, expected, staged.result.sha256);
      }
      await staged.commit();
      return { key, ...staged.result };
    });
  }

  async verify(key: string): Promise<StoredObject> {
    const bucketKey = this.bucketKey(key);
    return this.run(key, 'read', async () => {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
      const expected = this.recordedHash(key, response);
      const hash = hasher();
      for await (const chunk of this.body(key, response) as AsyncIterable<Uint8Array>) hash.update(chunk);
      const actual = hash.digest();
      if (actual !== expected) throw new HashMismatchError(key, this.url, expected, actual);
      return { key, sha256: actual, size: hash.size };
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const bucketKey = this.bucketKey(key);
    return this.run(key, 'inspect', async () => {
      try {
        const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
        const recorded = response.Metadata?.[SHA256_METADATA];
        return {
          key,
          size: response.ContentLength ?? 0,
          sha256: recorded && SHA256_PATTERN.test(recorded) ? recorded : undefined,
          contentType: response.ContentType,
          lastModified: response.LastModified,
        };
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
        throw err;
      }
    });
  }

  /** Keys that are not valid store keys (written by other tools) are left out. */
  async list(prefix = ''): Promise<ListedObject[]> {
    validatePrefix(prefix);
    const base = this.prefix === '' ? '' : `${this.prefix}/`;
    return this.run(prefix === '' ? undefined : prefix, 'list', async () => {
      const found: ListedObject[] = [];
      const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: `${base}${prefix}` });
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (!object.Key?.startsWith(base)) continue;
          const key = object.Key.slice(base.length);
          try {
            validateKey(key);
          } catch {
            continue;
          }
          found.push({ key, size: object.Size ?? 0, lastModified: object.LastModified });
        }
      }
      return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    });
  }

  async delete(key: string): Promise<void> {
    const bucketKey = this.bucketKey(key);
    await this.run(key, 'delete', async () => {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: bucketKey }));
    });
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private bucketKey(key: string): string {
    return joinKey(this.prefix, validateKey(key));
  }

  /**
   * One PUT, or a multipart Upload above the threshold; either way the object appears only
   * when complete. `body` makes a fresh body per try, since a stream cannot be replayed.
   */
  private async upload(
    bucketKey: string,
    body: () => Uint8Array | Readable,
    digest: { sha256: string; size: number },
    options: PutOptions,
  ): Promise<void> {
    const params = {
      Bucket: this.bucket,
      Key: bucketKey,
      ContentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
      Metadata: { [SHA256_METADATA]: digest.sha256 },
    };
    if (digest.size <= this.multipartThreshold) {
      await this.client.send(new PutObjectCommand({ ...params, Body: body(), ContentLength: digest.size }));
      return;
    }
    const upload = new Upload({
      client: this.client,
      params: { ...params, Body: body() },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  private recordedHash(key: string, response: GetObjectCommandOutput): string {
    const recorded = response.Metadata?.[SHA256_METADATA];
    if (recorded === undefined || !SHA256_PATTERN.test(recorded)) {
      (response.Body as Readable | undefined)?.destroy?.();
      throw new StoreError(
        'E_HASH_MISSING',
        `object "${key}" in ${this.url} has no recorded sha256 (x-amz-meta-sha256); it was not written through the store — write it with the store to use it`,
        key,
      );
    }
    return recorded;
  }

  private body(key: string, response: GetObjectCommandOutput): NonNullable<GetObjectCommandOutput['Body']> {
    if (!response.Body) throw new StoreError('E_STORE_REQUEST', `reading "${key}" from ${this.url} returned no body`, key);
    return response.Body;
  }

  /** Retries transient failures and turns the final error into a StoreError naming the key. */
  private async run<T>(key: string | undefined, action: string, fn: () => Promise<T>): Promise<T> {
    let attempts = 0;
    try {
      return await withRetry(
        (attempt) => {
          attempts = attempt;
          return fn();
        },
        isTransientS3Error,
        this.retry,
      );
    } catch (err) {
      throw s3StoreError(err, key, action, this.url, attempts);
    }
  }
}
