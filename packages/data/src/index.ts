/**
 * @pmamba/data: image decoding and preprocessing, dataset readers (MVTec AD, MVTec AD 2, VisA,
 * BTAD, plain folders), the synthetic data set, shard planning, heatmap overlays, npy files.
 *
 * Tensor layout: images are Float32Array CHW (batches N×3×H×W, ImageNet-normalised), masks
 * Uint8Array H×W of 0/1 (batches N×H×W), all row-major — the numpy/PyTorch convention.
 */
export {
  DataError,
  NpyError,
  ImageDecodeError,
  DatasetLayoutError,
  handleBadInput,
  stderrWarning,
} from './errors.ts';
export type { DataErrorCode, BadInputPolicy, DataWarning, WarningHandler } from './errors.ts';

export { readNpy, writeNpy, parseNpy, encodeNpy, npyToFloat32, npyToFloat64 } from './npy.ts';
export type { NpyArray, NpyData, NpyDtype } from './npy.ts';

export { createRng, hashSeed } from './rng.ts';
export type { Rng } from './rng.ts';

export {
  IMAGENET_MEAN,
  IMAGENET_STD,
  cropBox,
  imageInfo,
  decodeImage,
  loadRgb,
  loadImage,
  rgbToChw,
  encodePng,
  writePng,
} from './image.ts';
export type {
  ImageSource,
  ImageGeometry,
  ImageInfo,
  PreprocessOptions,
  RawImage,
  ResizeKernel,
  GreyPolicy,
} from './image.ts';
export { decodeBmp, isBmp } from './bmp.ts';
export type { BmpImage } from './bmp.ts';
export { loadMask, resizeNearest } from './mask.ts';
export type { MaskOptions, MaskThreshold } from './mask.ts';

export { IMAGE_EXTENSIONS, allSamples, samplesById } from './dataset.ts';
export type { DatasetFormat, DatasetIndex, ClassIndex, Sample, Split, ReadOptions } from './dataset.ts';
export { readMvtec } from './mvtec.ts';
export { readMvtecAd2 } from './mvtec-ad2.ts';
export { readBtad } from './btad.ts';
export { readVisa, parseCsv, VISA_SPLIT_CSV } from './visa.ts';
export type { VisaOptions } from './visa.ts';
export { readFolder } from './folder.ts';
export type { FolderOptions } from './folder.ts';
export { detectFormat, openDataset } from './discover.ts';
export type { OpenDatasetOptions } from './discover.ts';
export { inspectDataset, formatInspect } from './inspect.ts';
export type { InspectOptions, InspectReport, ClassSummary } from './inspect.ts';

export { loadBatch, batches } from './loader.ts';
export type { LoadOptions, Batch } from './loader.ts';

export { planShards, assignShards, trainItems } from './shards.ts';
export type { ClassItems, Shard, ShardOptions, WorkerAssignment } from './shards.ts';

export { heatmapOverlay, heatmapOverlayPng, writeHeatmapOverlay, colormapRgb } from './heatmap.ts';
export type { Colormap, FloatMap, HeatmapOptions } from './heatmap.ts';

export { synthesize, renderSynthImage, SYNTH_CLASSES } from './synth/generate.ts';
export type { SynthOptions, SynthResult, SynthImage } from './synth/generate.ts';
export type { ClassSpec } from './synth/scene.ts';
export { DEFECT_KINDS } from './synth/defects.ts';
export type { DefectKind } from './synth/defects.ts';
