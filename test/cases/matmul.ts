/** matmul and its backward products against the float64 reference, over odd and VAE-sized shapes. */
import { readF32, uploadF32, destroyBuffer, createBuffer } from '../../src/gpu/buffers.ts';
import { callsReady, makeCall, placeholderBuffer, submitCalls } from '../../src/gpu/dispatch.ts';
import { kernelProfile } from '../../src/gpu/profile.ts';
import { clearMatmulChoices, MATMUL_VARIANTS, matmul, matmulBackward, matmulCalls, matmulKSplit, matmulKSplitStandIn, matmulShapeKey, matmulStandIn, matmulUnsupported, matmulVariant, type MatmulOptions, type MatmulVariant } from '../../src/kernels/matmul.ts';
import { matmulTuning, tuneMatmul } from '../../src/kernels/autotune.ts';
import { matmulBackwardRef, matmulPreRef, matmulRef } from '../../src/ref/matmul.ts';
import { expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

const SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 1],
  [3, 1, 3],
  [1, 127, 3],
  [127, 129, 3],
  [129, 127, 129],
  [20, 3, 784],
  [128, 400, 784],
  [128, 20, 400],
  [128, 400, 20],
  [64, 784, 400],
];

const tol = (k: number) => ({ atol: 1e-6 * Math.sqrt(k) * 4, rtol: 2e-5 * Math.sqrt(k) });

async function checkForward(device: GPUDevice, o: MatmulOptions, withBias: boolean, seed: number) {
  const a = randomF32(o.m * o.k, seed);
  const b = randomF32(o.k * o.n, seed + 1);
  const bias = withBias ? randomF32(o.n, seed + 2) : null;
  const what = `matmul${o.variant ? ` [${o.variant}]` : ''} m=${o.m} n=${o.n} k=${o.k} transA=${!!o.transA} transB=${!!o.transB} bias=${withBias} act=${o.activation ?? 'identity'}`;
  const ga = uploadF32(device, a), gb = uploadF32(device, b), gc = createBuffer(device, o.m * o.n * 4);
  const gbias = bias ? uploadF32(device, bias) : undefined;
  try {
    const got = await gpuScope(device, what, async () => {
      const call = matmul(device, { a: ga, b: gb, c: gc, ...(gbias ? { bias: gbias } : {}) }, o);
      await call.ready; // the kernel itself, not its stand-in (checked against it below)
      submitCalls(device, [call]);
      call.destroy();
      return readF32(device, gc, o.m * o.n);
    });
    expectClose(what, got, matmulRef(a, b, bias, o), tol(o.k));
  } finally {
    for (const x of [ga, gb, gc, gbias]) if (x) destroyBuffer(device, x);
  }
}

async function checkBackward(device: GPUDevice, o: MatmulOptions, seed: number) {
  const a = randomF32(o.m * o.k, seed);
  const b = randomF32(o.k * o.n, seed + 1);
  const dc = randomF32(o.m * o.n, seed + 2);
  const what = `matmul${o.variant ? ` [${o.variant}]` : ''} backward m=${o.m} n=${o.n} k=${o.k} transA=${!!o.transA} transB=${!!o.transB}`;
  const ga = uploadF32(device, a), gb = uploadF32(device, b), gdc = uploadF32(device, dc);
  const gda = createBuffer(device, a.byteLength), gdb = createBuffer(device, b.byteLength);
  try {
    const [da, db] = await gpuScope(device, what, async () => {
      const calls = matmulBackward(device, { a: ga, b: gb, dc: gdc, da: gda, db: gdb }, o);
      await callsReady(calls);
      submitCalls(device, calls);
      for (const c of calls) c.destroy();
      return [await readF32(device, gda, a.length), await readF32(device, gdb, b.length)] as const;
    });
    const ref = matmulBackwardRef(a, b, null, dc, o);
    expectClose(`${what}: dA`, da, ref.da, tol(o.n));
    expectClose(`${what}: dB`, db, ref.db, tol(o.m));
  } finally {
    for (const x of [ga, gb, gdc, gda, gdb]) destroyBuffer(device, x);
  }
}

