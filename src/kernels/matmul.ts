/**
 * matmul: C = act(op(A)·op(B) + bias) on the caller's buffers, and its
 * backward products. Shapes and layouts: see shaders/matmul.wgsl.
 *
 * Several kernels compute the same thing (the variants below); which one runs
 * is chosen per call: `options.variant` when given, else the choice made by
 * `tuneMatmul` (src/kernels/autotune.ts) for the call's shape on this device,
 * else the default of the device's kernel profile (register-blocked kernels under
 * `cpu`, for adapters that run workgroups on CPU threads; the portable `direct`
 * kernel under `gpu`).
 */
import { kernelProfile } from '../gpu/profile.ts';
import { activationCode, DEFAULT_ALPHA, type Activation } from './activation-codes.ts';
import { createBuffer, STORAGE } from '../gpu/buffers.ts';
import { makeCall, placeholderBuffer, type BufferArg, type KernelCall, type StandIn } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, fixedWorkgroupSize, grid1d, invocationsPerGroup } from './kernel.ts';

/**
 * The matmul kernels, all with the same semantics and uniform fields; variant
 * `v` is the WGSL entry point `matmul_<v>`:
 * - `direct`: 8×8 register blocks per invocation, no workgroup memory (shaders/matmul.wgsl's matmul_direct); any shape.
 * - `reg4x4`: 4×4 register blocks per invocation (matmul.wgsl's matmul_reg4x4); any shape; the
 *   textbook register-blocked kernel, a reference point for benchmarks (never a default).
 * - `tiled`: 64×64 tiles through workgroup memory, two barriers per 16 steps of K
 *   (shaders/matmul_tiled.wgsl); any shape; the classic GPU scheme.
 * - `naive`: one entry of C per invocation (shaders/matmul_naive.wgsl); any shape; the reference point.
 * - `blocked`: 16×32 register blocks of 4×4 matrices, vec4 loads (shaders/matmul_blocked.wgsl);
 *   needs the contiguous dimension of A and of B to be a multiple of 4.
 * - `subgroup`: `blocked` with the loads of B shared by subgroup broadcasts
 *   (shaders/matmul_subgroup.wgsl); same shapes as `blocked`, and the 'subgroups' feature.
 * - `unaligned`: `blocked`'s register blocks reading and writing f32 (shaders/matmul_unaligned.wgsl);
 *   any shape; for the shapes `blocked` cannot take (a contiguous dimension not a multiple of 4).
 */
export const MATMUL_VARIANTS = ['direct', 'tiled', 'naive', 'blocked', 'subgroup', 'reg4x4', 'unaligned'] as const;

export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

export interface MatmulOptions {
  /** Rows of op(A) and C. */
  readonly m: number;
  /** Columns of op(B) and C. */
  readonly n: number;
  /** Columns of op(A), rows of op(B). */
  readonly k: number;
  /** A is stored (K, M). */
  readonly transA?: boolean;
  /** B is stored (N, K). */
  readonly transB?: boolean;
  /** Epilogue activation (default identity). */
  readonly activation?: Activation;
  /** leaky_relu slope / elu scale of the epilogue (default: PyTorch's). */
  readonly alpha?: number;
  /** Add the product into C instead of overwriting it (no bias, no activation). */
  readonly accumulate?: boolean;
  /** Kernel to use; by default the tuned or adapter default choice (see matmulVariant). */
  readonly variant?: MatmulVariant;
}

export interface MatmulBuffers {
  /** A: (M, K), or (K, M) with transA. */
  readonly a: BufferArg;
  /** B: (K, N), or (N, K) with transB (nn.Linear's weight). */
  readonly b: BufferArg;
  /** C: (M, N), written (or added into with accumulate). */
  readonly c: BufferArg;
  /** bias: (N), added to every row. */
  readonly bias?: BufferArg;
}

