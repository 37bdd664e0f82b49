/**
 * Registering a finished run as a new version of a named model: its final weights, run record
 * and report are copied into models/<name>/versions/<n>/, version.json is written last (the
 * version exists from then on), and then the gate decides whether the champion alias moves.
 *
 * Version numbers are allocated as the highest existing + 1, read from a listing: this assumes
 * one writer per model name at a time. The store offers no compare-and-swap (S3 has none usable
 * here), so two registrations of the same name at once could take the same number; callers (the
 * scheduler, the CLI) register one run per name at a time.
 */
import { layout, parseModelVersion, parseReportTable, parseRunManifest, parseRunRecord, type ArtifactRef, type ReportTable, type RunManifest, type RunRecord } from '@pmamba/protocol';
import { isStoreError, sha256, type ArtifactStore } from '@pmamba/store';
import { readChampion, writeChampion } from './champion.ts';
import { RegistryError } from './errors.ts';
import { decideGate, gateSettings, type GateOptions } from './gate.ts';
import { readVersion, versionNumbers } from './versions.ts';

export interface RegisterOptions {
  gate?: GateOptions;
  /** Kept in version.json (e.g. who registered it and why). */
  note?: string;
  /** The clock of the records (tests pin it). Default: the system's. */
  now?: () => Date;
}

export interface Registration {
  version: number;
  promoted: boolean;
  /** The gate's reason, as recorded. */
  reason: string;
  /** The champion after the registration (null: none). */
  champion: number | null;
}

async function readFinishedRun(store: ArtifactStore, runId: string): Promise<{ run: RunRecord; manifest: RunManifest }> {
  const runKey = layout.runRecordKey(runId);
  const manifestKey = layout.runManifestKey(runId);
  let run: RunRecord;
  try {
    run = await store.getJson(runKey, (v) => parseRunRecord(v, runKey));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) throw new RegistryError('E_RUN_NOT_FOUND', `run ${runId}: ${store.url} holds no ${runKey}; check the run id and --store`);
    throw err;
  }
  let manifest: RunManifest;
  try {
    manifest = await store.getJson(manifestKey, (v) => parseRunManifest(v, manifestKey));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) {
      throw new RegistryError('E_RUN_UNFINISHED', `run ${runId} is not finished (${store.url} holds no ${manifestKey}); finish it first (pmamba train --resume ${runId})`);
    }
    throw err;
  }
  if (run.runId !== runId || manifest.runId !== runId) {
    throw new RegistryError('E_RUN_NOT_FOUND', `run ${runId}: ${runKey} and ${manifestKey} name runs ${run.runId} and ${manifest.runId}`);
  }
  if (Object.keys(manifest.models).length === 0) throw new RegistryError('E_RUN_UNFINISHED', `run ${runId}: ${manifestKey} lists no final weights`);
  return { run, manifest };
}

/** The final table: the manifest's, else the run's report.json. */
async function finalTable(store: ArtifactStore, runId: string, manifest: RunManifest): Promise<ReportTable> {
  if (manifest.table) return manifest.table;
  const key = layout.reportKey(runId, 'json');
  if (manifest.report.some((r) => r.key === key)) return store.getJson(key, (v) => parseReportTable(v, key));
  throw new RegistryError('E_RUN_NO_METRICS', `run ${runId}: its manifest holds no table and lists no ${key}, so there are no metrics to register or gate`);
}

/** Copies `ref` to `to`, checking the bytes are those the run's manifest lists. */
async function copyVerified(store: ArtifactStore, ref: ArtifactRef, to: string, contentType?: string): Promise<ArtifactRef> {
  const bytes = await store.getBytes(ref.key);
  const actual = sha256(bytes);
  if (actual !== ref.sha256 || bytes.byteLength !== ref.size) {
    throw new RegistryError(
      'E_WEIGHTS_MISMATCH',
      `${ref.key} is not what the run's manifest lists (sha256 ${actual}, ${bytes.byteLength} bytes; listed ${ref.sha256}, ${ref.size} bytes); nothing was registered`,
    );
  }
  const written = await store.putBytes(to, bytes, contentType ? { contentType } : undefined);
  return { key: written.key, sha256: written.sha256, size: written.size };
}

/** Registers finished run `runId` as the next version of model `name`, then applies the gate. */
export async function registerRun(store: ArtifactStore, name: string, runId: string, options: RegisterOptions = {}): Promise<Registration> {
  const gate = gateSettings(options.gate);
  layout.modelPrefix(name); // a bad name fails before anything is read
  const now = options.now ?? (() => new Date());
  const { run, manifest } = await readFinishedRun(store, runId);
  const metrics = await finalTable(store, runId, manifest);

  const numbers = await versionNumbers(store, name);
  const n = (numbers.at(-1) ?? 0) + 1;
  const before = await readChampion(store, name);
  const champion = before?.champion != null ? await readVersion(store, name, before.champion) : undefined;
  const decision = decideGate({ name, number: n, evaluationData: run.plan.evaluationData, metrics }, champion, gate);

  // Files of a registration of n that crashed before its record: never visible, now replaced.
  for (const o of await store.list(layout.modelVersionPrefix(name, n))) await store.delete(o.key);
  const weights: Record<string, ArtifactRef> = {};
  for (const [model, ref] of Object.entries(manifest.models)) weights[model] = await copyVerified(store, ref, layout.modelVersionWeightsKey(name, n, model));
  const runRecord = await store.getBytes(layout.runRecordKey(runId));
  await store.putBytes(layout.modelVersionRunKey(name, n), runRecord, { contentType: 'application/json' });
  const reportRef = manifest.report.find((r) => r.key === layout.reportKey(runId, 'json'));
  if (reportRef) await copyVerified(store, reportRef, layout.modelVersionReportKey(name, n), 'application/json');
  else await store.putJson(layout.modelVersionReportKey(name, n), { classes: metrics.classes, mean: metrics.mean });

  const createdAt = now().toISOString();
  const record = parseModelVersion({
    kind: 'pmamba.model-version',
    version: 1,
    name,
    number: n,
    createdAt,
    sourceRun: runId,
    evaluationData: run.plan.evaluationData,
    metrics,
    weights,
    config: run.config,
    ...(run.software ? { software: run.software } : {}),
    gate: decision,
    ...(options.note?.trim() ? { note: options.note.trim() } : {}),
  });
  await store.putJson(layout.modelVersionRecordKey(name, n), record); // last: the version exists

  if (!decision.promoted) return { version: n, promoted: false, reason: decision.reason, champion: before?.champion ?? null };
  await writeChampion(store, name, before, { version: n, at: createdAt, action: 'promote', reason: decision.reason, previous: before?.champion ?? null });
  return { version: n, promoted: true, reason: decision.reason, champion: n };
}