export const matmulCases: GpuCase[] = [
  {
    name: 'matmul: forward over odd and VAE shapes, all transposes',
    async run(device) {
      let seed = 1;
      for (const [m, n, k] of SHAPES) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            if (m * n * k > 1e7 && (transA || transB) && !(transB && !transA)) continue; // big shapes: the layouts the VAE uses
            await checkForward(device, { m, n, k, transA, transB }, false, seed++);
          }
        }
      }
    },
  },
  {
    name: 'matmul: fused bias and activation epilogue',
    async run(device) {
      const acts = ['relu', 'leaky_relu', 'elu', 'gelu', 'silu', 'tanh', 'sigmoid', 'softplus'] as const;
      let seed = 100;
      for (const activation of acts) {
        await checkForward(device, { m: 33, n: 65, k: 17, transB: true, activation }, true, seed++);
      }
      await checkForward(device, { m: 128, n: 400, k: 784, transB: true, activation: 'relu' }, true, seed++);
    },
  },
  {
    name: 'matmul: backward products dA and dB in stored layouts',
    async run(device) {
      let seed = 200;
      for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [127, 129, 3], [128, 20, 400], [128, 400, 784]] as const) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            if (m * n * k > 1e7 && (transA || !transB)) continue;
            await checkBackward(device, { m, n, k, transA, transB }, seed++);
          }
        }
      }
    },
  },
  {
    name: 'matmul: accumulate adds into C',
    async run(device) {
      const o = { m: 37, n: 19, k: 23 };
      const a = randomF32(o.m * o.k, 7), b = randomF32(o.k * o.n, 8), c0 = randomF32(o.m * o.n, 9);
      const ga = uploadF32(device, a), gb = uploadF32(device, b), gc = uploadF32(device, c0);
      try {
        const call = matmul(device, { a: ga, b: gb, c: gc }, { ...o, accumulate: true });
        submitCalls(device, [call]);
        call.destroy();
        const got = await readF32(device, gc);
        const ref = matmulRef(a, b, null, o).map((v, i) => v + c0[i]!);
        expectClose('matmul accumulate', got, ref, tol(o.k));
      } finally {
        for (const x of [ga, gb, gc]) destroyBuffer(device, x);
      }
    },
  },
  {
    name: 'matmul: bad sizes and short buffers are refused with clear errors',
    async run(device) {
      const buf = createBuffer(device, 64);
      try {
        await expectThrows('m = 0', () => matmul(device, { a: buf, b: buf, c: buf }, { m: 0, n: 2, k: 2 }), /m = 0; expected a positive integer/);
        await expectThrows('short a', () => matmul(device, { a: buf, b: buf, c: buf }, { m: 8, n: 2, k: 4 }), /buffer 'a' holds 64 bytes; expected at least 128/);
        await expectThrows('accumulate with activation', () => matmul(device, { a: buf, b: buf, c: buf }, { m: 2, n: 2, k: 2, accumulate: true, activation: 'relu' }), /bias and activation must be off/);
      } finally {
        destroyBuffer(device, buf);
      }
    },
  },
];

// Shapes for the per-variant cases: odd sizes in every dimension a layout leaves
// free, sizes that are multiples of 4 where the vec4 kernels need them, so that
// every layout of every variant meets edges in M, N and K.
const VARIANT_SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 1],
  [3, 1, 3],
  [127, 129, 3],
  [1, 4, 4],
  [3, 20, 8],
  [127, 400, 20],
  [129, 20, 784],
  [20, 129, 400],
  [4, 8, 127],
  [20, 400, 129],
  [12, 36, 20],
  [132, 44, 28],
  [4, 127, 20],
  [129, 127, 129],
];

const LAYOUTS = [[false, false], [false, true], [true, false], [true, true]] as const;

