/**
 * What a processor process keeps between jobs: the store connection, the compute backend, run
 * records, dataset indexes and recently used weights (by content hash, so every job of a round
 * fetches the round's weights once per process).
 */
import { openDataset, type DatasetIndex } from '@pmamba/data';
import { useBackend, type BackendName } from '@pmamba/model';
import { parseRunRecord, type ArtifactRef, type RunRecord, type TrainSpec } from '@pmamba/protocol';
import { isStoreError, openStore, sha256, type ArtifactStore } from '@pmamba/store';
import { WorkerError } from './errors.ts';
import type { ChildSettings } from './child-env.ts';

/** Artifacts kept in memory: a round's weights and optimiser state, and the previous round's. */
const WEIGHTS_CACHED = 4;

export class WorkerRuntime {
  private storePromise: Promise<ArtifactStore> | undefined;
  private backendPromise: Promise<BackendName> | undefined;
  private readonly records = new Map<string, RunRecord>();
  private readonly datasets = new Map<string, Promise<DatasetIndex>>();
  private readonly weightCache = new Map<string, Uint8Array>();

  constructor(
    private readonly settings: ChildSettings,
    private readonly log: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
  ) {}

  store(): Promise<ArtifactStore> {
    this.storePromise ??= openStore(this.settings.storeUrl);
    return this.storePromise;
  }

  backend(): Promise<BackendName> {
    // `auto` explains every backend it could not load; one line saying which one runs is enough here.
    this.backendPromise ??= useBackend(this.settings.backend, (m) => this.log(m.replace(/ \(unavailable: .*\)$/s, '')));
    return this.backendPromise;
  }

  /**
   * Checks this worker's store holds the run record the job names, byte for byte; otherwise
   * the worker is looking at another store than the run's coordinator (E_WRONG_STORE, which
   * the processor answers by giving the job back for another worker).
   */
  async checkRunStore(run: ArtifactRef, runId: string): Promise<void> {
    if (this.records.has(run.sha256)) return;
    const found = await (await this.store()).head(run.key);
    if (found?.sha256 !== run.sha256) {
      const what = found ? `a different ${run.key} (sha256 ${found.sha256?.slice(0, 12)}…)` : `no ${run.key}`;
      throw new WorkerError(
        'E_WRONG_STORE',
        `this worker's store ${this.settings.storeUrl} holds ${what}: it is not the store of run ${runId}; start the worker with the coordinator's --store`,
        { permanent: false },
      );
    }
  }

  /** The run record a job names, read once per process after checking it is the run's. */
  async runRecord(run: ArtifactRef, runId: string): Promise<RunRecord> {
    const cached = this.records.get(run.sha256);
    if (cached) return cached;
    await this.checkRunStore(run, runId);
    const record = await (await this.store()).getJson(run.key, (v) => parseRunRecord(v, run.key));
    this.records.set(run.sha256, record);
    return record;
  }

  /** A run's dataset (its train spec's `dataset`), read once per process; the reader follows the bad-image policy. */
  dataset(d: TrainSpec['dataset']): Promise<DatasetIndex> {
    const id = `${d.root}\u0000${d.format}\u0000${d.badImagePolicy}\u0000${d.classes.join('/')}`;
    let index = this.datasets.get(id);
    if (!index) {
      index = openDataset(d.root, {
        format: d.format,
        policy: d.badImagePolicy,
        classes: d.classes,
        onWarning: (w) => this.log(`pmamba worker: warning [${w.code}] ${w.message}`),
      });
      index.catch(() => this.datasets.delete(id));
      this.datasets.set(id, index);
    }
    return index;
  }

  /** The bytes of a weights artifact, verified against the reference's sha256. */
  async weights(ref: ArtifactRef): Promise<Uint8Array> {
    const cached = this.weightCache.get(ref.sha256);
    if (cached) return cached;
    let bytes: Uint8Array;
    try {
      bytes = await (await this.store()).getBytes(ref.key);
    } catch (err) {
      if (isStoreError(err, 'E_NOT_FOUND')) {
        throw new WorkerError('E_STORE_MISSING', `weights ${ref.key} are missing from ${this.settings.storeUrl}`, { cause: err });
      }
      throw err;
    }
    const found = sha256(bytes);
    if (found !== ref.sha256) {
      throw new WorkerError('E_STORE_MISSING', `weights ${ref.key} in ${this.settings.storeUrl} were replaced: sha256 ${found}, the job expects ${ref.sha256}`);
    }
    this.weightCache.set(ref.sha256, bytes);
    while (this.weightCache.size > WEIGHTS_CACHED) this.weightCache.delete(this.weightCache.keys().next().value!);
    return bytes;
  }
}
