/**
 * The selective-scan passes as WebAssembly SIMD functions (f32x4 over the N states, and over
 * channels for the step sizes), assembled at run time (../wasm-asm.ts). Each
 * computes what the JS core (selective-scan-kernels.ts) computes for one sequence over a range
 * of Dr channels and steps t0…t1−1, but on float32 running states and accumulators (the JS core
 * keeps them in float64; ∂A is flushed to float64 by `flush` every call, ∂Ds and ∂bias are
 * float64 throughout): exp is a degree-7 polynomial after range reduction and the softplus
 * log1p(e) is 2·atanh(e/(2+e)) as an odd series, both to ~1e-7 relative. N must be a multiple
 * of 4; channel-wise loads read up to 3 floats past a range (arrays need that much slack).
 *
 * All addresses are byte offsets into the shared memory the module imports. The caller moves
 * every pointer to the sequence's first channel, so channel dl (0…Dr−1) of token p is at
 * ptr + p·stride + 4·dl: u, y, gy, gu use uStride; delta, gdelta dtStride; B, C (and the
 * per-unit ∂B, ∂C tables' entries) bcStride. A and gA are the direction's [Dr,N] rows, Ds and
 * bias [Dr] (bias 0: delta is the step size itself), order the int32 token of each step.
 * Scratch: h and gh [Dr,N]; dt buffers [Dr rounded up to 4] per step.
 *
 * @example
 * const k = scanWasm(memory); // null where WebAssembly SIMD is unavailable
 * k?.forward(order, u, uStride, delta, dtStride, b, c, bcStride, t0, t1, A, bias, Dr, N, y, Ds, h, dtBuf);
 */
import { Fn, module, op, type Code } from '../wasm-asm.ts';

const { f32, f64, i32, v128, f32x4, i32x4 } = op;
const c4 = (v: number) => v128.f32x4(v);

/**
 * The exp's constants, kept in locals set once per call: V8 builds a v128.const inside a loop
 * anew on every pass (several instructions each). A function that uses exp4 declares EXP_LOCALS
 * and runs `setConsts` first.
 */
const MAGIC = 12582912; // 1.5·2^23: x + MAGIC rounds x to an integer in the low mantissa bits
const EXP_CONSTS = [-87, 88, Math.LOG2E, MAGIC, 0.693359375, -2.12194440e-4, 1, 1 / 6, 0.5, 1 / 120, 1 / 24, 1 / 5040, 1 / 720];
const constName = (i: number) => `exp${i}`;
const EXP_LOCALS = Object.fromEntries(EXP_CONSTS.map((_, i) => [constName(i), 'v128'])) as Record<string, 'v128'>;
EXP_LOCALS.expBias = 'v128';
const setConsts = (f: Fn): number[] => [
  ...EXP_CONSTS.flatMap((v, i) => [...c4(v), ...f.set(constName(i))]), ...v128.i32x4(127 << 23), ...f.set('expBias')];
const cst = (f: Fn, v: number): number[] => f.get(constName(EXP_CONSTS.indexOf(v)));

/**
 * exp of v128 local x onto the stack; clobbers x, k, r2 and r4. Clamped to [−87, 88] so that 2^k
 * stays normal. Every step is one x64 instruction under V8: pseudo-min/max instead of min/max
 * (which V8 emulates for their NaN rules), and k rounded by the 1.5·2^23 trick, whose sum's low
 * mantissa bits are k itself, so 2^k is that sum's bits shifted into the exponent — no
 * nearest/trunc_sat (emulated too). With the constants in locals, the forward scan ran 1.3× faster.
 */
