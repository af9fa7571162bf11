/**
 * Group norm and layer norm on the GPU against the float64 reference: the
 * forward (y and the saved statistics) and the three gradients, overwriting
 * and accumulating, at both workgroup sizes (the CPU adapters' 4 and the
 * GPUs' 256, and 16) over tiny rows (one element, one channel
 * per group), odd sizes, the resconv preset's shapes ((B, 32, 14, 14) and
 * (B, 64, 7, 7) with 8 groups), rows of 50,176 elements (64 channels of 28×28
 * per group), (B, C) inputs, and data at mean 10⁴; 2-D dispatch grids;
 * bit-identical reruns; bad sizes and buffers refused.
 *
 * Tolerances: per-element error bounds (test/support/norm.ts) derived from
 * the kernels' summation order (k·u·Σ|terms| for a chain of k additions),
 * propagated through the statistics, the affine map and the gradients' two
 * row means. They scale with the spread of each row, not its mean, which is
 * what the 10⁴ case tests (test/ref/norm.test.ts shows a one-pass variance
 * missing the same bounds by orders of magnitude). Results measured here on
 * SwiftShader use up to 17% of them (y, stats, dx, dbias), and far less for
 * dweight on large rows, whose bound adds up every xhat error with one sign.
 */
import { createBuffer, destroyBuffer, readF32, readU32, uploadF32 } from '../../src/gpu/buffers.ts';
import { makeCall, submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import { groupNorm, groupNormBackward, layerNorm, layerNormBackward, normWorkgroupSize } from '../../src/kernels/norm.ts';
import { groupNormShape, layerNormShape, normBackwardRef, normRef, type NormRefShape } from '../../src/ref/norm.ts';
import { expect, expectThrows, gpuScope, randomF32, seeded } from '../support/check.ts';
import { expectWithin, normBounds } from '../support/norm.ts';
import type { GpuCase } from './types.ts';

/** A group norm (N, C, S) with G groups, or a layer norm of rows × size. */
type Spec =
  | { readonly kind: 'group'; readonly batch: number; readonly channels: number; readonly groups: number; readonly spatial: number }
  | { readonly kind: 'layer'; readonly rows: number; readonly size: number };

function refShape(s: Spec): NormRefShape {
  return s.kind === 'group' ? groupNormShape(s.batch, s.channels, s.groups, s.spatial) : layerNormShape(s.rows, s.size);
}

function describe(s: Spec): string {
  return s.kind === 'group' ? `group norm (${s.batch}, ${s.channels}, ${s.spatial}) G=${s.groups}` : `layer norm (${s.rows}, ${s.size})`;
}

function gaussian(n: number, mean: number, seed: number): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: n }, () => mean + Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

async function run(device: GPUDevice, what: string, calls: KernelCall[]): Promise<void> {
  try {
    await gpuScope(device, what, async () => submitCalls(device, calls));
  } finally {
    for (const c of calls) c.destroy();
  }
}

interface Data {
  readonly x: Float32Array;
  readonly w: Float32Array;
  readonly b: Float32Array;
  readonly dy: Float32Array;
}

function data(s: Spec, seed: number, mean = 0): Data {
  const r = refShape(s);
  const n = r.rows * r.size;
  return {
    x: mean === 0 ? randomF32(n, seed, -2, 3) : gaussian(n, mean, seed),
    w: randomF32(r.channels, seed + 1, -1.5, 1.5),
    b: randomF32(r.channels, seed + 2),
    dy: randomF32(n, seed + 3),
  };
}