/** The part of the options that decides which kernels can run and how fast. */
export interface MatmulShape {
  /** Rows of op(A) and C. */
  readonly m: number;
  /** Columns of op(B) and C. */
  readonly n: number;
  /** Columns of op(A), rows of op(B). */
  readonly k: number;
  /** A is stored (K, M). */
  readonly transA?: boolean;
  /** B is stored (N, K). */
  readonly transB?: boolean;
}

/** A key naming one shape and layout, e.g. `128x784x400:nt` (M x K x N, then the transposes). */
export function matmulShapeKey(s: MatmulShape): string {
  return `${s.m}x${s.k}x${s.n}:${s.transA ? 't' : 'n'}${s.transB ? 't' : 'n'}`;
}

/**
 * The shape class a tuned choice applies to when the exact shape was not tuned:
 * the layout and the size of the product (multiply-adds: small < 2^21 ≤ medium < 2^26 ≤ large).
 */
export function matmulShapeClass(s: MatmulShape): string {
  const macs = s.m * s.n * s.k;
  const size = macs < 2 ** 21 ? 'small' : macs < 2 ** 26 ? 'medium' : 'large';
  return `${s.transA ? 't' : 'n'}${s.transB ? 't' : 'n'}:${size}`;
}

/** Why `variant` cannot compute this shape on this device, or null when it can. */
export function matmulUnsupported(device: GPUDevice, variant: MatmulVariant, s: MatmulShape): string | null {
  if (variant !== 'blocked' && variant !== 'subgroup') return null;
  if (variant === 'subgroup' && !device.features.has('subgroups')) return "the device was created without the 'subgroups' feature";
  const a = s.transA ? { what: 'Aᵀ (stored K×M)', dim: 'M', v: s.m } : { what: 'A (stored M×K)', dim: 'K', v: s.k };
  const b = s.transB ? { what: 'Bᵀ (stored N×K)', dim: 'K', v: s.k } : { what: 'B (stored K×N)', dim: 'N', v: s.n };
  for (const x of [a, b]) {
    if (x.v % 4 !== 0) return `it reads ${x.what} as rows of vec4, so ${x.dim} must be a multiple of 4 (${x.dim} = ${x.v})`;
  }
  if (s.n % 4 !== 0) return `it writes C (stored M×N) as rows of vec4, so N must be a multiple of 4 (N = ${s.n})`;
  return null;
}

interface Tuned {
  readonly byShape: Map<string, MatmulVariant>;
  readonly byClass: Map<string, MatmulVariant>;
}

const tuned = new WeakMap<GPUDevice, Tuned>();

/**
 * Records tuned choices for a device (used by tuneMatmul): per exact shape key
 * and per shape class. Choices must be able to run the shapes they name.
 */
export function setMatmulChoices(
  device: GPUDevice,
  byShape: ReadonlyMap<string, MatmulVariant>,
  byClass: ReadonlyMap<string, MatmulVariant>,
): void {
  let t = tuned.get(device);
  if (!t) {
    t = { byShape: new Map(), byClass: new Map() };
    tuned.set(device, t);
  }
  for (const [k, v] of byShape) t.byShape.set(k, v);
  for (const [k, v] of byClass) t.byClass.set(k, v);
}

/** Forgets the tuned choices of a device (matmul falls back to the adapter default). */
export function clearMatmulChoices(device: GPUDevice): void {
  tuned.delete(device);
}

/**
 * The default for a shape under the device's kernel profile (src/gpu/profile.ts):
 * under `cpu` the register-blocked kernels (`subgroup` when its 64-row
 * workgroups waste at most a fifth of their rows, else `blocked`; `unaligned`
 * when a contiguous dimension is not a multiple of 4), under `gpu` the
 * portable `direct`.
 */
export function defaultMatmulVariant(device: GPUDevice, s: MatmulShape): MatmulVariant {
  if (kernelProfile(device) === 'cpu') {
    const rows = subgroupRows();
    if (Math.ceil(s.m / rows) * rows <= 1.25 * s.m && matmulUnsupported(device, 'subgroup', s) === null) return 'subgroup';
    return matmulUnsupported(device, 'blocked', s) === null ? 'blocked' : 'unaligned';
  }
  return 'direct';
}

