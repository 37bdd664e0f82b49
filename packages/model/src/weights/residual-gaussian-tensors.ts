/**
 * A fitted residual Gaussian travels inside the checkpoint it was fitted for, so whoever loads
 * the detector (evaluation, `predict`, the registry) scores it the same way: tensors
 * `anomaly_map.residual_gaussian.<scale>.{mean,precision}` and the metadata key below.
 */
import type { ResidualGaussian } from '../residual-gaussian.ts';
import { WeightsMismatchError } from '../errors.ts';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.ts';

/** Metadata key of the anomaly map a checkpoint carries (JSON); absent: the cosine map. */
export const ANOMALY_MAP_KEY = 'pmamba.anomaly_map';
/** Prefix of the tensors that belong to the anomaly map, not to the model. */
export const ANOMALY_MAP_PREFIX = 'anomaly_map.';

interface StoredMap {
  kind: 'residual-gaussian';
  shrinkage: number;
  locations: number;
  scales: { scale: number; typical: number }[];
}

const tensorName = (scale: number, part: 'mean' | 'precision') => `${ANOMALY_MAP_PREFIX}residual_gaussian.${scale}.${part}`;

/** The map's tensors and metadata entry, to write beside the model's. */
export function residualGaussianEntries(rg: ResidualGaussian): { tensors: [string, SafeTensor][]; metadata: Record<string, string> } {
  const stored: StoredMap = { kind: 'residual-gaussian', shrinkage: rg.shrinkage, locations: rg.locations, scales: rg.gaussians.map((g) => ({ scale: g.scale, typical: g.typical })) };
  return {
    tensors: rg.gaussians.flatMap((g) => [
      [tensorName(g.scale, 'mean'), { dtype: 'F32', shape: [g.channels], data: g.mean }],
      [tensorName(g.scale, 'precision'), { dtype: 'F32', shape: [g.channels, g.channels], data: g.precision }],
    ]),
    metadata: { [ANOMALY_MAP_KEY]: JSON.stringify(stored) },
  };
}

/** The residual Gaussian a checkpoint's tensors and metadata hold, if any. */
export function readResidualGaussian(tensors: Map<string, SafeTensor>, metadata: Record<string, string>, source: string): ResidualGaussian | undefined {
  const raw = metadata[ANOMALY_MAP_KEY];
  if (raw === undefined) return undefined;
  let stored: StoredMap;
  try {
    stored = JSON.parse(raw) as StoredMap;
  } catch {
    throw new WeightsMismatchError(`${source}: metadata ${ANOMALY_MAP_KEY} is not JSON`);
  }
  if (stored.kind !== 'residual-gaussian' || !Array.isArray(stored.scales)) throw new WeightsMismatchError(`${source}: unknown anomaly map ${raw.slice(0, 80)}`);
  const gaussians = stored.scales.map(({ scale, typical }) => {
    const mean = tensors.get(tensorName(scale, 'mean'));
    const precision = tensors.get(tensorName(scale, 'precision'));
    if (!mean || !precision) throw new WeightsMismatchError(`${source}: the residual Gaussian of scale ${scale} has no ${mean ? 'precision' : 'mean'} tensor`);
    const c = mean.shape[0];
    if (mean.dtype !== 'F32' || precision.dtype !== 'F32' || precision.shape.length !== 2 || precision.shape[0] !== c || precision.shape[1] !== c) {
      throw new WeightsMismatchError(`${source}: the residual Gaussian of scale ${scale} has tensors of the wrong type or shape`);
    }
    return { scale, channels: c, mean: mean.data as Float32Array, precision: precision.data as Float32Array, typical };
  });
  return { gaussians, shrinkage: stored.shrinkage, locations: stored.locations };
}

/**
 * The checkpoint `bytes` with `rg` as its anomaly map (any earlier one replaced) and `metadata`
 * added; the model's tensors and other metadata are copied unchanged.
 */
export function withResidualGaussian(bytes: Uint8Array, rg: ResidualGaussian, opts: { source?: string; metadata?: Record<string, string> } = {}): Uint8Array {
  const file = readSafetensors(bytes, opts.source ?? 'checkpoint');
  const tensors = new Map([...file.tensors].filter(([name]) => !name.startsWith(ANOMALY_MAP_PREFIX)));
  const entries = residualGaussianEntries(rg);
  for (const [name, t] of entries.tensors) tensors.set(name, t);
  return writeSafetensors(tensors, { ...file.metadata, ...opts.metadata, ...entries.metadata });
}