/** Forward, then dx and the parameter gradients (overwriting, then accumulating onto random values), against the reference. */
async function check(device: GPUDevice, s: Spec, wg: number | undefined, seed: number, mean = 0): Promise<void> {
  const shape = refShape(s);
  const n = shape.rows * shape.size;
  const eps = 1e-5;
  const W = wg ?? normWorkgroupSize(device);
  const { x, w, b, dy } = data(s, seed, mean);
  const what = `${describe(s)} WG=${W}${mean ? ` mean=${mean}` : ''}`;
  const gx = uploadF32(device, x), gw = uploadF32(device, w), gb = uploadF32(device, b), gdy = uploadF32(device, dy);
  const gy = createBuffer(device, n * 4), gstats = createBuffer(device, shape.rows * 8);
  const dx0 = randomF32(n, seed + 4), dw0 = randomF32(shape.channels, seed + 5), db0 = randomF32(shape.channels, seed + 6);
  const gdx = uploadF32(device, dx0), gdw = uploadF32(device, dw0), gdb = uploadF32(device, db0);
  try {
    const o = { eps, ...(wg ? { workgroupSize: wg } : {}) };
    const fwd = s.kind === 'group' ? groupNorm(device, { x: gx, weight: gw, bias: gb, y: gy, stats: gstats }, { ...s, ...o }) : layerNorm(device, { x: gx, weight: gw, bias: gb, y: gy, stats: gstats }, { ...s, ...o });
    expect(fwd.label.endsWith(`[wg ${W}]`), `${what}: ran '${fwd.label}'`);
    await run(device, `${what} forward`, [fwd]);
    const ref = normRef(x, w, b, shape, eps);
    const bound = normBounds(x, w, b, dy, shape, eps, W);
    expectWithin(`${what}: y`, await readF32(device, gy, n), ref.y, bound.y);
    expectWithin(`${what}: stats [mean − x0, 1/σ]`, await readF32(device, gstats, 2 * shape.rows), ref.stats, bound.stats);
    const grads = normBackwardRef(x, w, dy, shape, eps);
    for (const accumulate of [false, true]) {
      const bufs = { x: gx, stats: gstats, dy: gdy, weight: gw, dx: gdx, dweight: gdw, dbias: gdb };
      const calls = s.kind === 'group' ? groupNormBackward(device, bufs, { ...s, ...o, accumulate }) : layerNormBackward(device, bufs, { ...s, ...o, accumulate });
      await run(device, `${what} backward`, calls);
      const plus = (a: Float64Array, base: Float32Array) => (accumulate ? a.map((v, i) => v + base[i]!) : a);
      const tag = `${what}${accumulate ? ' accumulate' : ''}`;
      expectWithin(`${tag}: dx`, await readF32(device, gdx, n), plus(grads.dx, dx0), bound.dx);
      expectWithin(`${tag}: dweight`, await readF32(device, gdw, shape.channels), plus(grads.dweight, dw0), bound.dweight);
      expectWithin(`${tag}: dbias`, await readF32(device, gdb, shape.channels), plus(grads.dbias, db0), bound.dbias);
      if (!accumulate) {
        // The accumulating pass adds onto these starting values.
        device.queue.writeBuffer(gdx, 0, Float32Array.from(dx0));
        device.queue.writeBuffer(gdw, 0, Float32Array.from(dw0));
        device.queue.writeBuffer(gdb, 0, Float32Array.from(db0));
      }
    }
  } finally {
    for (const g of [gx, gw, gb, gdy, gy, gstats, gdx, gdw, gdb]) destroyBuffer(device, g);
  }
}

const group = (batch: number, channels: number, groups: number, spatial = 1): Spec => ({ kind: 'group', batch, channels, groups, spatial });
const layer = (rows: number, size: number): Spec => ({ kind: 'layer', rows, size });

/** Small and odd shapes, at both workgroup sizes. */
const SMALL: readonly Spec[] = [
  group(1, 1, 1), // a row of one element: y = bias, dx = 0
  group(2, 6, 3), // (B, C) input
  group(3, 4, 2, 5),
  group(2, 8, 8, 9), // one channel per group
  group(3, 5, 5, 17), // rows of 17, across a 16-wide workgroup
  group(2, 6, 3, 300), // rows of 600, across 256; the parameter sums take the tree (outer·inner = 600)
  layer(3, 1),
  layer(4, 400), // the parameter sums one invocation each (outer = 4)
  layer(2, 147), // (2, 3, 7, 7) over every non-batch dimension
  layer(600, 20), // the parameter sums take the tree (outer = 600)
];