function variantCase(variant: MatmulVariant): GpuCase {
  return {
    name: `matmul [${variant}]: forward over odd shapes in every layout, epilogue, accumulate, backward`,
    async run(device) {
      const why = matmulUnsupported(device, variant, { m: 4, n: 4, k: 4 });
      if (why) {
        // A device without the variant's feature: it must be refused with the reason.
        const buf = createBuffer(device, 64);
        try {
          await expectThrows(`matmul [${variant}] on this device`, () => matmul(device, { a: buf, b: buf, c: buf }, { m: 4, n: 4, k: 4, variant }), /without the 'subgroups' feature/);
        } finally {
          destroyBuffer(device, buf);
        }
        return;
      }
      let seed = 300;
      let tested = 0;
      for (const [m, n, k] of VARIANT_SHAPES) {
        for (const [transA, transB] of LAYOUTS) {
          const o = { m, n, k, transA, transB, variant };
          if (matmulUnsupported(device, variant, o)) continue;
          await checkForward(device, o, seed % 3 === 0, seed++);
          tested++;
        }
      }
      // Every variant meets every layout on at least two shapes.
      for (const [transA, transB] of LAYOUTS) {
        const n = VARIANT_SHAPES.filter(([m, nn, k]) => !matmulUnsupported(device, variant, { m, n: nn, k, transA, transB })).length;
        if (n < 2) throw new Error(`matmul [${variant}]: only ${n} test shapes for transA=${transA} transB=${transB}`);
      }
      // The VAE's products at batch 128, in the layouts it uses (x·Wᵀ, dY·W, dYᵀ·X), for the kernels
      // chosen by default somewhere (naive, tiled and reg4x4 already meet 784, 400 and 20 above, and are slow on CPU adapters).
      if (variant !== 'naive' && variant !== 'tiled' && variant !== 'reg4x4') {
        for (const [m, n, k, transA, transB] of [[128, 400, 784, false, true], [128, 784, 400, false, false], [400, 784, 128, true, false]] as const) {
          await checkForward(device, { m, n, k, transA, transB, variant, activation: 'relu' }, true, seed++);
        }
      }
      // The conditional mlp's products over [image, label] (794 features), which only the any-shape kernels take.
      if (variant === 'unaligned' || variant === 'direct') {
        for (const [m, n, k, transA, transB] of [[128, 400, 794, false, true], [400, 794, 128, true, false], [128, 400, 30, false, true], [400, 30, 128, true, false]] as const) {
          await checkForward(device, { m, n, k, transA, transB, variant, activation: 'relu' }, true, seed++);
        }
      }
      const acts = ['relu', 'leaky_relu', 'elu', 'gelu', 'silu', 'tanh', 'sigmoid', 'softplus'] as const;
      // N = 65 for the kernels that take any N, 68 for those that store C as rows of vec4.
      const actN = matmulUnsupported(device, variant, { m: 33, n: 65, k: 20, transB: true }) ? 68 : 65;
      for (const activation of acts) {
        await checkForward(device, { m: 33, n: actN, k: 20, transB: true, activation, variant }, true, seed++);
      }
      {
        const o = { m: 37, n: 20, k: 24, variant };
        const a = randomF32(o.m * o.k, seed++), b = randomF32(o.k * o.n, seed++), c0 = randomF32(o.m * o.n, seed++);
        const ga = uploadF32(device, a), gb = uploadF32(device, b), gc = uploadF32(device, c0);
        try {
          await gpuScope(device, `matmul [${variant}] accumulate`, async () => {
            const call = matmul(device, { a: ga, b: gb, c: gc }, { ...o, accumulate: true });
            await call.ready;
            submitCalls(device, [call]);
            call.destroy();
          });
          const got = await readF32(device, gc);
          expectClose(`matmul [${variant}] accumulate`, got, matmulRef(a, b, null, o).map((v, i) => v + c0[i]!), tol(o.k));
        } finally {
          for (const x of [ga, gb, gc]) destroyBuffer(device, x);
        }
      }
      for (const [transA, transB] of LAYOUTS) {
        await checkBackward(device, { m: 128, n: 20, k: 400, transA, transB, variant }, seed++);
      }
      if (tested < 12) throw new Error(`matmul [${variant}]: only ${tested} forward shapes tested`);
    },
  };
}

// Shapes for the stand-in: edges in M (not a multiple of 4, 16 or 64), N (a multiple of 4, not of 32) and,
// where the layout allows, K (Aᵀ·B reads past K as zeros); the mlp's products; every epilogue.
const STAND_IN_CASES: readonly (MatmulOptions & { readonly bias?: boolean })[] = [
  { m: 128, n: 400, k: 784, transB: true, activation: 'relu', bias: true },
  { m: 128, n: 20, k: 400, transB: true, bias: true },
  { m: 128, n: 784, k: 400, transB: true, bias: true },
  { m: 128, n: 400, k: 20 },
  { m: 400, n: 784, k: 128, transA: true },
  { m: 20, n: 400, k: 128, transA: true },
  { m: 132, n: 36, k: 22, transA: true },
  { m: 37, n: 20, k: 24, accumulate: true },
  { m: 68, n: 44, k: 12, transA: true, transB: true },
  ...(['leaky_relu', 'elu', 'gelu', 'silu', 'tanh', 'sigmoid', 'softplus'] as const).map((activation) => ({ m: 33, n: 68, k: 20, transB: true, activation, bias: true })),
];

