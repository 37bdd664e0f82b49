/**
 * A model's teacher as a stand-alone weights file: torchvision/timm names (`conv1.weight`,
 * `layer1.0.bn1.running_mean`, …, BatchNorm statistics included), so a teacher pmamba made can
 * be given to any run as `model.teacher.weights`, or to torchvision's `load_state_dict(strict=False)`.
 */
import type { PyramidMamba } from '../model.ts';
import { writeSafetensors, type SafeTensor } from './safetensors.ts';
import { exportStateDict } from './state-dict.ts';

const TEACHER = 'net_t.';

/** The teacher's tensors under torchvision names. */
export function teacherTensors(model: Pick<PyramidMamba, 'params'>): Map<string, SafeTensor> {
  const tensors = new Map<string, SafeTensor>();
  for (const [name, t] of exportStateDict(model.params)) if (name.startsWith(TEACHER)) tensors.set(name.slice(TEACHER.length), t);
  return tensors;
}

export function exportTeacherWeights(model: Pick<PyramidMamba, 'params' | 'config'>, metadata: Record<string, string> = {}): Uint8Array {
  return writeSafetensors(teacherTensors(model), { format: 'pt', producer: 'pmamba', 'pmamba.encoder': model.config.encoder, ...metadata });
}
