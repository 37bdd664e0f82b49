import { z } from 'zod';
import { ModelConfigError } from './errors.ts';

/** Teacher backbones: ResNet stages layer1..layer3 as in torchvision/timm. */
export const ENCODER_ARCHS = ['resnet18', 'resnet34', 'resnet50', 'wide_resnet50_2'] as const;
export type EncoderArch = (typeof ENCODER_ARCHS)[number];

const levels = z.number().int().min(1).max(4);

/**
 * How SS2D's pyramid scan picks its levels.
 * - `levels`: levels 1..n per decoder stage (n ∈ 1..4); level l scans 2^(l−1)×2^(l−1) windows.
 * - `reference`: the committed public code — levels 1 and 2, plus level 3 re-scanning the
 *   level-2 outputs in maps wider than `level3Threshold`.
 */
export const PyramidConfigSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('levels'), levels: z.array(levels).length(4) }),
  z.strictObject({ mode: z.literal('reference'), level3Threshold: z.number().int().min(0).default(64) }),
]);
export type PyramidConfig = z.infer<typeof PyramidConfigSchema>;

/**
 * How SS2D's cross selective scan runs (ops/scan/scan-mode.ts). Every choice computes the same
 * function; they differ in where.
 * - `kernels`: WebAssembly/JS kernels on the scan thread pool; inputs are read to host memory.
 * - `ops`: a chunked associative scan in tfjs ops, so it stays on the backend's device (GPU).
 * - `auto`: `kernels` on the wasm and cpu backends, `ops` on the others (tensorflow, tensorflow-gpu).
 */
export const SCAN_MODES = ['auto', 'kernels', 'ops'] as const;
export type ScanMode = (typeof SCAN_MODES)[number];

export const ModelConfigSchema = z.object({
  /** Teacher backbone (frozen). */
  encoder: z.enum(ENCODER_ARCHS).default('resnet34'),
  /** HSS blocks per decoder stage; divisible by 3 → modules of 3, else modules of 2. */
  depths: z.array(z.number().int().positive()).length(4).default([3, 4, 6, 3]),
  /** SSM state size N. */
  dState: z.number().int().positive().default(16),
  /** SS2D inner width = expand × channels. */
  expand: z.number().int().positive().default(2),
  pyramid: PyramidConfigSchema.default({ mode: 'reference', level3Threshold: 64 }),
  /** Std of the Gaussian feature noise added to the bottleneck while training (0 = off). */
  noiseStd: z.number().min(0).default(0.05),
  /** Stochastic-depth rate at the deepest block (training only). */
  dropPathRate: z.number().min(0).max(1).default(0.2),
  /** Where the selective scan runs: `auto`, `kernels` or `ops` (see SCAN_MODES). Not part of the architecture. */
  scan: z.enum(SCAN_MODES).default('auto'),
}).strict();
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

/** Parses a (possibly partial) model config; errors name the offending field. */
export function parseModelConfig(input: unknown): ModelConfig {
  const r = ModelConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelConfigError(`invalid model config: ${issues}`);
  }
  return r.data;
}

/** Presets. `reference` equals the public code (ResNet34, 512/256/128/64, depths 3,4,6,3). */
export const PRESETS = {
  reference: {},
  /** A light model for CPU demos and tests: ResNet18 teacher, one CSS module of 2 blocks per stage. */
  small: { encoder: 'resnet18', depths: [2, 2, 2, 2], pyramid: { mode: 'levels', levels: [2, 2, 2, 2] } },
} satisfies Record<string, ModelConfigInput>;
export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];

export function presetConfig(name: PresetName, overrides: ModelConfigInput = {}): ModelConfig {
  return parseModelConfig({ ...PRESETS[name], ...overrides });
}

/** Encoder output channels of layer1..layer3. */
export function encoderChannels(arch: EncoderArch): [number, number, number] {
  return arch === 'resnet18' || arch === 'resnet34' ? [64, 128, 256] : [256, 512, 1024];
}

/**
 * Decoder stage widths, deepest first: the bottleneck's 2·c3, then c3, c2, c1. They are
 * implied by the encoder (outputs are compared with its maps; patch expand halves widths).
 */
export function decoderDims(cfg: ModelConfig): [number, number, number, number] {
  const [c1, c2, c3] = encoderChannels(cfg.encoder);
  return [2 * c3, c3, c2, c1];
}

/** Blocks per CSS module for a stage depth (the reference's rule). */
export function blocksPerModule(depth: number): number {
  const per = depth % 3 === 0 ? 3 : 2;
  if (depth % per !== 0) throw new ModelConfigError(`depths: stage depth ${depth} is neither divisible by 3 nor even`);
  return per;
}

/** Why `size` does not fit the model, or undefined when it does. */
function imageSizeProblem(cfg: ModelConfig, size: number): string | undefined {
  if (!Number.isInteger(size) || size <= 0 || size % 32 !== 0) return `image size ${size} must be a positive multiple of 32`;
  for (let stage = 0; stage < 4; stage++) {
    const side = (size / 32) * 2 ** stage;
    const need = windowDivisor(cfg, stage, side);
    if (side % need !== 0) return `image size ${size}: decoder stage ${stage} map ${side}×${side} is not divisible by ${need}, which its pyramid levels need`;
  }
  return undefined;
}

/** Image sizes up to this are searched for the nearest ones that fit. */
const LARGEST_SUGGESTED = 4096;

/**
 * The image side must be divisible by 32 and by what the pyramid levels need at the smallest
 * map. The error names the nearest sizes that fit.
 */
export function checkImageSize(cfg: ModelConfig, size: number): void {
  const problem = imageSizeProblem(cfg, size);
  if (!problem) return;
  const fits: number[] = [];
  for (let s = 32; s <= LARGEST_SUGGESTED; s += 32) if (!imageSizeProblem(cfg, s)) fits.push(s);
  const below = fits.filter((s) => s < size).at(-1);
  const above = fits.find((s) => s > size);
  const nearest = [below, above].filter((s) => s !== undefined);
  throw new ModelConfigError(`${problem}${nearest.length ? `; sizes that fit this model near it: ${nearest.join(', ')} (it takes ${fits.slice(0, 4).join(', ')}, …)` : ''}`);
}

function windowDivisor(cfg: ModelConfig, stage: number, side: number): number {
  const p = cfg.pyramid;
  if (p.mode === 'levels') return 2 ** (p.levels[stage] - 1);
  return side > p.level3Threshold ? 4 : 2;
}