/**
 * The kernel `matmul` uses for this shape without an explicit variant: the
 * tuned choice for the exact shape, else for its class (when it can run the
 * shape), else the adapter default.
 */
export function matmulVariant(device: GPUDevice, s: MatmulShape): MatmulVariant {
  const t = tuned.get(device);
  const choice = t?.byShape.get(matmulShapeKey(s)) ?? t?.byClass.get(matmulShapeClass(s));
  if (choice && matmulUnsupported(device, choice, s) === null) return choice;
  return defaultMatmulVariant(device, s);
}

interface VariantSpec {
  readonly shader: string;
  readonly entry: string;
  /** Binding names of A, B and C in the shader (vec4 views for the blocked kernels). */
  readonly a: string;
  readonly b: string;
  readonly c: string;
  /** The dispatch over rows [row0, row0 + rows) of C (the register-blocked kernels; the others take all of M). */
  readonly workgroups: (device: GPUDevice, o: MatmulOptions, rows: number) => [number, number, number];
}

/**
 * The square block of C one invocation computes: matmul.wgsl's 8×8
 * (matmul_direct) and 4×4 (matmul_reg4x4), matmul_tiled.wgsl's 4×4,
 * matmul_naive.wgsl's single entry.
 */
const DIRECT_BLOCK = 8;
const REG4X4_BLOCK = 4;
const TILED_BLOCK = 4;
const NAIVE_BLOCK = 1;
/** The register block of the vec4 kernels (block_mma.wgsl): 16 rows × 32 columns of C per invocation. */
const MMA_ROWS = 16;
const MMA_COLS = 32;

/**
 * The workgroups of a kernel whose workgroup is a (x, y) grid of invocations
 * (its reflected size), x over the columns of C and y over its rows, each
 * invocation computing a block × block piece of C.
 */
function tileGrid(shader: string, entry: string, o: MatmulOptions, block: number): [number, number, number] {
  const [x, y] = fixedWorkgroupSize(shader, entry);
  return [Math.ceil(o.n / (x * block)), Math.ceil(o.m / (y * block)), 1];
}

/** Rows of C one workgroup of matmul_subgroup covers: its invocations stacked, MMA_ROWS each, over one block of MMA_COLS columns. */
function subgroupRows(): number {
  return invocationsPerGroup('matmul_subgroup', 'matmul_subgroup') * MMA_ROWS;
}

const SPECS: Readonly<Record<MatmulVariant, VariantSpec>> = {
  direct: { shader: 'matmul', entry: 'matmul_direct', a: 'a', b: 'b', c: 'c', workgroups: (_, o) => tileGrid('matmul', 'matmul_direct', o, DIRECT_BLOCK) },
  tiled: { shader: 'matmul_tiled', entry: 'matmul_tiled', a: 'a', b: 'b', c: 'c', workgroups: (_, o) => tileGrid('matmul_tiled', 'matmul_tiled', o, TILED_BLOCK) },
  reg4x4: { shader: 'matmul', entry: 'matmul_reg4x4', a: 'a', b: 'b', c: 'c', workgroups: (_, o) => tileGrid('matmul', 'matmul_reg4x4', o, REG4X4_BLOCK) },
  naive: { shader: 'matmul_naive', entry: 'matmul_naive', a: 'a', b: 'b', c: 'c', workgroups: (_, o) => tileGrid('matmul_naive', 'matmul_naive', o, NAIVE_BLOCK) },
  blocked: {
    shader: 'matmul_blocked',
    entry: 'matmul_blocked',
    a: 'a4',
    b: 'b4',
    c: 'c4',
    // One block per invocation, listed linearly.
    workgroups: (device, o, rows) => grid1d(device, Math.ceil(rows / MMA_ROWS) * Math.ceil(o.n / MMA_COLS), invocationsPerGroup('matmul_blocked', 'matmul_blocked')),
  },
  subgroup: {
    shader: 'matmul_subgroup',
    entry: 'matmul_subgroup',
    a: 'a4',
    b: 'b4',
    c: 'c4',
    workgroups: (_, o, rows) => [Math.ceil(o.n / MMA_COLS), Math.ceil(rows / subgroupRows()), 1],
  },
  unaligned: {
    shader: 'matmul_unaligned',
    entry: 'matmul_unaligned',
    a: 'a',
    b: 'b',
    c: 'c',
    // One block per invocation, listed linearly.
    workgroups: (device, o) => grid1d(device, Math.ceil(o.m / MMA_ROWS) * Math.ceil(o.n / MMA_COLS), invocationsPerGroup('matmul_unaligned', 'matmul_unaligned')),
  },
};