function exp4(f: Fn, x: string, k: string): number[] {
  const c = (v: number) => cst(f, v);
  return [
    ...f.get(x), ...c(-87), ...f32x4.pmax, ...c(88), ...f32x4.pmin, ...f.set(x),
    ...f.get(x), ...c(Math.LOG2E), ...f32x4.mul, ...c(MAGIC), ...f32x4.add, ...f.tee(k),
    // r = x − kf·ln2 with kf = (x·log2e + MAGIC) − MAGIC, ln2 split in two (0.693359375 is exact in float32)
    ...c(MAGIC), ...f32x4.sub, ...f.tee('r2'), ...c(0.693359375), ...f32x4.mul, ...f.get(x), ...f32x4.sub, ...f32x4.neg,
    ...f.get('r2'), ...c(-2.12194440e-4), ...f32x4.mul, ...f32x4.sub, ...f.set(x),
    // e^r to degree 7 by Estrin's scheme: (1 + r) + r²(½ + r/6) + r⁴((1/24 + r/120) + r²(1/720 + r/5040)).
    ...f.get(x), ...f.get(x), ...f32x4.mul, ...f.set('r2'),
    ...f.get('r2'), ...f.get('r2'), ...f32x4.mul, ...f.set('r4'),
    ...f.get(x), ...c(1), ...f32x4.add,
    ...f.get(x), ...c(1 / 6), ...f32x4.mul, ...c(0.5), ...f32x4.add, ...f.get('r2'), ...f32x4.mul, ...f32x4.add,
    ...f.get(x), ...c(1 / 120), ...f32x4.mul, ...c(1 / 24), ...f32x4.add,
    ...f.get(x), ...c(1 / 5040), ...f32x4.mul, ...c(1 / 720), ...f32x4.add, ...f.get('r2'), ...f32x4.mul, ...f32x4.add,
    ...f.get('r4'), ...f32x4.mul, ...f32x4.add,
    // × 2^k: k's bits shifted into the exponent (MAGIC's own bits shift out), plus the bias 127
    ...f.get(k), ...i32.const(23), ...i32x4.shl, ...f.get('expBias'), ...i32x4.add, ...f32x4.mul,
  ];
}

/**
 * From v128 local x4: sp4 = softplus(x4) = max(x, 0) + log1p(e), e = exp(−|x|), and, with
 * grad, sg4 = sigmoid(x4) = (x > 0 ? 1 : e) / (1 + e). Uses locals e4, k4, s4, t4.
 */
function softplus4(f: Fn, grad: boolean): number[] {
  const series = [1 / 11, 1 / 9, 1 / 7, 1 / 5, 1 / 3, 1];
  return [
    ...f.get('x4'), ...f32x4.abs, ...f32x4.neg, ...f.set('t4'), ...exp4(f, 't4', 'k4'), ...f.set('e4'),
    ...f.get('e4'), ...f.get('e4'), ...c4(2), ...f32x4.add, ...f32x4.div, ...f.set('s4'),
    ...f.get('s4'), ...f.get('s4'), ...f32x4.mul, ...f.set('t4'),
    ...c4(1 / 13), ...series.flatMap((coef) => [...f.get('t4'), ...f32x4.mul, ...c4(coef), ...f32x4.add]),
    ...f.get('s4'), ...f32x4.mul, ...c4(2), ...f32x4.mul,
    ...f.get('x4'), ...c4(0), ...f32x4.pmax, ...f32x4.add, ...f.set('sp4'),
    ...(grad ? [
      ...c4(1), ...f.get('e4'), ...f.get('x4'), ...c4(0), ...f32x4.gt, ...v128.bitselect,
      ...f.get('e4'), ...c4(1), ...f32x4.add, ...f32x4.div, ...f.set('sg4'),
    ] : []),
  ];
}

/** Address of element `index` (i32 local) of 2^shift-byte elements of the array at local `base`. */
const at = (f: Fn, base: string, index = 'dl', shift = 2): Code => [...f.get(base), ...f.get(index), ...i32.const(shift), ...i32.shl, ...i32.add];