// For matmul_unaligned's stand-in: contiguous dimensions that are not multiples of 4 (cvae-mlp's
// 794-wide input and 30-wide z with label, odd vocabularies), every layout, edges in M and N, every epilogue.
const UNALIGNED_STAND_IN_CASES: readonly (MatmulOptions & { readonly bias?: boolean })[] = [
  { m: 128, n: 400, k: 794, transB: true, activation: 'relu', bias: true },
  { m: 794, n: 400, k: 128, transA: true },
  { m: 128, n: 400, k: 30, transB: true, activation: 'relu', bias: true },
  { m: 30, n: 400, k: 128, transA: true },
  { m: 128, n: 30, k: 400 },
  { m: 37, n: 21, k: 23, accumulate: true },
  { m: 13, n: 22, k: 7, transA: true, transB: true },
  { m: 65, n: 35, k: 9, transA: true, bias: true },
  ...(['leaky_relu', 'elu', 'gelu', 'silu', 'tanh', 'sigmoid', 'softplus'] as const).map((activation) => ({ m: 33, n: 67, k: 21, transB: true, activation, bias: true })),
];

/**
 * The stand-in of the register-blocked kernels (shaders/matmul_tile.wgsl, run while they compile) gives
 * their results bit for bit, so a step's results do not depend on when the switch happens.
 */
const standInCase: GpuCase = {
  name: 'matmul: the stand-ins of the blocked, subgroup (matmul_tile) and unaligned (matmul_unaligned_tile) kernels give their results bit for bit',
  async run(device) {
    const o0 = { m: 64, n: 64, k: 64 };
    if (kernelProfile(device) !== 'cpu') {
      // Other adapters compile the block kernels quickly and may contract a * b + c differently in two kernels: no stand-in.
      if (matmulStandIn(device, 'blocked', o0) !== null) throw new Error(`a stand-in under the '${kernelProfile(device)}' profile`);
      return;
    }
    let seed = 900, compared = 0;
    let expected = 0;
    for (const variant of ['blocked', 'subgroup', 'unaligned'] as const) {
      if (matmulUnsupported(device, variant, o0)) continue;
      const cases = variant === 'unaligned' ? UNALIGNED_STAND_IN_CASES : STAND_IN_CASES;
      if (variant !== 'subgroup') expected += cases.length;
      for (const c of cases) {
        const o = { ...c, variant };
        if (matmulUnsupported(device, variant, o)) throw new Error(`stand-in case ${matmulShapeKey(o)} cannot run on ${variant}`);
        const si = matmulStandIn(device, variant, o)!;
        const a = randomF32(o.m * o.k, seed++), b = randomF32(o.k * o.n, seed++), c0 = randomF32(o.m * o.n, seed++), bias = randomF32(o.n, seed++);
        const ga = uploadF32(device, a), gb = uploadF32(device, b), gbias = uploadF32(device, bias);
        const g1 = uploadF32(device, c0), g2 = uploadF32(device, c0);
        const what = `matmul [${variant}] ${matmulShapeKey(o)} act=${o.activation ?? 'identity'} bias=${!!o.bias} accumulate=${!!o.accumulate}`;
        try {
          const [own, stand] = await gpuScope(device, what, async () => {
            const call = matmul(device, { a: ga, b: gb, c: g1, ...(o.bias ? { bias: gbias } : {}) }, o);
            await call.ready;
            const io: Record<string, GPUBuffer> = variant === 'unaligned' ? { a: ga, b: gb, c: g2 } : { a4: ga, b4: gb, c4: g2 };
            const tile = makeCall(device, { ...si, buffers: { ...io, bias: o.bias ? gbias : placeholderBuffer(device) }, params: call.params });
            submitCalls(device, [call, tile]);
            call.destroy();
            tile.destroy();
            return [await readF32(device, g1), await readF32(device, g2)] as const;
          });
          const u1 = new Uint32Array(own.buffer), u2 = new Uint32Array(stand.buffer);
          const bad = u1.findIndex((v, i) => v !== u2[i]);
          if (bad >= 0) throw new Error(`${what}: the stand-in differs at element ${bad} (row ${Math.floor(bad / o.n)}, column ${bad % o.n}): ${stand[bad]} against ${own[bad]}`);
          compared++;
        } finally {
          for (const x of [ga, gb, gbias, g1, g2]) destroyBuffer(device, x);
        }
      }
    }
    if (compared < expected) throw new Error(`only ${compared} stand-in comparisons ran; expected at least ${expected} (blocked and unaligned)`);
  },
};