/**
 * The override constants of a variant's pipeline: the layout, and for the
 * register-blocked kernels (and their stand-in) the epilogue too (activation
 * code, accumulate), so that the compiler folds away what the call does not use.
 */
function matmulConstants(variant: MatmulVariant, o: MatmulOptions & { readonly accumulate?: boolean }): Record<string, number> {
  const layout = { TA: o.transA ? 1 : 0, TB: o.transB ? 1 : 0 };
  if (variant !== 'blocked' && variant !== 'subgroup' && variant !== 'unaligned') return layout;
  return { ...layout, ACT: activationCode(o.activation ?? 'identity'), ACCUMULATE: o.accumulate ? 1 : 0 };
}

/**
 * Under the `cpu` profile, the register-blocked kernels get a stand-in:
 * shaders/matmul_tile.wgsl (for `blocked` and `subgroup`) and
 * matmul_unaligned.wgsl's matmul_unaligned_tile (for `unaligned`) compute the
 * same tiles with the same arithmetic (bit-identical results;
 * test/cases/matmul.ts checks it on the adapter) and compile in a fraction of
 * their time (seconds each on SwiftShader), so a compiled step runs while they
 * compile in the background. GPUs compile the block kernels quickly and may
 * contract a * b + c differently in the two, so they get none.
 */
export function matmulStandIn(device: GPUDevice, variant: MatmulVariant, o: MatmulOptions, rows = o.m): StandIn | null {
  if (kernelProfile(device) !== 'cpu') return null;
  const constants = matmulConstants(variant, o);
  if (variant === 'unaligned') {
    return { shader: 'matmul_unaligned', entry: 'matmul_unaligned_tile', constants, workgroups: grid1d(device, Math.ceil(o.m / 4) * Math.ceil(o.n / 4), invocationsPerGroup('matmul_unaligned', 'matmul_unaligned_tile')) };
  }
  if (variant !== 'blocked' && variant !== 'subgroup') return null;
  return { shader: 'matmul_tile', entry: 'matmul_tile', constants, workgroups: grid1d(device, Math.ceil(rows / 4) * (o.n / 4), invocationsPerGroup('matmul_tile', 'matmul_tile')) };
}

/** The variant a call runs: the given one (checked), else matmulVariant's choice. */
function resolveMatmul(device: GPUDevice, op: string, bufs: MatmulBuffers, o: MatmulOptions): MatmulVariant {
  checkSizes('matmul', { m: o.m, n: o.n, k: o.k });
  checkBuffer(op, 'a', bufs.a, o.m * o.k);
  checkBuffer(op, 'b', bufs.b, o.k * o.n);
  checkBuffer(op, 'c', bufs.c, o.m * o.n);
  if (bufs.bias) checkBuffer(op, 'bias', bufs.bias, o.n);
  const act = o.activation ?? 'identity';
  if (o.accumulate && (bufs.bias || act !== 'identity')) {
    throw new Error(`${op}: accumulate adds the bare product into C; bias and activation must be off`);
  }
  if (o.variant === undefined) return matmulVariant(device, o);
  if (!MATMUL_VARIANTS.includes(o.variant)) {
    throw new Error(`${op}: unknown variant '${o.variant}': expected one of ${MATMUL_VARIANTS.join(', ')}`);
  }
  const why = matmulUnsupported(device, o.variant, o);
  if (why) throw new Error(`${op}: variant '${o.variant}' cannot run ${matmulShapeKey(o)}: ${why}`);
  return o.variant;
}

