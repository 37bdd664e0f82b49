/**
 * @pmamba/store: where artifacts live — a local folder or S3 — with verified, atomic, retried I/O.
 * It is domain-free: bytes under any valid key, their hashes, atomic writes. Which key holds
 * what is @pmamba/protocol's `layout`.
 *
 * ```ts
 * const store = await openStore('s3://bucket/pmamba'); // or file:///var/pmamba
 * const written = await store.putJson(layout.runRecordKey('run-1'), record); // { key, size, sha256 }
 * const again = await store.getJson(layout.runRecordKey('run-1')); // verified against its sha256
 * ```
 */
export type { ArtifactStore } from './artifact-store.ts';
export { isStoreError } from './errors.ts';
export { sha256 } from './hash.ts';
export { openStore, parseStoreUrl } from './open-store.ts';
export { describeArtifacts } from './manifest.ts';