const SEQ = {
  order: 'i32', u: 'i32', uStride: 'i32', delta: 'i32', dtStride: 'i32', b: 'i32', c: 'i32', bcStride: 'i32', t0: 'i32', t1: 'i32',
} as const;
const RANGE = { A: 'i32', bias: 'i32', Dr: 'i32', N: 'i32' } as const;
const STEP = {
  t: 'i32', p: 'i32', uo: 'i32', dto: 'i32', bo: 'i32', co: 'i32', dl: 'i32', dn: 'i32', nb: 'i32', N4: 'i32', Drp: 'i32',
  dt: 'f32', uv: 'f32', x4: 'v128', k4: 'v128', e4: 'v128', s4: 'v128', t4: 'v128', sp4: 'v128', sg4: 'v128',
  dt4: 'v128', dtu4: 'v128', hv: 'v128', r2: 'v128', r4: 'v128',
} as const;

/** N4 = N in bytes; Drp = Dr rounded up to 4 channels. */
const sizes = (f: Fn): number[] => [
  ...f.get('N'), ...i32.const(2), ...i32.shl, ...f.set('N4'),
  ...f.get('Dr'), ...i32.const(3), ...i32.add, ...i32.const(-4), ...i32.and, ...f.set('Drp'),
];

/** Step t's token offsets: p, then uo (u row), dto (delta row), bo / co (B / C rows). */
function stepOffsets(f: Fn): number[] {
  return [
    ...f.get('order'), ...f.get('t'), ...i32.const(2), ...i32.shl, ...i32.add, ...i32.load(), ...f.set('p'),
    ...f.get('u'), ...f.get('p'), ...f.get('uStride'), ...i32.mul, ...i32.add, ...f.set('uo'),
    ...f.get('delta'), ...f.get('p'), ...f.get('dtStride'), ...i32.mul, ...i32.add, ...f.set('dto'),
    ...f.get('p'), ...f.get('bcStride'), ...i32.mul, ...f.tee('bo'), ...f.get('c'), ...i32.add, ...f.set('co'),
    ...f.get('bo'), ...f.get('b'), ...i32.add, ...f.set('bo'),
  ];
}

/** The step sizes of all Dr channels at step t, 4 at a time, to local `out` (and softplus′ to `gradOut`). */
function stepSizes(f: Fn, out: string, gradOut?: string): number[] {
  const load = [...at(f, 'dto'), ...v128.load()];
  const store = (dst: string, v: Code) => [...at(f, dst), ...v, ...v128.store()];
  return [
    ...f.get('bias'), ...i32.eqz,
    ...op.if(
      [f.for('dl', i32.const(0), f.get('Drp'), i32.const(4),
        store(out, load), ...(gradOut ? [store(gradOut, c4(1))] : []))],
      [f.for('dl', i32.const(0), f.get('Drp'), i32.const(4),
        load, at(f, 'bias'), v128.load(), f32x4.add, f.set('x4'), softplus4(f, gradOut !== undefined),
        store(out, f.get('sp4')), ...(gradOut ? [store(gradOut, f.get('sg4'))] : []))]),
  ];
}

/** Local dt = buffer[dl], uv = u[dl]; dt4, dtu4 splats. */
function channelInputs(f: Fn, dtBuf: Code): number[] {
  return [
    ...dtBuf, ...f.get('dl'), ...i32.const(2), ...i32.shl, ...i32.add, ...f32.load(), ...f.set('dt'),
    ...at(f, 'uo'), ...f32.load(), ...f.set('uv'),
    ...f.get('dt'), ...f32x4.splat, ...f.set('dt4'),
    ...f.get('dt'), ...f.get('uv'), ...f32.mul, ...f32x4.splat, ...f.set('dtu4'),
  ];
}

/** Local hv = exp(dt·A)·h + dt·u·B for states nb…nb+3 of channel dl (decay left in local e4); h from `h` + offset `hOff`. */
function stateUpdate(f: Fn, h: Code): number[] {
  return [
    ...f.get('dt4'), ...f.get('A'), ...f.get('dn'), ...i32.add, ...f.get('nb'), ...i32.add, ...v128.load(), ...f32x4.mul,
    ...f.set('x4'), ...exp4(f, 'x4', 'k4'), ...f.tee('e4'),
    ...h, ...v128.load(), ...f32x4.mul,
    ...f.get('dtu4'), ...f.get('bo'), ...f.get('nb'), ...i32.add, ...v128.load(), ...f32x4.mul, ...f32x4.add, ...f.set('hv'),
  ];
}