/** The dispatch of `variant` over rows [row0, rowEnd) of C (all of them for the kernels without a row range). */
function matmulDispatch(device: GPUDevice, op: string, bufs: MatmulBuffers, o: MatmulOptions, variant: MatmulVariant,
  row0: number, rowEnd: number, what: string): KernelCall {
  const spec = SPECS[variant];
  const act = o.activation ?? 'identity';
  const standIn = matmulStandIn(device, variant, o, rowEnd - row0);
  return makeCall(device, {
    shader: spec.shader,
    entry: spec.entry,
    label: `${op} [${what}]`,
    buffers: { [spec.a]: bufs.a, [spec.b]: bufs.b, [spec.c]: bufs.c, bias: bufs.bias ?? placeholderBuffer(device) },
    constants: matmulConstants(variant, o),
    ...(standIn ? { standIn } : {}),
    params: {
      m: o.m,
      n: o.n,
      k: o.k,
      has_bias: bufs.bias ? 1 : 0,
      act: activationCode(act),
      alpha: o.alpha ?? DEFAULT_ALPHA[act] ?? 0,
      accumulate: o.accumulate ? 1 : 0,
      row0,
      row_end: rowEnd,
      k_chunk: o.k,
    },
    workgroups: spec.workgroups(device, o, rowEnd - row0),
  });
}

/** One matmul dispatch, bound to the given buffers. */
export function matmul(device: GPUDevice, bufs: MatmulBuffers, o: MatmulOptions): KernelCall {
  const op = `matmul(${o.m}x${o.k} · ${o.k}x${o.n})`;
  const variant = resolveMatmul(device, op, bufs, o);
  return matmulDispatch(device, op, bufs, o, variant, 0, o.m, variant);
}

/** Workgroups of 64 rows a split product's first dispatch needs at least (see matmulCalls). */
const SPLIT_MIN_GROUPS = 64;

/**
 * The product as the dispatches that compute it fastest: one, except under
 * `subgroup` when M is not a multiple of its 64-row groups and the last group
 * would compute at least a tenth of M in rows that do not exist (M = 400:
 * 448 rows of work), over enough workgroups (SPLIT_MIN_GROUPS) that fewer of
 * them do not leave the adapter's threads idle. Then matmul_subgroup takes the
 * whole groups and matmul_blocked the M mod 64 rows after them, in 16-row
 * blocks. Measured on SwiftShader (Node, GPU timestamps, median of 3, best of
 * 6): Aᵀ·B with M = 400, K = 128, N = 784 (the mlp's first weight gradient)
 * 11.1–11.3 ms as one dispatch, 9.6–9.7 + 0.7 ms split. Not split: M = 784,
 * N = 400 (6% of rows idle) 10.7–11.0 ms against 9.9–10.0 + 0.7 ms; M = 400,
 * N = 20 to 96 (6 to 18 workgroups) 0.46–1.31 ms against 0.66–1.38 ms.
 * A `subgroup` or `blocked` product of one or two workgroups with a long K
 * is split over K instead (matmulKSplit, kSplitCalls).
 */
export function matmulCalls(device: GPUDevice, bufs: MatmulBuffers, o: MatmulOptions): KernelCall[] {
  const op = `matmul(${o.m}x${o.k} · ${o.k}x${o.n})`;
  const variant = resolveMatmul(device, op, bufs, o);
  const split = matmulKSplit(device, o, variant);
  if (split) return kSplitCalls(device, op, bufs, o, split);
  const rows = subgroupRows();
  const whole = Math.floor(o.m / rows) * rows;
  const idle = Math.ceil(o.m / rows) * rows - o.m;
  const groups = (whole / rows) * Math.ceil(o.n / MMA_COLS);
  if (variant !== 'subgroup' || idle < o.m / 10 || groups < SPLIT_MIN_GROUPS) return [matmulDispatch(device, op, bufs, o, variant, 0, o.m, variant)];
  return [
    matmulDispatch(device, op, bufs, o, 'subgroup', 0, whole, `subgroup: rows 0-${whole - 1}`),
    matmulDispatch(device, op, bufs, o, 'blocked', whole, o.m, `blocked: rows ${whole}-${o.m - 1}`),
  ];
}

