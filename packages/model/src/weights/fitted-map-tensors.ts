/**
 * A fitted anomaly map travels inside the checkpoint it was fitted for, so whoever loads the
 * detector (evaluation, `predict`, the registry) scores it the same way: the metadata key below
 * says which map (JSON), and its tensors are named under `anomaly_map.`:
 * - residual Gaussian: `anomaly_map.residual_gaussian.<scale>.{mean,precision}`;
 * - memory bank: `anomaly_map.memory.<scale>.bank` ([rows, dim]); `<scale>` is 0–2 or `stem`.
 *   Class banks (class-banks.ts) add the router, `….router.descriptors` ([images, 2·dim]) and
 *   `….router.class` (I32 [images]), and on the stem `….class_mean` and `….class_sd` ([classes,
 *   dim]); the classes' names and rows (in bank order) are in the metadata.
 */
import type { ResidualGaussian } from '../residual-gaussian.ts';
import { MEMORY_FEATURES, type MemoryBank, type MemoryFeatures, type MemoryScale } from '../memory-bank.ts';
import type { ClassBanks } from '../class-banks.ts';
import { WeightsMismatchError } from '../errors.ts';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.ts';

/** Metadata key of the anomaly map a checkpoint carries (JSON); absent: the cosine map. */
export const ANOMALY_MAP_KEY = 'pmamba.anomaly_map';
/** Prefix of the tensors that belong to the anomaly map, not to the model. */
export const ANOMALY_MAP_PREFIX = 'anomaly_map.';

/** A fitted map, shaped to spread into inferAnomalyMaps' options. */
export type FittedMap = { residualGaussian: ResidualGaussian } | { memoryBank: MemoryBank };

type StoredMap =
  | { kind: 'residual-gaussian'; shrinkage: number; locations: number; scales: { scale: number; typical: number }[] }
  | { kind: 'memory'; scale: MemoryScale; features: MemoryFeatures; inputScale: number; locations: number; classes?: { names: string[]; rows: number[] } };

const gaussianTensor = (scale: number, part: 'mean' | 'precision') => `${ANOMALY_MAP_PREFIX}residual_gaussian.${scale}.${part}`;
const bankTensor = (scale: MemoryScale) => `${ANOMALY_MAP_PREFIX}memory.${scale}.bank`;
type ClassTensor = 'router.descriptors' | 'router.class' | 'class_mean' | 'class_sd';
const classTensor = (scale: MemoryScale, part: ClassTensor) => `${ANOMALY_MAP_PREFIX}memory.${scale}.${part}`;

/** The class banks' tensors (the names and rows go in the metadata). */
function classTensors(b: MemoryBank, classes: ClassBanks): [string, SafeTensor][] {
  const { descriptors, classOf } = classes.router;
  const out: [string, SafeTensor][] = [
    [classTensor(b.scale, 'router.descriptors'), { dtype: 'F32', shape: [classOf.length, 2 * b.dim], data: descriptors }],
    [classTensor(b.scale, 'router.class'), { dtype: 'I32', shape: [classOf.length], data: classOf }],
  ];
  if (classes.norm) {
    out.push([classTensor(b.scale, 'class_mean'), { dtype: 'F32', shape: [classes.names.length, b.dim], data: classes.norm.mean }]);
    out.push([classTensor(b.scale, 'class_sd'), { dtype: 'F32', shape: [classes.names.length, b.dim], data: classes.norm.sd }]);
  }
  return out;
}

/** The map's tensors and metadata entry, to write beside the model's. */
function entries(map: FittedMap): { tensors: [string, SafeTensor][]; stored: StoredMap } {
  if ('memoryBank' in map) {
    const b = map.memoryBank;
    return {
      tensors: [[bankTensor(b.scale), { dtype: 'F32', shape: [b.vectors.length / b.dim, b.dim], data: b.vectors }], ...(b.classes ? classTensors(b, b.classes) : [])],
      stored: {
        kind: 'memory',
        scale: b.scale,
        features: b.features,
        inputScale: b.inputScale,
        locations: b.locations,
        ...(b.classes ? { classes: { names: b.classes.names, rows: b.classes.rows } } : {}),
      },
    };
  }
  const rg = map.residualGaussian;
  return {
    tensors: rg.gaussians.flatMap((g) => [
      [gaussianTensor(g.scale, 'mean'), { dtype: 'F32', shape: [g.channels], data: g.mean }],
      [gaussianTensor(g.scale, 'precision'), { dtype: 'F32', shape: [g.channels, g.channels], data: g.precision }],
    ]),
    stored: { kind: 'residual-gaussian', shrinkage: rg.shrinkage, locations: rg.locations, scales: rg.gaussians.map((g) => ({ scale: g.scale, typical: g.typical })) },
  };
}