/** Σ of the 4 lanes of v128 local v, as f32. */
const lanes = (f: Fn, v: string): number[] => [
  ...f.get(v), ...f32x4.lane(0), ...f.get(v), ...f32x4.lane(1), ...f32.add, ...f.get(v), ...f32x4.lane(2), ...f32.add,
  ...f.get(v), ...f32x4.lane(3), ...f32.add,
];

/** forward: y[token] += C·h + Ds·u over steps t0…t1−1, continuing from state h. */
function forwardFn(): Fn {
  const f = new Fn('forward', { ...SEQ, ...RANGE, y: 'i32', Ds: 'i32', h: 'i32', dtBuf: 'i32' }, { ...STEP, ...EXP_LOCALS, yo: 'i32', acc: 'v128' });
  const hAt = [...f.get('h'), ...f.get('dn'), ...i32.add, ...f.get('nb'), ...i32.add];
  f.body(
    setConsts(f), sizes(f),
    f.for('t', f.get('t0'), f.get('t1'), i32.const(1),
      stepOffsets(f),
      f.get('y'), f.get('p'), f.get('uStride'), i32.mul, i32.add, f.set('yo'),
      stepSizes(f, 'dtBuf'),
      i32.const(0), f.set('dn'),
      f.for('dl', i32.const(0), f.get('Dr'), i32.const(1),
        channelInputs(f, f.get('dtBuf')),
        c4(0), f.set('acc'),
        f.for('nb', i32.const(0), f.get('N4'), i32.const(16),
          stateUpdate(f, hAt),
          hAt, f.get('hv'), v128.store(),
          f.get('acc'), f.get('hv'), f.get('co'), f.get('nb'), i32.add, v128.load(), f32x4.mul, f32x4.add, f.set('acc')),
        at(f, 'yo'),
        at(f, 'yo'), f32.load(), lanes(f, 'acc'), at(f, 'Ds'), f32.load(), f.get('uv'), f32.mul, f32.add, f32.add,
        f32.store(),
        f.get('dn'), f.get('N4'), i32.add, f.set('dn'))),
  );
  return f;
}

/** advance: state h over steps t0…t1−1, no output. */
function advanceFn(): Fn {
  const f = new Fn('advance', { ...SEQ, ...RANGE, h: 'i32', dtBuf: 'i32' }, { ...STEP, ...EXP_LOCALS });
  const hAt = [...f.get('h'), ...f.get('dn'), ...i32.add, ...f.get('nb'), ...i32.add];
  f.body(
    setConsts(f), sizes(f),
    f.for('t', f.get('t0'), f.get('t1'), i32.const(1),
      stepOffsets(f),
      stepSizes(f, 'dtBuf'),
      i32.const(0), f.set('dn'),
      f.for('dl', i32.const(0), f.get('Dr'), i32.const(1),
        channelInputs(f, f.get('dtBuf')),
        f.for('nb', i32.const(0), f.get('N4'), i32.const(16), stateUpdate(f, hAt), hAt, f.get('hv'), v128.store()),
        f.get('dn'), f.get('N4'), i32.add, f.set('dn'))),
  );
  return f;
}

/**
 * replay: from the state in hs slot 0, steps t0…t1−1, keeping the state after each step in hs
 * slot t−t0+1, its decay exp(dt·A) in decay slot t−t0, dt and softplus′ in dts / dtg slot t−t0.
 */
