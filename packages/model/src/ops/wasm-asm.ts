/**
 * A minimal WebAssembly assembler: just enough of the binary format to build pmamba's own kernels
 * at run time, with no toolchain — the selective scan's (scan/cross-selective-scan-wasm.ts) and
 * those that work in tfjs's heap (heap-kernels.ts). Instructions are functions
 * returning their bytes; `Fn` names a function's parameters and locals; `module` packs functions
 * that share one imported memory.
 *
 * @example
 * const f = new Fn('double', { at: 'i32' }, {});             // memory[at] *= 2 (a float32)
 * f.body(f.get('at'), f.get('at'), op.f32.load(), op.f32.const(2), op.f32.mul, op.f32.store());
 * const bytes = module([f], { shared: false, minPages: 1, maxPages: 1 });
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
export type Code = readonly number[];

const TYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const bytesOf = (a: Float32Array | Float64Array | Int32Array) => [...new Uint8Array(a.buffer)];
const vec = (items: Code) => [...uleb(items.length), ...items];
const name = (s: string) => vec([...new TextEncoder().encode(s)]);
const section = (id: number, body: Code) => [id, ...vec(body)];
const simd = (opcode: number, ...imm: number[]) => [0xfd, ...uleb(opcode), ...imm];
/** memarg: alignment (log2 bytes) and a constant offset. */
const mem = (align: number, offset: number) => [align, ...uleb(offset)];

/** Instructions. Loads and stores take an optional constant byte offset. */
export const op = {
  block: (...body: Code[]) => [0x02, 0x40, ...body.flat(), 0x0b],
  loop: (...body: Code[]) => [0x03, 0x40, ...body.flat(), 0x0b],
  /** if … else … end, consuming an i32 condition. */
  if: (then: Code[], otherwise: Code[] = []) => [0x04, 0x40, ...then.flat(), ...(otherwise.length ? [0x05, ...otherwise.flat()] : []), 0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  select: [0x1b],
  i32: {
    const: (v: number) => [0x41, ...sleb(v | 0)],
    load: (offset = 0) => [0x28, ...mem(2, offset)],
    store: (offset = 0) => [0x36, ...mem(2, offset)],
    eqz: [0x45], eq: [0x46], ltU: [0x49], geU: [0x4f],
    add: [0x6a], sub: [0x6b], mul: [0x6c], and: [0x71], shl: [0x74],
  },
  f32: {
    load: (offset = 0) => [0x2a, ...mem(2, offset)],
    store: (offset = 0) => [0x38, ...mem(2, offset)],
    const: (v: number) => [0x43, ...bytesOf(new Float32Array([v]))],
    sqrt: [0x91], add: [0x92], sub: [0x93], mul: [0x94], div: [0x95],
  },
  f64: {
    load: (offset = 0) => [0x2b, ...mem(3, offset)],
    store: (offset = 0) => [0x39, ...mem(3, offset)],
    add: [0xa0], mul: [0xa2],
    promoteF32: [0xbb],
  },
  v128: {
    load: (offset = 0) => simd(0x00, ...mem(4, offset)),
    store: (offset = 0) => simd(0x0b, ...mem(4, offset)),
    f32x4: (v: number) => simd(0x0c, ...bytesOf(new Float32Array([v, v, v, v]))),
    /** i8x16.shuffle(a, b): 16 byte lanes picked from a (0–15) and b (16–31). */
    shuffle: (lanes: readonly number[]) => simd(0x0d, ...lanes),
    /** bitselect(a, b, mask): a where mask bits are 1, else b. */
    bitselect: simd(0x52),
    i32x4: (v: number) => simd(0x0c, ...bytesOf(new Int32Array([v, v, v, v]))),
  },
  f32x4: {
    splat: simd(0x13),
    lane: (i: number) => simd(0x1f, i),
    nearest: simd(0x6a), gt: simd(0x44),
    abs: simd(0xe0), neg: simd(0xe1),
    sqrt: simd(0xe3), add: simd(0xe4), sub: simd(0xe5), mul: simd(0xe6), div: simd(0xe7), min: simd(0xe8), max: simd(0xe9),
    /** pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a: one instruction each, unlike min/max. */
    pmin: simd(0xea), pmax: simd(0xeb),
  },
  /** Bulk memory: copy(dst, src, bytes) may overlap; fill(dst, byte value, bytes). */
  memory: { copy: [0xfc, 10, 0, 0], fill: [0xfc, 11, 0] },
  i32x4: {
    truncSatF32x4S: simd(0xf8),
    shl: simd(0xab), add: simd(0xae),
  },
} as const;

/** A function under construction (no results: the kernels write to memory): named parameters and locals, then its body. */
export class Fn {
  private readonly index = new Map<string, number>();
  private readonly localTypes: ValType[] = [];
  private code: number[] = [];

  constructor(readonly name: string, readonly params: Readonly<Record<string, ValType>>, locals: Readonly<Record<string, ValType>>) {
    for (const p of Object.keys(params)) this.index.set(p, this.index.size);
    for (const [l, t] of Object.entries(locals)) {
      if (this.index.has(l)) throw new Error(`wasm assembler: ${name} declares ${l} twice`);
      this.index.set(l, this.index.size);
      this.localTypes.push(t);
    }
  }

  private at(n: string): number[] {
    const i = this.index.get(n);
    if (i === undefined) throw new Error(`wasm assembler: ${this.name} has no local ${n}`);
    return uleb(i);
  }

  get(n: string): number[] {
    return [0x20, ...this.at(n)];
  }

  set(n: string): number[] {
    return [0x21, ...this.at(n)];
  }

  tee(n: string): number[] {
    return [0x22, ...this.at(n)];
  }

  /** `for (n = from; n < to; n += step) body` over i32 locals (`to`, `step` as code). */
  for(n: string, from: Code, to: Code, step: Code, ...body: Code[]): number[] {
    return [...from, ...this.set(n), ...op.block(op.loop(
      this.get(n), to, op.i32.geU, op.brIf(1), ...body, this.get(n), step, op.i32.add, this.set(n), op.br(0)))];
  }

  body(...code: Code[]): void {
    this.code = code.flat();
  }

  type(): number[] {
    return [0x60, ...vec(Object.values(this.params).map((t) => TYPE[t])), ...vec([])]; // no results
  }

  encode(): number[] {
    const locals = this.localTypes.flatMap((t) => [1, TYPE[t]]);
    return vec([...uleb(this.localTypes.length), ...locals, ...this.code, 0x0b]);
  }
}

/** A module of `fns` (each exported under its name) importing memory `env.memory`. */
export function module(fns: readonly Fn[], memory: { shared: boolean; minPages: number; maxPages: number }): Uint8Array {
  const limits = [memory.shared ? 0x03 : 0x01, ...uleb(memory.minPages), ...uleb(memory.maxPages)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(fns.length), ...fns.flatMap((f) => f.type())]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...limits]),
    ...section(3, [...uleb(fns.length), ...fns.flatMap((_, i) => uleb(i))]),
    ...section(7, [...uleb(fns.length), ...fns.flatMap((f, i) => [...name(f.name), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(fns.length), ...fns.flatMap((f) => f.encode())]),
  ]);
}