/** The fitted map a checkpoint's tensors and metadata hold, if any. */
export function readFittedMap(tensors: Map<string, SafeTensor>, metadata: Record<string, string>, source: string): FittedMap | undefined {
  const raw = metadata[ANOMALY_MAP_KEY];
  if (raw === undefined) return undefined;
  let stored: StoredMap;
  try {
    stored = JSON.parse(raw) as StoredMap;
  } catch {
    throw new WeightsMismatchError(`${source}: metadata ${ANOMALY_MAP_KEY} is not JSON`);
  }
  if (stored.kind === 'memory') return { memoryBank: readMemoryBank(tensors, stored, source) };
  if (stored.kind !== 'residual-gaussian' || !Array.isArray(stored.scales)) throw new WeightsMismatchError(`${source}: unknown anomaly map ${raw.slice(0, 80)}`);
  const gaussians = stored.scales.map(({ scale, typical }) => {
    const mean = tensors.get(gaussianTensor(scale, 'mean'));
    const precision = tensors.get(gaussianTensor(scale, 'precision'));
    if (!mean || !precision) throw new WeightsMismatchError(`${source}: the residual Gaussian of scale ${scale} has no ${mean ? 'precision' : 'mean'} tensor`);
    const c = mean.shape[0];
    if (mean.dtype !== 'F32' || precision.dtype !== 'F32' || precision.shape.length !== 2 || precision.shape[0] !== c || precision.shape[1] !== c) {
      throw new WeightsMismatchError(`${source}: the residual Gaussian of scale ${scale} has tensors of the wrong type or shape`);
    }
    return { scale, channels: c, mean: mean.data as Float32Array, precision: precision.data as Float32Array, typical };
  });
  return { residualGaussian: { gaussians, shrinkage: stored.shrinkage, locations: stored.locations } };
}

function readMemoryBank(tensors: Map<string, SafeTensor>, stored: Extract<StoredMap, { kind: 'memory' }>, source: string): MemoryBank {
  const { scale, features, inputScale, locations } = stored;
  if (!(scale === 'stem' || Number.isInteger(scale)) || !MEMORY_FEATURES.includes(features) || (inputScale !== 1 && inputScale !== 2)) {
    throw new WeightsMismatchError(`${source}: the memory bank's settings are not valid: ${JSON.stringify(stored).slice(0, 120)}`);
  }
  const bank = tensors.get(bankTensor(scale));
  if (!bank || bank.dtype !== 'F32' || bank.shape.length !== 2 || bank.shape[0] < 1) throw new WeightsMismatchError(`${source}: the memory bank of scale ${scale} has no F32 [rows, dim] tensor ${bankTensor(scale)}`);
  const dim = bank.shape[1];
  const read = { scale, features, inputScale, locations, dim, vectors: bank.data as Float32Array };
  if (!stored.classes) return { ...read, classBanks: false };
  return { ...read, classBanks: true, classes: readClassBanks(tensors, stored.classes, { scale, dim, rows: bank.shape[0] }, source) };
}

function readClassBanks(tensors: Map<string, SafeTensor>, stored: { names: string[]; rows: number[] }, bank: { scale: MemoryScale; dim: number; rows: number }, source: string): ClassBanks {
  const { names, rows } = stored;
  const bad = (what: string) => new WeightsMismatchError(`${source}: the memory bank's class banks ${what}`);
  if (!Array.isArray(names) || !Array.isArray(rows) || names.length < 1 || rows.length !== names.length || rows.some((r) => !Number.isInteger(r) || r < 1)) throw bad('name no classes or rows');
  if (rows.reduce((a, b) => a + b, 0) !== bank.rows) throw bad(`hold ${rows.reduce((a, b) => a + b, 0)} rows; the bank has ${bank.rows}`);
  const get = (part: ClassTensor, dtype: 'F32' | 'I32', shape: number[]) => {
    const t = tensors.get(classTensor(bank.scale, part));
    if (!t || t.dtype !== dtype || t.shape.join() !== shape.join()) throw bad(`have no ${dtype} [${shape.join(', ')}] tensor ${classTensor(bank.scale, part)}`);
    return t.data;
  };
  const images = tensors.get(classTensor(bank.scale, 'router.class'))?.shape[0] ?? 0;
  const classOf = get('router.class', 'I32', [images]) as Int32Array;
  if (images < 1 || classOf.some((c) => c < 0 || c >= names.length)) throw bad('route to classes that do not exist');
  const descriptors = get('router.descriptors', 'F32', [images, 2 * bank.dim]) as Float32Array;
  const norm = bank.scale === 'stem' ? { mean: get('class_mean', 'F32', [names.length, bank.dim]) as Float32Array, sd: get('class_sd', 'F32', [names.length, bank.dim]) as Float32Array } : undefined;
  return { names, rows, ...(norm ? { norm } : {}), router: { descriptors, classOf } };
}

/** One line naming a fitted map and what it holds, for logs. */
export function describeFittedMap(fitted: FittedMap): string {
  if ('memoryBank' in fitted) {
    const b = fitted.memoryBank;
    const where = b.scale === 'stem' ? 'the teacher\'s stem' : `scale ${b.scale}`;
    const perClass = b.classes ? `, in ${b.classes.names.length} class bank(s) (${b.classes.names.map((n, c) => `${n} ${b.classes!.rows[c]}`).join(', ')})` : '';
    return `memory bank of ${b.vectors.length / b.dim} ${b.features} vectors on ${where}, input ×${b.inputScale} (from ${b.locations} locations)${perClass}`;
  }
  const rg = fitted.residualGaussian;
  return `residual Gaussian on scale(s) ${rg.gaussians.map((g) => g.scale).join(', ')} (${rg.locations} locations)`;
}

/**
 * The checkpoint `bytes` with `map` as its anomaly map (any earlier one replaced) and `metadata`
 * added; the model's tensors and other metadata are copied unchanged.
 */
export function withFittedMap(bytes: Uint8Array, map: FittedMap, opts: { source?: string; metadata?: Record<string, string> } = {}): Uint8Array {
  const file = readSafetensors(bytes, opts.source ?? 'checkpoint');
  const tensors = new Map([...file.tensors].filter(([name]) => !name.startsWith(ANOMALY_MAP_PREFIX)));
  const { tensors: added, stored } = entries(map);
  for (const [name, t] of added) tensors.set(name, t);
  return writeSafetensors(tensors, { ...file.metadata, ...opts.metadata, [ANOMALY_MAP_KEY]: JSON.stringify(stored) });
}
