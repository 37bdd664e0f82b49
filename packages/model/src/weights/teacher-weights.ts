/** Loading a teacher weight file (./teacher-file.ts reads it) into a model's teacher. */
import { ENCODER_ARCHS } from '../config.ts';
import type { PyramidMamba } from '../model.ts';
import { readTeacherWeights, teacherArchOf } from './teacher-file.ts';
import { importEncoderStateDict, type ImportReport } from './state-dict.ts';
import { TeacherArchError } from '../errors.ts';

/**
 * Loads a teacher weight file into the model's teacher (`net_t.*`); `fc.*` and `layer4.*` are
 * ignored. A file for another ResNet fails naming both architectures.
 */
export function loadTeacherWeights(model: Pick<PyramidMamba, 'params' | 'config'>, bytes: Uint8Array, fileName: string): ImportReport {
  const tensors = readTeacherWeights(bytes, fileName);
  const found = teacherArchOf(tensors);
  if (found && found !== model.config.encoder) {
    const fix = (ENCODER_ARCHS as readonly string[]).includes(found) ? `set the model config's encoder to '${found}'` : `${found} is not a supported teacher (${ENCODER_ARCHS.join(', ')})`;
    throw new TeacherArchError(`${fileName} holds ${found} weights but the model's teacher is ${model.config.encoder}: ${fix}, or use ${model.config.encoder} weights`);
  }
  return importEncoderStateDict(model.params, tensors, fileName);
}