/**
 * matmulCalls under `subgroup` with M not a multiple of 64 (a tenth of M or more idle, 64 workgroups or more in the
 * whole groups): matmul_subgroup over the whole groups of 64 rows and
 * matmul_blocked over the rest (row0 = the first row after them), so the two dispatches cover each row of C once,
 * with and without accumulate, bias and activation, in every layout the blocked kernels take; each part's stand-in
 * (matmul_tile over the same rows) gives its result bit for bit on top of the other part's.
 */
const SPLIT_CASES: readonly (MatmulOptions & { readonly bias?: boolean })[] = [
  { m: 400, n: 784, k: 128, transA: true, accumulate: true },
  { m: 400, n: 784, k: 128, transA: true },
  { m: 400, n: 352, k: 20, transB: true, activation: 'relu', bias: true },
  { m: 100, n: 2048, k: 8, transB: true, activation: 'relu', bias: true },
  { m: 68, n: 2048, k: 12, transA: true, transB: true, accumulate: true },
  { m: 65, n: 2048, k: 8, activation: 'sigmoid', bias: true },
  { m: 129, n: 1024, k: 40 },
];

const splitCase: GpuCase = {
  name: 'matmul: matmulCalls runs subgroup products with M not a multiple of 64 as matmul_subgroup over the whole groups and matmul_blocked over the last rows',
  async run(device) {
    const probe = { m: 400, n: 784, k: 128, transA: true, variant: 'subgroup' as const };
    if (matmulUnsupported(device, 'subgroup', probe)) {
      // Without the feature there is no split: the default is one dispatch of another kernel.
      const buf = createBuffer(device, 400 * 784 * 4);
      try {
        const calls = matmulCalls(device, { a: buf, b: buf, c: buf }, { m: 400, n: 784, k: 128, transA: true });
        const entries = calls.map((c) => c.entry.name);
        for (const c of calls) c.destroy();
        if (entries.length !== 1 || entries[0] === 'matmul_subgroup') throw new Error(`matmulCalls without subgroups: ${entries.join(', ')}; expected one dispatch of another kernel`);
      } finally {
        destroyBuffer(device, buf);
      }
      return;
    }
    let seed = 1200;
    for (const c of SPLIT_CASES) {
      const o = { ...c, variant: 'subgroup' as const };
      const whole = Math.floor(o.m / 64) * 64;
      const a = randomF32(o.m * o.k, seed++), b = randomF32(o.k * o.n, seed++), c0 = randomF32(o.m * o.n, seed++), bias = randomF32(o.n, seed++);
      const ga = uploadF32(device, a), gb = uploadF32(device, b), gbias = uploadF32(device, bias);
      const g1 = uploadF32(device, c0), g2 = uploadF32(device, c0);
      const what = `matmulCalls [subgroup] ${matmulShapeKey(o)} act=${o.activation ?? 'identity'} bias=${!!o.bias} accumulate=${!!o.accumulate}`;
      try {
        const [got, stand] = await gpuScope(device, what, async () => {
          const calls = matmulCalls(device, { a: ga, b: gb, c: g1, ...(o.bias ? { bias: gbias } : {}) }, o);
          const entries = calls.map((x) => `${x.entry.name}(${x.params.row0}-${x.params.row_end})`).join(', ');
          const want = `matmul_subgroup(0-${whole}), matmul_blocked(${whole}-${o.m})`;
          if (entries !== want) throw new Error(`${what}: dispatches ${entries}; expected ${want}`);
          await callsReady(calls);
          submitCalls(device, calls);
          const tiles = kernelProfile(device) === 'cpu'
            ? calls.map((x, i) => makeCall(device, { ...matmulStandIn(device, i === 0 ? 'subgroup' : 'blocked', o, x.params.row_end! - x.params.row0!)!, buffers: { a4: ga, b4: gb, c4: g2, bias: o.bias ? gbias : placeholderBuffer(device) }, params: x.params }))
            : [];
          if (tiles.length) submitCalls(device, tiles);
          for (const x of [...calls, ...tiles]) x.destroy();
          return [await readF32(device, g1), tiles.length ? await readF32(device, g2) : null] as const;
        });
        const ref = matmulRef(a, b, o.bias ? bias : null, o);
        expectClose(what, got, o.accumulate ? ref.map((v, i) => v + c0[i]!) : ref, tol(o.k));
        if (stand) {
          const u1 = new Uint32Array(got.buffer), u2 = new Uint32Array(stand.buffer);
          const bad = u1.findIndex((v, i) => v !== u2[i]);
          if (bad >= 0) throw new Error(`${what}: the stand-ins differ at element ${bad} (row ${Math.floor(bad / o.n)}): ${stand[bad]} against ${got[bad]}`);
        }
      } finally {
        for (const x of [ga, gb, gbias, g1, g2]) destroyBuffer(device, x);
      }
    }
    // One dispatch: whole groups only (384), no whole group (48), less than a tenth of M idle (784), fewer than 64
    // workgroups in the whole groups (400 × 96: 18).
    for (const [m, n] of [[384, 784], [48, 784], [784, 400], [400, 96]] as const) {
      const buf = createBuffer(device, Math.max(m, 128) * 784 * 4);
      try {
        const calls = matmulCalls(device, { a: buf, b: buf, c: buf }, { m, n, k: 128, transA: true, variant: 'subgroup' });
        const entries = calls.map((x) => x.entry.name).join(', ');
        for (const x of calls) x.destroy();
        if (entries !== 'matmul_subgroup') throw new Error(`matmulCalls [subgroup] ${m} × ${n}: dispatches ${entries}; expected matmul_subgroup alone`);
      } finally {
        destroyBuffer(device, buf);
      }
    }
  },
};

