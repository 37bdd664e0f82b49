/**
 * @pmamba/model/spec: what describes a model without running one — the model config (schema,
 * presets, image-size rule), the backend names, and reading and writing weight files
 * (safetensors, torchvision .pth, teacher files). Nothing here loads TensorFlow.js, so the
 * coordinator and the CLI's planning verbs import this instead of `@pmamba/model`.
 *
 * ```ts
 * import { checkImageSize, presetConfig, readSafetensors } from '@pmamba/model/spec';
 * const config = presetConfig('small', { noiseStd: 0.1 });
 * checkImageSize(config, 64);                          // throws when the preset can't take 64²
 * const { tensors, metadata } = readSafetensors(bytes, 'model.safetensors');
 * ```
 */
export { BACKENDS, type BackendChoice, type BackendName } from './backend-names.ts';
export { THREADS_ENV, threadsPerProcess } from './threads/compute-threads.ts';
export {
  ENCODER_ARCHS, ModelConfigSchema, PRESETS, PRESET_NAMES, checkImageSize, parseModelConfig, presetConfig,
  type EncoderArch, type ModelConfig, type ModelConfigInput, type PresetName,
} from './config.ts';
export { readSafetensors, writeSafetensors, type SafeTensor } from './weights/safetensors.ts';
export { isPth } from './weights/pth.ts';
export { IMAGE_SIZE_KEY } from './weights/metadata.ts';
export { readTeacherWeights, teacherArchOf } from './weights/teacher-file.ts';
