/**
 * @pmamba/data: image decoding and preprocessing, dataset readers (MVTec AD, MVTec AD 2, VisA,
 * BTAD, plain folders), the synthetic data set, shard planning, heatmap overlays, npy files.
 *
 * Tensor layout: images are Float32Array CHW (batches N×3×H×W, ImageNet-normalised), masks
 * Uint8Array H×W of 0/1 (batches N×H×W), all row-major — the numpy/PyTorch convention.
 *
 * ```ts
 * const index = await openDataset('/data/mvtec_ad'); // format detected from the layout
 * const bottle = index.classes.find((c) => c.name === 'bottle')!;
 * const { images, masks, labels } = await loadBatch(bottle.test, { size: 256 });
 * ```
 */
export { DataError } from './errors.ts';
export type { DataWarning } from './errors.ts';

export { readNpy, writeNpy, encodeNpy, npyToFloat32, npyToFloat64 } from './npy.ts';
export type { NpyArray } from './npy.ts';

export { createRng, hashSeed } from './rng.ts';
export type { Rng } from './rng.ts';

export { loadRgb, loadImage, writePng, checkImageHeader } from './image.ts';
export type { ImageFormat, RawImage } from './image.ts';
export { loadMask } from './mask.ts';

export { samplesById } from './dataset.ts';
export type { DatasetFormat, DatasetIndex, Sample } from './dataset.ts';
export { readMvtec } from './mvtec.ts';
export { openDataset } from './discover.ts';
export { evaluationDataOf } from './fingerprint.ts';
export type { EvaluationData } from './fingerprint.ts';
export { inspectDataset, formatInspect, classMetricProblems } from './inspect.ts';
export type { ClassSummary, InspectOptions, InspectReport } from './inspect.ts';

export { loadBatch } from './loader.ts';

export { planShards, assignShards } from './shards.ts';

export { heatmapOverlayPng, writeHeatmapOverlay } from './heatmap.ts';

export { synthesize, SYNTH_CLASSES } from './synth/generate.ts';
