/**
 * Teacher weight files as users have them: torchvision / timm ResNet checkpoints in either
 * torch.save format (.pth, .pt, .bin) or safetensors, told apart by their first bytes.
 * Reading and naming only — no TensorFlow.js — so planning can check a file without a model.
 */
import { isPth, readPth } from './pth.ts';
import { readSafetensors, type SafeTensor } from './safetensors.ts';

/** The tensors of a teacher weight file; `fileName` names it in errors. */
export function readTeacherWeights(bytes: Uint8Array, fileName: string): Map<string, SafeTensor> {
  return isPth(bytes) ? readPth(bytes, fileName) : readSafetensors(bytes, fileName).tensors;
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
