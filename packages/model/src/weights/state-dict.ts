import { toTorchPerm, type ParamEntry, type ParamRegistry } from '../params.ts';
import { permute } from './permute.ts';
import { assignTorchValues } from '../init.ts';
import type { SafeTensor } from './safetensors.ts';
import { WeightsMismatchError } from '../errors.ts';

/** Names the reference saves that carry no information here (identity scan permutations). */
const IGNORED = /\.scans\.index_flat(_inv)?\d*$/;
/** Encoder checkpoint entries outside layer1..3 (classifier head, last stage). */
const ENCODER_UNUSED = /^(fc\.|layer4\.|head\.|classifier\.)/;

function torchValues(e: ParamEntry): Float32Array {
  const values = e.variable.dataSync() as Float32Array;
  const perm = toTorchPerm(e.layout);
  return perm ? permute(values, e.variable.shape, perm) : values.slice();
}

/** The model's state dict in the reference's names and layouts (F32, and I64 buffers). */
export function exportStateDict(reg: ParamRegistry, opts: { ints?: boolean } = {}): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const e of reg.entries.values()) out.set(e.name, { dtype: 'F32', shape: [...e.torchShape], data: torchValues(e) });
  if (opts.ints ?? true) {
    for (const i of reg.ints.values()) out.set(i.name, { dtype: 'I64', shape: [...i.shape], data: i.values.slice() });
  }
  return out;
}

export interface ImportReport {
  loaded: number;
  ignored: string[];
}

/**
 * Loads a state dict with the reference's names into the registry. Every float entry of the
 * model must be present with its shape; any name or shape mismatch throws one error listing
 * all of them. `scans.index_*` entries are ignored by name.
 */
export function importStateDict(reg: ParamRegistry, tensors: Map<string, SafeTensor>, source = 'weights'): ImportReport {
  const missing: string[] = [];
  const wrongShape: string[] = [];
  const unexpected: string[] = [];
  const ignored: string[] = [];
  for (const e of reg.entries.values()) {
    const t = tensors.get(e.name);
    if (!t) missing.push(e.name);
    else if (!sameShape(t.shape, e.torchShape)) wrongShape.push(`${e.name}: file ${fmt(t.shape)}, model ${fmt(e.torchShape)}`);
    else if (!(t.data instanceof Float32Array)) wrongShape.push(`${e.name}: file dtype ${t.dtype}, model F32`);
  }
  for (const name of tensors.keys()) {
    if (reg.entries.has(name) || reg.ints.has(name)) continue;
    if (IGNORED.test(name)) ignored.push(name);
    else unexpected.push(name);
  }
  if (missing.length || wrongShape.length || unexpected.length) {
    throw new WeightsMismatchError(describeMismatch(source, missing, wrongShape, unexpected));
  }
  for (const e of reg.entries.values()) assignTorchValues(e, tensors.get(e.name)!.data as Float32Array);
  for (const i of reg.ints.values()) {
    const t = tensors.get(i.name);
    if (t?.data instanceof BigInt64Array && t.data.length === i.values.length && !IGNORED.test(i.name)) i.values = t.data.slice();
  }
  return { loaded: reg.entries.size, ignored };
}

/** True when the tensors hold only a bare backbone (torchvision / timm names, no model prefixes). */
export function isEncoderOnly(tensors: Map<string, SafeTensor>): boolean {
  const names = [...tensors.keys()].map(stripWrapper);
  return names.some((n) => /^(conv1|bn1|layer[1-4])\./.test(n)) && !names.some((n) => /^(net_t|mff_oce|net_s)\./.test(n));
}

function stripWrapper(name: string): string {
  return name.replace(/^(module\.|model\.|backbone\.)/, '');
}

/**
 * Loads a torchvision/timm ResNet checkpoint (names `conv1.weight`, `layer1.0.bn1.running_var`, …)
 * into the teacher (`net_t.*`); the classifier and layer4 are skipped.
 */
export function importEncoderStateDict(reg: ParamRegistry, tensors: Map<string, SafeTensor>, source = 'encoder weights'): ImportReport {
  const renamed = new Map<string, SafeTensor>();
  const ignored: string[] = [];
  for (const [name, t] of tensors) {
    const n = stripWrapper(name);
    if (ENCODER_UNUSED.test(n)) ignored.push(name);
    else renamed.set(`net_t.${n}`, t);
  }
  const teacher = reg.under('net_t.');
  const missing: string[] = [];
  const wrongShape: string[] = [];
  for (const e of teacher) {
    const t = renamed.get(e.name);
    if (!t) missing.push(e.name.slice(6));
    else if (!sameShape(t.shape, e.torchShape)) wrongShape.push(`${e.name.slice(6)}: file ${fmt(t.shape)}, model ${fmt(e.torchShape)}`);
  }
  const unexpected = [...renamed.keys()].filter((n) => !reg.entries.has(n) && !reg.ints.has(n)).map((n) => n.slice(6));
  if (missing.length || wrongShape.length || unexpected.length) {
    throw new WeightsMismatchError(describeMismatch(source, missing, wrongShape, unexpected));
  }
  for (const e of teacher) assignTorchValues(e, toFloat32(renamed.get(e.name)!));
  return { loaded: teacher.length, ignored };
}

function toFloat32(t: SafeTensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

function describeMismatch(source: string, missing: string[], wrongShape: string[], unexpected: string[]): string {
  const list = (title: string, xs: string[]) => (xs.length ? `\n  ${title} (${xs.length}): ${xs.slice(0, 20).join(', ')}${xs.length > 20 ? ', …' : ''}` : '');
  return `${source} do not match the model:` + list('missing', missing) + list('shape mismatch', wrongShape) + list('unexpected', unexpected);
}