/** Workgroups a register-blocked product has at most to be split over K. */
const KSPLIT_MAX_GROUPS = 2;
/** Workgroups a split product aims at (groups × slices), and the least of K a slice takes. */
const KSPLIT_GROUPS = 8;
const KSPLIT_MIN_CHUNK = 256;

/** How a product is split over K: `slices` slices of `chunk` values of k (a multiple of 4; the last may be shorter). */
export interface MatmulKSplit {
  readonly variant: 'subgroup' | 'blocked';
  readonly slices: number;
  readonly chunk: number;
}

/** The entry point that computes the slices of a split product, by variant. */
const KSPLIT_ENTRIES = { subgroup: 'matmul_subgroup_ksplit', blocked: 'matmul_blocked_ksplit' } as const;

/** The workgroups of a register-blocked product over all of M (before any split over K). */
function blockGroups(device: GPUDevice, variant: 'subgroup' | 'blocked', o: MatmulShape): [number, number, number] {
  return SPECS[variant].workgroups(device, o, o.m);
}

/**
 * The split over K of a `subgroup` or `blocked` product of one or two
 * workgroups with a long K (null: one dispatch). Such a product runs on one
 * or two of the adapter's threads: the conv preset's heads, 64×3136 ·
 * 3136×20 (subgroup, one workgroup), took 2.4–2.7 ms each, the smiles
 * preset's 32×8448 · 8448×128 (blocked, one workgroup of 16 blocks) 17 ms.
 * Split, S slices of K (S · workgroups ≈ 8, at least 256 values of k each)
 * run in parallel into a partials buffer and matmul_ksplit.wgsl adds them
 * (see kSplitCalls).
 */
export function matmulKSplit(device: GPUDevice, o: MatmulShape, variant: MatmulVariant): MatmulKSplit | null {
  if (variant !== 'subgroup' && variant !== 'blocked') return null;
  const [x, y] = blockGroups(device, variant, o);
  const groups = x * y;
  if (groups > KSPLIT_MAX_GROUPS) return null;
  const want = Math.min(Math.ceil(KSPLIT_GROUPS / groups), Math.floor(o.k / KSPLIT_MIN_CHUNK));
  if (want < 2) return null;
  const chunk = Math.ceil(o.k / want / 4) * 4;
  return { variant, slices: Math.ceil(o.k / chunk), chunk };
}

/** The stand-in of matmul_subgroup_ksplit and matmul_blocked_ksplit (matmul_tile_ksplit), under the `cpu` profile (see matmulStandIn). */
export function matmulKSplitStandIn(device: GPUDevice, o: MatmulOptions, split: MatmulKSplit): StandIn | null {
  if (kernelProfile(device) !== 'cpu') return null;
  const [x, y] = grid1d(device, Math.ceil(o.m / 4) * (o.n / 4), invocationsPerGroup('matmul_tile', 'matmul_tile_ksplit'));
  return { shader: 'matmul_tile', entry: 'matmul_tile_ksplit', constants: matmulConstants(split.variant, { ...o, activation: 'identity', accumulate: false }), workgroups: [x, y, split.slices] };
}

/**
 * A product split over K as two dispatches: matmul_subgroup_ksplit or
 * matmul_blocked_ksplit writes slice z's product into the z-th (M, N) block
 * of a partials buffer the call owns (S · M · N floats), and
 * matmul_ksplit_sum adds the S blocks in order and applies the epilogue
 * (bias and activation, or accumulate into C).
 */
