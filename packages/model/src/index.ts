/** @pmamba/model: the Pyramid-Mamba detector on tfjs — backends, ops, layers, weights, training, maps. */
import './ops/register-tfjs-gradients.ts';
export * from './backend.ts';
export * from './config.ts';
export { PyramidMamba, nchwToNhwc, type FeatureMaps, type ForwardOutput } from './model.ts';
export { EVAL, type ForwardContext, type RandomSource } from './layers/context.ts';
export { seededRandom, mulberry32 } from './rng.ts';
export { anomalyMaps, gaussianFilter, gaussianKernel, cosineDistance, type AnomalyMaps, type AnomalyMapOptions } from './anomaly-map.ts';
export { ParamRegistry, type ParamEntry } from './params.ts';
export { readSafetensors, writeSafetensors, SafetensorsError, type SafeTensor, type SafeFile } from './weights/safetensors.ts';
export { exportStateDict, importStateDict, importEncoderStateDict, isEncoderOnly, WeightsMismatchError } from './weights/state-dict.ts';
export { saveCheckpoint, loadCheckpoint, CONFIG_KEY, type LoadedCheckpoint } from './weights/checkpoint.ts';
export { applyTestWeights, testValues, testUniform } from './test-weights.ts';
export { inferAnomalyMaps, type InferOptions } from './infer.ts';
