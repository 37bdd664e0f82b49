/**
 * @pmamba/store: where artifacts live — a local folder or S3 — with verified, atomic, retried I/O.
 *
 * ```ts
 * const store = await openStore('s3://bucket/pmamba'); // or file:///var/pmamba
 * const written = await store.putJson(keys.runRecordKey('run-1'), record); // { key, size, sha256 }
 * const again = await store.getJson(keys.runRecordKey('run-1')); // verified against its sha256
 * ```
 */
export type { ArtifactStore } from './artifact-store.ts';
export { isStoreError } from './errors.ts';
export * as keys from './keys.ts';
export { sha256 } from './hash.ts';
export { openStore, parseStoreUrl } from './open-store.ts';
export { describeArtifacts } from './manifest.ts';
