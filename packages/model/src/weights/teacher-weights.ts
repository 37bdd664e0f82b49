/**
 * Teacher weight files as users have them: torchvision / timm ResNet checkpoints in either
 * torch.save format (.pth, .pt, .bin) or safetensors, told apart by their first bytes.
 */
import { ENCODER_ARCHS } from '../config.ts';
import type { PyramidMamba } from '../model.ts';
import { isPth, readPth } from './pth.ts';
import { readSafetensors, type SafeTensor } from './safetensors.ts';
import { importEncoderStateDict, type ImportReport } from './state-dict.ts';
import { TeacherArchError } from '../errors.ts';

/** The tensors of a teacher weight file; `fileName` names it in errors. */
export function readTeacherWeights(bytes: Uint8Array, fileName: string): Map<string, SafeTensor> {
  return isPth(bytes) ? readPth(bytes, fileName) : readSafetensors(bytes, fileName).tensors;
}

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

/** torchvision's layer1..3 block counts, block type and layer1 width for each architecture. */
const ARCHS = [
  { arch: 'resnet18', blocks: '2,2,2', bottleneck: false, width: 64 },
  { arch: 'resnet34', blocks: '3,4,6', bottleneck: false, width: 64 },
  { arch: 'resnet50', blocks: '3,4,6', bottleneck: true, width: 64 },
  { arch: 'wide_resnet50_2', blocks: '3,4,6', bottleneck: true, width: 128 },
  { arch: 'resnet101', blocks: '3,4,23', bottleneck: true, width: 64 },
  { arch: 'resnet152', blocks: '3,8,36', bottleneck: true, width: 64 },
  { arch: 'wide_resnet101_2', blocks: '3,4,23', bottleneck: true, width: 128 },
];

/** The ResNet a state dict is for (names may carry wrapper prefixes); undefined if none fits. */
export function teacherArchOf(tensors: Map<string, SafeTensor>): string | undefined {
  const blocks = [0, 0, 0];
  let bottleneck = false;
  let width = 0;
  for (const [name, t] of tensors) {
    const m = /(?:^|\.)layer([123])\.(\d+)\.conv([13])\.weight$/.exec(name);
    if (!m) continue;
    const layer = Number(m[1]) - 1;
    blocks[layer] = Math.max(blocks[layer], Number(m[2]) + 1);
    if (m[3] === '3') bottleneck = true;
    else if (layer === 0 && m[2] === '0') width = t.shape[0];
  }
  return ARCHS.find((a) => a.blocks === blocks.join() && a.bottleneck === bottleneck && a.width === width)?.arch;
}