export const normCases: GpuCase[] = [
  {
    name: 'norm: group and layer norm forward and backward (overwrite and accumulate) over small and odd shapes, workgroups of 4 and 256 (and 16)',
    async run(device) {
      let seed = 1;
      for (const s of SMALL) {
        for (const wg of [4, 256]) await check(device, s, wg, (seed += 10));
      }
      await check(device, group(2, 6, 3, 25), 16, 500);
    },
  },
  {
    name: 'norm: group norm at the resconv shapes (B, 32, 14, 14) and (B, 64, 7, 7) with 8 groups, and rows of 50,176 (64 channels of 28×28 per group), default workgroup',
    async run(device) {
      await check(device, group(4, 32, 8, 196), undefined, 600);
      await check(device, group(4, 64, 8, 49), undefined, 610);
      await check(device, group(1, 128, 2, 784), undefined, 620);
      await check(device, group(1, 128, 2, 784), normWorkgroupSize(device) === 256 ? 4 : 256, 630);
    },
  },
  {
    name: 'norm: at x ≈ 1e4 + N(0, 1) the f32 kernels meet the same spread-relative bound as at mean 0 (group norm rows of 784 and 50,176, layer norm rows of 400)',
    async run(device) {
      for (const wg of [4, 256]) {
        await check(device, group(2, 32, 8, 196), wg, 700, 1e4);
        await check(device, layer(4, 400), wg, 710, 1e4);
      }
      await check(device, group(1, 128, 2, 784), undefined, 720, 1e4);
    },
  },
  {
    name: 'norm: every entry point indexes a 2-D grid of workgroups (wg.x + wg.y·num_workgroups.x) and spare workgroups write nothing',
    async run(device) {
      const s = groupNormShape(7, 10, 5, 3); // 35 rows of 6, 10 channels, outer·inner = 21
      const n = s.rows * s.size, wg = 4;
      const x = randomF32(n, 800), w = randomF32(10, 801), b = randomF32(10, 802), dy = randomF32(n, 803);
      const SENT = -9;
      const pad = (a: ArrayLike<number>, extra: number) => Float32Array.from({ length: a.length + extra }, (_, i) => (i < a.length ? a[i]! : SENT));
      const gx = uploadF32(device, x), gw = uploadF32(device, w), gb = uploadF32(device, b), gdy = uploadF32(device, dy);
      const gy = uploadF32(device, pad([], n + 64)), gstats = uploadF32(device, pad([], 2 * s.rows + 64));
      const gdx = uploadF32(device, pad([], n + 64)), gdw = uploadF32(device, pad([], 10 + 300)), gdb = uploadF32(device, pad([], 10 + 300));
      const params = { rows: s.rows, size: s.size, channels: s.channels, inner: s.inner, outer: 7, eps: 1e-5, accumulate: 0 };
      const call = (entry: string, buffers: Record<string, GPUBuffer>, groups: [number, number, number]) =>
        makeCall(device, { shader: 'norm', entry, ...(entry.endsWith('narrow') ? {} : { constants: { WG: wg } }), buffers, params, workgroups: groups });
      try {
        await run(device, 'norm 2-D grids', [
          call('norm_forward', { x: gx, weight: gw, bias: gb, y: gy, stats: gstats }, [6, 7, 1]), // 42 groups for 35 rows
          call('norm_backward_input', { x: gx, stats_in: gstats, weight: gw, dy: gdy, dx: gdx }, [6, 7, 1]),
          call('norm_backward_params', { x: gx, stats_in: gstats, dy: gdy, dweight: gdw, dbias: gdb }, [4, 3, 1]), // 12 groups for 10 parameters
        ]);
        const ref = normRef(x, w, b, s, 1e-5), grads = normBackwardRef(x, w, dy, s, 1e-5), bound = normBounds(x, w, b, dy, s, 1e-5, wg);
        const y = await readF32(device, gy), dx = await readF32(device, gdx), dw = await readF32(device, gdw), db = await readF32(device, gdb);
        const stats = await readF32(device, gstats);
        expectWithin('norm_forward over a 6x7 grid', y.subarray(0, n), ref.y, bound.y);
        expectWithin('norm_backward_input over a 6x7 grid', dx.subarray(0, n), grads.dx, bound.dx);
        expectWithin('norm_backward_params over a 4x3 grid', dw.subarray(0, 10), grads.dweight, bound.dweight);
        expectWithin('norm_backward_params over a 4x3 grid', db.subarray(0, 10), grads.dbias, bound.dbias);
        for (const [name, a, from] of [['y', y, n], ['stats', stats, 2 * s.rows], ['dx', dx, n], ['dweight', dw, 10], ['dbias', db, 10]] as const) {
          expect(a.subarray(from).every((v) => v === SENT), `norm 2-D grid: ${name} written past its ${from} elements`);
        }
        // The narrow schedule: 2x2 groups of 256 invocations for 10 parameters (the rest idle).
        device.queue.writeBuffer(gdw, 0, pad([], 310));
        await run(device, 'norm narrow 2-D grid', [call('norm_backward_params_narrow', { x: gx, stats_in: gstats, dy: gdy, dweight: gdw, dbias: gdb }, [2, 2, 1])]);
        const dwn = await readF32(device, gdw);
        expectWithin('norm_backward_params_narrow over a 2x2 grid', dwn.subarray(0, 10), grads.dweight, bound.dweight);
        expect(dwn.subarray(10).every((v) => v === SENT), 'norm narrow 2-D grid: dweight written past its 10 elements');
      } finally {
        for (const g of [gx, gw, gb, gdy, gy, gstats, gdx, gdw, gdb]) destroyBuffer(device, g);
      }
    },
  },
  {
    name: 'norm: forward and backward are bit-identical from run to run',
    async run(device) {
      const o = { batch: 3, channels: 32, groups: 8, spatial: 196 };
      const s = groupNormShape(3, 32, 8, 196);
      const n = s.rows * s.size;
      const { x, w, b, dy } = data({ kind: 'group', ...o }, 900);
      const gx = uploadF32(device, x), gw = uploadF32(device, w), gb = uploadF32(device, b), gdy = uploadF32(device, dy);
      const outs = [n, 2 * s.rows, n, 32, 32].map((k) => createBuffer(device, k * 4));
      const [gy, gst, gdx, gdw, gdb] = outs as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
      try {
        const runs: Uint32Array[][] = [];
        for (let r = 0; r < 2; r++) {
          await run(device, `norm rerun ${r}`, [
            groupNorm(device, { x: gx, weight: gw, bias: gb, y: gy, stats: gst }, o),
            ...groupNormBackward(device, { x: gx, stats: gst, dy: gdy, weight: gw, dx: gdx, dweight: gdw, dbias: gdb }, o),
          ]);
          runs.push(await Promise.all(outs.map((g) => readU32(device, g))));
        }
        runs[1]!.forEach((a, k) => {
          const i = a.findIndex((v, j) => v !== runs[0]![k]![j]);
          expect(i < 0, `norm rerun: output ${['y', 'stats', 'dx', 'dweight', 'dbias'][k]} differs at ${i}`);
        });
      } finally {
        for (const g of [gx, gw, gb, gdy, ...outs]) destroyBuffer(device, g);
      }
    },
  },
  {
    name: 'norm: bad sizes, options and buffers are refused with clear errors',
    async run(device) {
      const g = uploadF32(device, new Float32Array(64)), short = uploadF32(device, [0, 0]);
      const f = { x: g, weight: g, bias: g, y: g, stats: g };
      try {
        await expectThrows('groups do not divide', () => groupNorm(device, f, { batch: 2, channels: 6, groups: 4 }), /groupNorm \(N=2, C=6, S=1, groups=4\): groups = 4 does not divide channels = 6/);
        await expectThrows('zero groups', () => groupNorm(device, f, { batch: 2, channels: 6, groups: 0 }), /groupNorm: groups = 0; expected a positive integer/);
        await expectThrows('eps', () => layerNorm(device, f, { rows: 2, size: 4, eps: -1 }), /layerNorm \(rows=2, M=4\): eps = -1; expected a positive number/);
        await expectThrows('workgroup size', () => layerNorm(device, f, { rows: 2, size: 4, workgroupSize: 48 }), /workgroupSize = 48; expected a power of two from 4 to 256/);
        await expectThrows('short x', () => layerNorm(device, f, { rows: 5, size: 16 }), /layerNorm \(rows=5, M=16\): buffer 'x' holds 256 bytes; expected at least 320/);
        await expectThrows('short stats', () => groupNorm(device, { ...f, stats: short }, { batch: 2, channels: 4, groups: 2 }), /buffer 'stats' holds 8 bytes; expected at least 32/);
        const b = { x: g, stats: g, dy: g };
        await expectThrows('no gradient', () => layerNormBackward(device, b, { rows: 2, size: 4 }), /no gradient asked for/);
        await expectThrows('dweight alone', () => layerNormBackward(device, { ...b, dweight: g }, { rows: 2, size: 4 }), /dweight and dbias are computed together/);
        await expectThrows('dx without weight', () => groupNormBackward(device, { ...b, dx: g }, { batch: 2, channels: 4, groups: 2 }), /dx needs the buffer 'weight'/);
      } finally {
        destroyBuffer(device, g);
        destroyBuffer(device, short);
      }
    },
  },
];