function replayFn(): Fn {
  const f = new Fn('replay', { ...SEQ, ...RANGE, hs: 'i32', decay: 'i32', dts: 'i32', dtg: 'i32' },
    { ...STEP, ...EXP_LOCALS, DN4: 'i32', prev: 'i32', dtOut: 'i32', gOut: 'i32' });
  const prevAt = (base: string) => [...f.get(base), ...f.get('prev'), ...i32.add, ...f.get('dn'), ...i32.add, ...f.get('nb'), ...i32.add];
  f.body(
    setConsts(f), sizes(f),
    f.get('Dr'), f.get('N4'), i32.mul, f.set('DN4'),
    f.for('t', f.get('t0'), f.get('t1'), i32.const(1),
      stepOffsets(f),
      f.get('t'), f.get('t0'), i32.sub, f.tee('prev'), f.get('Drp'), i32.mul, i32.const(2), i32.shl, f.tee('dtOut'),
      f.get('dts'), i32.add, f.set('dtOut'),
      f.get('dtOut'), f.get('dts'), i32.sub, f.get('dtg'), i32.add, f.set('gOut'),
      f.get('prev'), f.get('DN4'), i32.mul, f.set('prev'),
      stepSizes(f, 'dtOut', 'gOut'),
      i32.const(0), f.set('dn'),
      f.for('dl', i32.const(0), f.get('Dr'), i32.const(1),
        channelInputs(f, f.get('dtOut')),
        f.for('nb', i32.const(0), f.get('N4'), i32.const(16),
          stateUpdate(f, prevAt('hs')),
          prevAt('decay'), f.get('e4'), v128.store(),
          prevAt('hs'), f.get('DN4'), i32.add, f.get('hv'), v128.store()),
        f.get('dn'), f.get('N4'), i32.add, f.set('dn'))),
  );
  return f;
}

/**
 * reverse: steps t1−1 down to t0 of the chunk replayed from step tBase, accumulating every
 * gradient: gu += and gdelta = per channel; gA (float32 [Dr,N]) +=; gDs, gBias (float64 [Dr]) +=;
 * ∂B, ∂C of each unit of `unit` channels written to the unit's array (gBtab / gCtab: int32 base
 * addresses per unit); gh carries ∂loss/∂h between steps; gBt, gCt are N-float scratch.
 */
