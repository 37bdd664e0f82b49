import { parseModelConfig, presetConfig, type ModelConfig, type ModelConfigInput } from '../config.ts';
import { PyramidMamba } from '../model.ts';
import { readSafetensors, writeSafetensors } from './safetensors.ts';
import { exportStateDict, importStateDict } from './state-dict.ts';
import { ANOMALY_MAP_PREFIX, readFittedMap, type FittedMap } from './fitted-map-tensors.ts';

/** Metadata key holding a pmamba checkpoint's model config (JSON). */
export const CONFIG_KEY = 'pmamba.model_config';

/** Serialises a model: reference names and layouts, config in `__metadata__`. */
export function saveCheckpoint(model: PyramidMamba, extra: Record<string, string> = {}): Uint8Array {
  return writeSafetensors(exportStateDict(model.params), {
    format: 'pt',
    producer: 'pmamba',
    [CONFIG_KEY]: JSON.stringify(model.config),
    ...extra,
  });
}

export interface LoadedCheckpoint {
  model: PyramidMamba;
  config: ModelConfig;
  /** Whether the config came from the file (else: the `reference` preset). */
  configFromFile: boolean;
  metadata: Record<string, string>;
  /**
   * The fitted anomaly map (residual Gaussian or memory bank), when the checkpoint carries one
   * (else: the cosine map); spread it into inferAnomalyMaps' options.
   */
  fittedMap?: FittedMap;
}

/**
 * Builds a model from a safetensors file. pmamba checkpoints carry their config; any other file
 * with the reference's names is read as the `reference` preset. `override` patches the config
 * (e.g. the level-3 threshold of the reference mode).
 */
export function loadCheckpoint(bytes: Uint8Array, opts: { source?: string; override?: (c: ModelConfig) => ModelConfigInput } = {}): LoadedCheckpoint {
  const source = opts.source ?? 'weights';
  const file = readSafetensors(bytes, source);
  const stored = file.metadata[CONFIG_KEY];
  let config = stored ? parseModelConfig(JSON.parse(stored)) : presetConfig('reference');
  if (opts.override) config = parseModelConfig(opts.override(config));
  const fittedMap = readFittedMap(file.tensors, file.metadata, source);
  const modelTensors = new Map([...file.tensors].filter(([name]) => !name.startsWith(ANOMALY_MAP_PREFIX)));
  const model = new PyramidMamba(config);
  try {
    importStateDict(model.params, modelTensors, source);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, config, configFromFile: Boolean(stored), metadata: file.metadata, ...(fittedMap ? { fittedMap } : {}) };
}