function kSplitCalls(device: GPUDevice, op: string, bufs: MatmulBuffers, o: MatmulOptions, split: MatmulKSplit): KernelCall[] {
  const { variant, slices, chunk } = split;
  const act = o.activation ?? 'identity';
  const partials = createBuffer(device, slices * o.m * o.n * 4, STORAGE, `${op} partials`);
  const common = { m: o.m, n: o.n, k: o.k, row0: 0, row_end: o.m, k_chunk: chunk };
  const standIn = matmulKSplitStandIn(device, o, split);
  const [x, y] = blockGroups(device, variant, o);
  const parts = makeCall(device, {
    shader: SPECS[variant].shader,
    entry: KSPLIT_ENTRIES[variant],
    label: `${op} [${variant}: K in ${slices} slices]`,
    buffers: { a4: bufs.a, b4: bufs.b, c4: partials, bias: placeholderBuffer(device) },
    constants: matmulConstants(variant, { ...o, activation: 'identity', accumulate: false }),
    ...(standIn ? { standIn } : {}),
    params: { ...common, has_bias: 0, act: 0, alpha: 0, accumulate: 0 },
    workgroups: [x, y, slices],
  });
  const sum = makeCall(device, {
    shader: 'matmul_ksplit',
    entry: 'matmul_ksplit_sum',
    label: `${op} [sum of ${slices} K slices]`,
    buffers: { partials4: partials, c4: bufs.c, bias: bufs.bias ?? placeholderBuffer(device) },
    constants: { ACT: activationCode(act), ACCUMULATE: o.accumulate ? 1 : 0 },
    params: { ...common, has_bias: bufs.bias ? 1 : 0, act: activationCode(act), alpha: o.alpha ?? DEFAULT_ALPHA[act] ?? 0, accumulate: o.accumulate ? 1 : 0 },
    workgroups: grid1d(device, (o.m * o.n) / 4, invocationsPerGroup('matmul_ksplit', 'matmul_ksplit_sum')),
    owned: [partials],
  });
  return [parts, sum];
}

export interface MatmulGradBuffers {
  /** A of the forward, in its stored layout. */
  readonly a: BufferArg;
  /** B of the forward, in its stored layout. */
  readonly b: BufferArg;
  /** dC: (M, N), the gradient of the bare product (after the activation's backward). */
  readonly dc: BufferArg;
  /** dA, in A's stored layout; omitted when not needed. */
  readonly da?: BufferArg;
  /** dB, in B's stored layout; omitted when not needed. */
  readonly db?: BufferArg;
}

/**
 * The backward products of C = op(A)·op(B): dA and dB in the stored layouts
 * of A and B, as matmuls with transposes (no copies). Bias and activation
 * gradients are separate kernels (reduce.wgsl, activations.wgsl). The kernel of
 * each product is chosen for its own shape (an explicit `variant` applies to both).
 */
export function matmulBackward(
  device: GPUDevice,
  bufs: MatmulGradBuffers,
  o: MatmulOptions & { readonly accumulate?: boolean },
): KernelCall[] {
  const { m, n, k } = o;
  const ta = !!o.transA;
  const tb = !!o.transB;
  const acc = !!o.accumulate;
  const v = o.variant !== undefined ? { variant: o.variant } : {};
  const calls: KernelCall[] = [];
  if (bufs.da) {
    // d op(A) = dC · op(B)ᵀ  (M, K)
    calls.push(
      ta
        ? matmul(device, { a: bufs.b, b: bufs.dc, c: bufs.da }, { m: k, n: m, k: n, transA: tb, transB: true, accumulate: acc, ...v })
        : matmul(device, { a: bufs.dc, b: bufs.b, c: bufs.da }, { m, n: k, k: n, transB: !tb, accumulate: acc, ...v }),
    );
  }
  if (bufs.db) {
    // d op(B) = op(A)ᵀ · dC  (K, N)
    calls.push(
      tb
        ? matmul(device, { a: bufs.dc, b: bufs.a, c: bufs.db }, { m: n, n: k, k: m, transA: true, transB: ta, accumulate: acc, ...v })
        : matmul(device, { a: bufs.a, b: bufs.dc, c: bufs.db }, { m: k, n, k: m, transA: !ta, accumulate: acc, ...v }),
    );
  }
  return calls;
}