function reverseFn(): Fn {
  const f = new Fn('reverse', {
    ...SEQ, A: 'i32', Dr: 'i32', N: 'i32', Ds: 'i32', hs: 'i32', decay: 'i32', dts: 'i32', dtg: 'i32', tBase: 'i32', gh: 'i32',
    gy: 'i32', gu: 'i32', gdelta: 'i32', gA: 'i32', gDs: 'i32', gBias: 'i32', gBtab: 'i32', gCtab: 'i32', unit: 'i32',
    gBt: 'i32', gCt: 'i32',
  }, {
    ...STEP, DN4: 'i32', prev: 'i32', ci: 'i32', gyo: 'i32', guo: 'i32', gdo: 'i32', q0: 'i32', q1: 'i32', qi: 'i32', i: 'i32',
    gyv: 'f32', gStep: 'f32', gBu: 'f32', gDeltaV: 'f32',
    gy4: 'v128', g: 'v128', e: 'v128', gEh: 'v128', bn: 'v128', gStep4: 'v128', gBu4: 'v128',
  });
  const vAt = (base: string, extra: Code = []) => [...f.get(base), ...extra, ...f.get('i'), ...i32.add];
  const prevI = [...f.get('prev'), ...i32.add];
  const unitEnd = [...f.get('q0'), ...f.get('unit'), ...i32.add, ...f.get('Dr'),
    ...f.get('q0'), ...f.get('unit'), ...i32.add, ...f.get('Dr'), ...i32.ltU, ...op.select];
  const flushUnit = (tab: string, acc: string) => f.for('nb', i32.const(0), f.get('N4'), i32.const(16),
    f.get(tab), f.get('qi'), i32.const(2), i32.shl, i32.add, i32.load(), f.get('p'), f.get('bcStride'), i32.mul, i32.add,
    f.get('nb'), i32.add,
    f.get(acc), f.get('nb'), i32.add, v128.load(), v128.store());
  const zero = (acc: string) => f.for('nb', i32.const(0), f.get('N4'), i32.const(16),
    f.get(acc), f.get('nb'), i32.add, c4(0), v128.store());
  const addTo = (addr: Code, v: Code) => [...addr, ...addr, ...v128.load(), ...v, ...f32x4.add, ...v128.store()];
  f.body(
    sizes(f),
    f.get('Dr'), f.get('N4'), i32.mul, f.set('DN4'),
    f.get('t1'), f.set('t'),
    op.block(op.loop(
      f.get('t'), f.get('t0'), i32.eq, op.brIf(1),
      f.get('t'), i32.const(1), i32.sub, f.set('t'),
      stepOffsets(f),
      f.get('gy'), f.get('p'), f.get('uStride'), i32.mul, i32.add, f.set('gyo'),
      f.get('gu'), f.get('p'), f.get('uStride'), i32.mul, i32.add, f.set('guo'),
      f.get('gdelta'), f.get('p'), f.get('dtStride'), i32.mul, i32.add, f.set('gdo'),
      f.get('t'), f.get('tBase'), i32.sub, f.tee('prev'), f.get('Drp'), i32.mul, i32.const(2), i32.shl, f.set('ci'),
      f.get('prev'), f.get('DN4'), i32.mul, f.set('prev'),
      i32.const(0), f.set('qi'),
      f.for('q0', i32.const(0), f.get('Dr'), f.get('unit'),
        unitEnd, f.set('q1'),
        zero('gBt'), zero('gCt'),
        f.get('q0'), f.get('N4'), i32.mul, f.set('dn'),
        f.for('dl', f.get('q0'), f.get('q1'), i32.const(1),
          f.get('dts'), f.get('ci'), i32.add, f.get('dl'), i32.const(2), i32.shl, i32.add, f32.load(), f.set('dt'),
          at(f, 'uo'), f32.load(), f.set('uv'),
          at(f, 'gyo'), f32.load(), f.set('gyv'),
          f.get('dt'), f32x4.splat, f.set('dt4'),
          f.get('dt'), f.get('uv'), f32.mul, f32x4.splat, f.set('dtu4'),
          f.get('gyv'), f32x4.splat, f.set('gy4'),
          c4(0), f.set('gStep4'), c4(0), f.set('gBu4'),
          f.for('nb', i32.const(0), f.get('N4'), i32.const(16),
            f.get('dn'), f.get('nb'), i32.add, f.set('i'),
            // g = ∂loss/∂h_t = gh + gy·C_t
            vAt('gh'), v128.load(), f.get('gy4'), f.get('co'), f.get('nb'), i32.add, v128.load(), f32x4.mul, f32x4.add, f.set('g'),
            vAt('decay', prevI), v128.load(), f.set('e'),
            f.get('g'), f.get('e'), f32x4.mul, vAt('hs', prevI), v128.load(), f32x4.mul, f.set('gEh'),
            f.get('bo'), f.get('nb'), i32.add, v128.load(), f.set('bn'),
            addTo([...f.get('gCt'), ...f.get('nb'), ...i32.add],
              [...f.get('gy4'), ...vAt('hs', [...f.get('prev'), ...i32.add, ...f.get('DN4'), ...i32.add]), ...v128.load(), ...f32x4.mul]),
            addTo([...f.get('gBt'), ...f.get('nb'), ...i32.add], [...f.get('g'), ...f.get('dtu4'), ...f32x4.mul]),
            // ∂dt = Σ_n gEh·A + u·Σ_n g·B: the second sum is gBu4's, u applied once per channel below
            f.get('gStep4'), f.get('gEh'), vAt('A'), v128.load(), f32x4.mul, f32x4.add, f.set('gStep4'),
            f.get('gBu4'), f.get('g'), f.get('bn'), f32x4.mul, f32x4.add, f.set('gBu4'),
            addTo(vAt('gA'), [...f.get('gEh'), ...f.get('dt4'), ...f32x4.mul]),
            vAt('gh'), f.get('g'), f.get('e'), f32x4.mul, v128.store()),
          lanes(f, 'gBu4'), f.set('gBu'),
          lanes(f, 'gStep4'), f.get('gBu'), f.get('uv'), f32.mul, f32.add, f.get('dtg'), f.get('ci'), i32.add,
          f.get('dl'), i32.const(2), i32.shl, i32.add, f32.load(), f32.mul, f.set('gDeltaV'),
          at(f, 'guo'), at(f, 'guo'), f32.load(), f.get('gBu'), f.get('dt'), f32.mul, f.get('gyv'), at(f, 'Ds'), f32.load(), f32.mul,
          f32.add, f32.add, f32.store(),
          at(f, 'gdo'), f.get('gDeltaV'), f32.store(),
          at(f, 'gDs', 'dl', 3), at(f, 'gDs', 'dl', 3), f64.load(), f.get('gyv'), f64.promoteF32, f.get('uv'), f64.promoteF32, f64.mul,
          f64.add, f64.store(),
          at(f, 'gBias', 'dl', 3), at(f, 'gBias', 'dl', 3), f64.load(), f.get('gDeltaV'), f64.promoteF32, f64.add, f64.store(),
          f.get('dn'), f.get('N4'), i32.add, f.set('dn')),
        flushUnit('gBtab', 'gBt'), flushUnit('gCtab', 'gCt'),
        f.get('qi'), i32.const(1), i32.add, f.set('qi')),
      op.br(0))),
  );
  return f;
}