/**
 * Subgroup and blocked products of one or two workgroups with a long K run as S slices of K (matmul_*_ksplit into a
 * partials buffer, z = slice) and their sum (matmul_ksplit_sum, which applies bias and activation or accumulates):
 * the conv preset's heads, the smiles preset's 32×8448 · 8448×128 weight gradient, Aᵀ with K not a multiple of 4 (a
 * shorter last slice), two column blocks, every layout. Results against float64; the slices' stand-in
 * (matmul_tile_ksplit) gives the partials bit for bit.
 */
const KSPLIT_CASES: readonly (MatmulOptions & { readonly bias?: boolean; readonly variant: 'subgroup' | 'blocked'; readonly slices: number; readonly groups: readonly [number, number] })[] = [
  { m: 64, n: 20, k: 3136, transB: true, bias: true, variant: 'subgroup', slices: 8, groups: [1, 1] },
  { m: 64, n: 20, k: 3136, accumulate: true, variant: 'subgroup', slices: 8, groups: [1, 1] },
  { m: 100, n: 8, k: 1030, transA: true, activation: 'relu', bias: true, variant: 'subgroup', slices: 4, groups: [1, 2] },
  { m: 48, n: 36, k: 600, transA: true, transB: true, activation: 'sigmoid', bias: true, variant: 'subgroup', slices: 2, groups: [2, 1] },
  { m: 60, n: 12, k: 2052, transA: true, transB: true, accumulate: true, variant: 'subgroup', slices: 8, groups: [1, 1] },
  { m: 32, n: 128, k: 8448, transA: true, variant: 'blocked', slices: 8, groups: [1, 1] },
  { m: 20, n: 36, k: 1028, transB: true, activation: 'relu', bias: true, variant: 'blocked', slices: 4, groups: [1, 1] },
  { m: 36, n: 64, k: 700, accumulate: true, variant: 'blocked', slices: 2, groups: [1, 1] },
];

