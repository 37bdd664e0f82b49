/**
 * @pmamba/model: the Pyramid-Mamba detector on tfjs — backends, weights, training, anomaly maps.
 *
 * ```ts
 * await useBackend('wasm');
 * const { model } = loadCheckpoint(readFileSync('model.safetensors'), { source: 'model.safetensors' });
 * const { maps, scores } = inferAnomalyMaps(model, images, n, 256); // images: n×3×256×256 NCHW, normalised
 * ```
 */
import './ops/register-tfjs-gradients.ts';
export * from './spec.ts';
export { WeightsMismatchError } from './errors.ts';
export { useBackend } from './backend.ts';
export { PyramidMamba, nchwToNhwc } from './model.ts';
export { mulberry32 } from './rng.ts';
export { anomalyMaps, imageScore, cosineDistance } from './anomaly-map.ts';
export { exportStateDict, isEncoderOnly } from './weights/state-dict.ts';
export { loadTeacherWeights } from './weights/teacher-weights.ts';
export { exportTeacherWeights } from './weights/teacher-export.ts';
export { TeacherPretrainer, calibrateEncoder } from './teacher/pretrain.ts';
export { gaussianStem } from './teacher/gaussian-stem.ts';
export { saveCheckpoint, loadCheckpoint } from './weights/checkpoint.ts';
export { inferAnomalyMaps, fitResidualGaussian, fitMemoryBank, addToFit } from './infer.ts';
export { ResidualGaussianFit, type ResidualGaussian, type ScaleGaussian } from './residual-gaussian.ts';
export { MemoryBankFit, MEMORY_FEATURES, type MemoryBank, type MemoryBankFitOptions, type MemoryFeatures, type MemoryScale, type ModelMaps } from './memory-bank.ts';
export type { ClassBanks } from './class-banks.ts';
export { describeFittedMap, withFittedMap, type FittedMap } from './weights/fitted-map-tensors.ts';
export { Trainer, type TrainerState } from './training/trainer.ts';
export { saveTrainerState, loadTrainerState } from './weights/optimizer-state.ts';
export { reconstructionLoss } from './training/loss.ts';
export { shutdownScanPool } from './ops/scan/scan-pool.ts';