/** flush: gA64[i] += gA32[i]; gA32[i] = 0 for i < count (float32 accumulators into float64). */
function flushFn(): Fn {
  const f = new Fn('flush', { gA32: 'i32', gA64: 'i32', count: 'i32' }, { i: 'i32' });
  f.body(f.for('i', i32.const(0), f.get('count'), i32.const(1),
    at(f, 'gA64', 'i', 3), at(f, 'gA64', 'i', 3), f64.load(), at(f, 'gA32', 'i'), f32.load(), f64.promoteF32, f64.add, f64.store(),
    at(f, 'gA32', 'i'), f32.const(0), f32.store()));
  return f;
}

/** Page count the module declares as its memory's maximum (4 GiB). */
export const MAX_PAGES = 65536;

/** The parts of a WebAssembly.Memory the scan uses. */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}

// The WebAssembly JS API, typed here: the project's libraries (ES2023, @types/node 20) do not declare it.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A shared memory of `pages` 64-KiB pages that the kernels can be bound to. */
export function sharedWasmMemory(pages: number): WasmMemory {
  return new wasm.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
}

type I = number;
export interface ScanWasm {
  forward(order: I, u: I, uStride: I, delta: I, dtStride: I, b: I, c: I, bcStride: I, t0: I, t1: I, A: I, bias: I, Dr: I, N: I,
    y: I, Ds: I, h: I, dtBuf: I): void;
  advance(order: I, u: I, uStride: I, delta: I, dtStride: I, b: I, c: I, bcStride: I, t0: I, t1: I, A: I, bias: I, Dr: I, N: I,
    h: I, dtBuf: I): void;
  replay(order: I, u: I, uStride: I, delta: I, dtStride: I, b: I, c: I, bcStride: I, t0: I, t1: I, A: I, bias: I, Dr: I, N: I,
    hs: I, decay: I, dts: I, dtg: I): void;
  reverse(order: I, u: I, uStride: I, delta: I, dtStride: I, b: I, c: I, bcStride: I, t0: I, t1: I, A: I, Dr: I, N: I, Ds: I,
    hs: I, decay: I, dts: I, dtg: I, tBase: I, gh: I, gy: I, gu: I, gdelta: I, gA: I, gDs: I, gBias: I, gBtab: I, gCtab: I,
    unit: I, gBt: I, gCt: I): void;
  flush(gA32: I, gA64: I, count: I): void;
}

let compiled: object | null | undefined;

/** The kernels bound to `memory` (from sharedWasmMemory), or null where WebAssembly SIMD is unavailable. */
export function scanWasm(memory: WasmMemory): ScanWasm | null {
  if (compiled === undefined) {
    const bytes = module([forwardFn(), advanceFn(), replayFn(), reverseFn(), flushFn()], { shared: true, minPages: 1, maxPages: MAX_PAGES });
    compiled = wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled && (new wasm.Instance(compiled, { env: { memory } }).exports as ScanWasm);
}
