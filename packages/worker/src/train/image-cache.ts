/** A train-shard job's images, decoded once while they fit a memory budget. */
import { loadBatch, type Sample } from '@pmamba/data';
import type { TrainSpec } from '@pmamba/protocol';

/** Images decoded once per job while they fit this budget (bytes). */
const IMAGE_CACHE_BYTES = 512 * 2 ** 20;

export class ImageCache {
  private readonly cache = new Map<string, Float32Array>();
  private readonly plane: number;
  private readonly keep: boolean;

  constructor(
    private readonly samples: ReadonlyMap<string, Sample>,
    private readonly spec: Pick<TrainSpec, 'imageSize' | 'dataset'>,
    private readonly log: (message: string) => void,
  ) {
    this.plane = 3 * spec.imageSize * spec.imageSize;
    this.keep = samples.size * this.plane * 4 <= IMAGE_CACHE_BYTES;
  }

  /** The readable images among `ids`, NCHW and normalised, in order (unreadable ones skipped under policy skip). */
  async load(ids: readonly string[]): Promise<{ images: Float32Array; n: number }> {
    const missing = [...new Set(ids.filter((id) => !this.cache.has(id)))].map((id) => this.samples.get(id) as Sample);
    const batch = missing.length
      ? await loadBatch(missing, {
          size: this.spec.imageSize,
          masks: false,
          policy: this.spec.dataset.badImagePolicy,
          onWarning: (w) => this.log(`warning [${w.code}] ${w.message}`),
        })
      : undefined;
    const fresh = new Map<string, Float32Array>();
    batch?.samples.forEach((s, i) => fresh.set(s.id, batch.images.subarray(i * this.plane, (i + 1) * this.plane)));
    if (this.keep) for (const [id, img] of fresh) this.cache.set(id, img);
    const rows = ids.map((id) => this.cache.get(id) ?? fresh.get(id)).filter((x): x is Float32Array => x !== undefined);
    const images = new Float32Array(rows.length * this.plane);
    rows.forEach((r, i) => images.set(r, i * this.plane));
    return { images, n: rows.length };
  }
}