const kSplitCase: GpuCase = {
  name: 'matmul: matmulCalls splits subgroup and blocked products of one or two workgroups with a long K over K, and sums the slices',
  async run(device) {
    if (matmulUnsupported(device, 'subgroup', { m: 64, n: 20, k: 3136 })) {
      const buf = createBuffer(device, 64 * 3136 * 4);
      try {
        const calls = matmulCalls(device, { a: buf, b: buf, c: buf }, { m: 64, n: 20, k: 3136 });
        const entries = calls.map((c) => c.entry.name);
        for (const c of calls) c.destroy();
        if (entries.length !== 1 || entries[0] === 'matmul_subgroup_ksplit') throw new Error(`matmulCalls without subgroups: ${entries.join(', ')}; expected one dispatch of another kernel`);
      } finally {
        destroyBuffer(device, buf);
      }
      return;
    }
    let seed = 1300;
    for (const c of KSPLIT_CASES) {
      const o = { ...c };
      const split = matmulKSplit(device, o, o.variant);
      if (split?.slices !== c.slices) throw new Error(`matmulKSplit ${matmulShapeKey(o)}: ${JSON.stringify(split)}; expected ${c.slices} slices`);
      const a = randomF32(o.m * o.k, seed++), b = randomF32(o.k * o.n, seed++), c0 = randomF32(o.m * o.n, seed++), bias = randomF32(o.n, seed++);
      const ga = uploadF32(device, a), gb = uploadF32(device, b), gbias = uploadF32(device, bias), g1 = uploadF32(device, c0);
      const p1 = createBuffer(device, c.slices * o.m * o.n * 4), p2 = createBuffer(device, c.slices * o.m * o.n * 4);
      const what = `matmulCalls [${o.variant}] ${matmulShapeKey(o)} act=${o.activation ?? 'identity'} bias=${!!o.bias} accumulate=${!!o.accumulate}`;
      try {
        const [got, own, stand] = await gpuScope(device, what, async () => {
          const calls = matmulCalls(device, { a: ga, b: gb, c: g1, ...(o.bias ? { bias: gbias } : {}) }, o);
          await callsReady(calls); // the kernels themselves (the slices' stand-in is checked below)
          const entries = calls.map((x) => `${x.entry.name}(${x.workgroups.join('x')})`).join(', ');
          const want = `matmul_${o.variant}_ksplit(${c.groups[0]}x${c.groups[1]}x${c.slices}), matmul_ksplit_sum`;
          if (!entries.startsWith(want)) throw new Error(`${what}: dispatches ${entries}; expected ${want}(…)`);
          if (calls[1]!.ownedBytes !== c.slices * o.m * o.n * 4) throw new Error(`${what}: the sum owns ${calls[1]!.ownedBytes} bytes; expected the partials, ${c.slices * o.m * o.n * 4}`);
          submitCalls(device, calls);
          // The slices alone, by the kernel and by its stand-in, into buffers of the test's own.
          const si = matmulKSplitStandIn(device, o, split) ?? { shader: 'matmul_tile', entry: 'matmul_tile_ksplit', constants: { TA: o.transA ? 1 : 0, TB: o.transB ? 1 : 0, ACT: 0, ACCUMULATE: 0 }, workgroups: [1, 1, 1] as const };
          const buffers = (p: GPUBuffer) => ({ a4: ga, b4: gb, c4: p, bias: placeholderBuffer(device) });
          const kernel = makeCall(device, { ...si, shader: `matmul_${o.variant}`, entry: `matmul_${o.variant}_ksplit`, workgroups: calls[0]!.workgroups, buffers: buffers(p1), params: calls[0]!.params });
          const tile = kernelProfile(device) === 'cpu' ? makeCall(device, { ...si, buffers: buffers(p2), params: calls[0]!.params }) : null;
          submitCalls(device, tile ? [kernel, tile] : [kernel]);
          for (const x of [...calls, kernel, ...(tile ? [tile] : [])]) x.destroy();
          return [await readF32(device, g1), await readF32(device, p1), tile ? await readF32(device, p2) : null] as const;
        });
        const ref = matmulRef(a, b, o.bias ? bias : null, o);
        expectClose(what, got, o.accumulate ? ref.map((v, i) => v + c0[i]!) : ref, tol(o.k));
        // The slices add up to the bare product.
        const bare = matmulPreRef(a, b, null, o);
        const summed = new Float64Array(o.m * o.n);
        for (let z = 0; z < c.slices; z++) for (let i = 0; i < summed.length; i++) summed[i] += own[z * summed.length + i]!;
        expectClose(`${what}: Σ slices`, Float32Array.from(summed), bare, tol(o.k));
        if (stand) {
          const u1 = new Uint32Array(own.buffer), u2 = new Uint32Array(stand.buffer);
          const bad = u1.findIndex((v, i) => v !== u2[i]);
          if (bad >= 0) throw new Error(`${what}: the stand-in's partials differ at element ${bad}: ${stand[bad]} against ${own[bad]}`);
        }
      } finally {
        for (const x of [ga, gb, gbias, g1, p1, p2]) destroyBuffer(device, x);
      }
    }
    // Not split: three workgroups (192 rows), K too short for two slices of 256 (the mlp's heads, K = 400).
    for (const o of [{ m: 192, n: 20, k: 3136 }, { m: 128, n: 20, k: 400, transB: true }] as const) {
      if (matmulKSplit(device, o, 'subgroup')) throw new Error(`matmulKSplit ${matmulShapeKey(o)}: split; expected one dispatch`);
      const buf = createBuffer(device, 192 * 3136 * 4);
      try {
        const calls = matmulCalls(device, { a: buf, b: buf, c: buf }, { ...o, variant: 'subgroup' });
        const entries = calls.map((x) => x.entry.name).join(', ');
        for (const x of calls) x.destroy();
        if (entries !== 'matmul_subgroup') throw new Error(`matmulCalls [subgroup] ${matmulShapeKey(o)}: dispatches ${entries}; expected matmul_subgroup alone`);
      } finally {
        destroyBuffer(device, buf);
      }
    }
  },
};

export const matmulVariantCases: GpuCase[] = [
  ...MATMUL_VARIANTS.map(variantCase),
  standInCase,
  splitCase,
  kSplitCase,
  {
    name: 'matmul: tuneMatmul times the candidates, checks their results, and matmul then uses the fastest',
    async run(device) {
      const shapes = [{ m: 64, n: 96, k: 40, transB: true }, { m: 7, n: 5, k: 9 }] as const;
      try {
        const t = await tuneMatmul(device, shapes, { variants: ['direct', 'naive', 'blocked'], reps: 2, force: true });
        for (const s of shapes) {
          const e = t.entries.find((x) => x.key === matmulShapeKey(s));
          if (!e) throw new Error(`tuneMatmul: no entry for ${matmulShapeKey(s)}`);
          const timed = Object.entries(e.ms) as [MatmulVariant, number][];
          if (timed.length < 2 || !timed.every(([, ms]) => Number.isFinite(ms) && ms >= 0)) throw new Error(`tuneMatmul ${e.key}: bad times ${JSON.stringify(e.ms)}`);
          const best = timed.reduce((x, y) => (y[1] < x[1] ? y : x))[0];
          if (e.chosen !== best) throw new Error(`tuneMatmul ${e.key}: chose ${e.chosen}, but ${best} was fastest (${JSON.stringify(e.ms)})`);
          if (e.ms.tiled !== undefined || !e.rejected.tiled) throw new Error(`tuneMatmul ${e.key}: tiled was not a candidate but was timed`);
          if (matmulVariant(device, s) !== e.chosen) throw new Error(`matmulVariant ${e.key}: ${matmulVariant(device, s)}, tuned ${e.chosen}`);
          const buf = createBuffer(device, 4 * 96 * 64);
          const call = matmul(device, { a: buf, b: buf, c: buf }, s);
          call.destroy();
          destroyBuffer(device, buf);
          if (!call.label.endsWith(`[${e.chosen}]`)) throw new Error(`matmul ${e.key} ran ${call.label}, tuned ${e.chosen}`);
        }
        // 7x9x5 has odd K and N: blocked cannot run it and says why.
        const odd = t.entries.find((x) => x.key === matmulShapeKey(shapes[1]))!;
        if (odd.ms.blocked !== undefined || !/multiple of 4/.test(odd.rejected.blocked ?? '')) throw new Error(`tuneMatmul ${odd.key}: blocked should be rejected: ${JSON.stringify(odd)}`);
        if (!matmulTuning(device)?.entries.some((x) => x.key === odd.key)) throw new Error('matmulTuning does not list the tuned shapes');
      } finally {
        clearMatmulChoices(device);
      }
    },
  },
  {
    name: 'matmul: variants refuse shapes and devices they cannot run, with the reason',
    async run(device) {
      const buf = createBuffer(device, 4096);
      try {
        await expectThrows('blocked, N not a multiple of 4', () => matmul(device, { a: buf, b: buf, c: buf }, { m: 3, n: 5, k: 8, variant: 'blocked' }),
          /variant 'blocked' cannot run 3x8x5:nn: .*B \(stored K×N\).*N = 5/);
        await expectThrows('subgroup, Aᵀ with M not a multiple of 4', () => matmul(device, { a: buf, b: buf, c: buf }, { m: 3, n: 4, k: 8, transA: true, variant: 'subgroup' }),
          /variant 'subgroup' cannot run 3x8x4:tn: .*M = 3/);
        await expectThrows('unknown variant', () => matmul(device, { a: buf, b: buf, c: buf }, { m: 2, n: 2, k: 2, variant: 'fast' as MatmulVariant }),
          /unknown variant 'fast': expected one of direct, tiled, naive, blocked, subgroup, reg4x4/);
      } finally {
        destroyBuffer(device, buf);
      }
    },
  },
];
