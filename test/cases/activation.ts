/**
 * Elementwise activations on the GPU against the float64 reference: every
 * activation forward, backward from the input and (where allowed) from the
 * output, with accumulate, over odd sizes, a forced 2-D dispatch grid and edge values.
 *
 * Tolerances: the GPU evaluates in f32 with the WGSL builtins exp, log and
 * tanh, which Vulkan allows a few ULP of error (exp: 3 + 2·|x| ULP), against
 * a float64 reference of the same f32 input. Relative 1e-5 (about 170 f32
 * ULP) covers that where the result is not tiny; absolute 1e-6 covers the
 * results that come out of a cancellation (gelu's 1 + tanh(u) for u < 0,
 * elu's exp(x) − 1 near 0, 1 − t² of saturated tanh, softplus's log(1 + e))
 * whose error is a few ULP of the O(1) terms, not of the small result. The
 * derivative from the output also sees y rounded to f32 first; its formulas
 * (y·(1 − y), 1 − y², y + α) have slopes of at most 2 in y, so that adds at
 * most about 1.2e-7, inside the same absolute tolerance.
 * gelu's derivative has one larger cancellation: for x below about −4 its two
 * terms ½(1 + t) and ½·x·(1 − t²)·du (t = tanh(u)) are each a few ULP of 1
 * (t is −1 + O(1e-7)) amplified by |x·du| ≈ 17 at x = −5, so f32 gets them
 * only to about 2e-6 absolute (measured: 1.97e-6 at x = −4.96, where the true
 * value is −2e-6); its backward uses atol 3e-6.
 */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { ACTIVATIONS, activationCode, GRAD_FROM_OUTPUT, type Activation } from '../../src/kernels/activation-codes.ts';
import { activation, activationBackward, elementsPerGroup } from '../../src/kernels/activation.ts';
import { makeCall, submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import { actForward, actGrad } from '../../src/ref/activation.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

const TOL = { atol: 1e-6, rtol: 1e-5 };
const gradTol = (act: Activation) => (act === 'gelu' ? { atol: 3e-6, rtol: 1e-5 } : TOL);

async function runCalls(device: GPUDevice, what: string, make: () => KernelCall[]): Promise<void> {
  await gpuScope(device, what, async () => {
    const calls = make();
    try {
      submitCalls(device, calls);
    } finally {
      for (const c of calls) c.destroy();
    }
  });
}

/** Forward, backward from x, backward from y (when allowed) and accumulate, each against the reference. */
async function checkActivation(device: GPUDevice, act: Activation, x: Float32Array, seed: number, alpha?: number): Promise<void> {
  const n = x.length;
  const what = `activation ${act}${alpha !== undefined ? ` alpha=${alpha}` : ''} n=${n}`;
  const dy = randomF32(n, seed);
  const dx0 = randomF32(n, seed + 1);
  const gx = uploadF32(device, x), gdy = uploadF32(device, dy), gy = createBuffer(device, n * 4), gdx = createBuffer(device, n * 4);
  const opts = { n, activation: act, ...(alpha !== undefined ? { alpha } : {}) };
  try {
    await runCalls(device, `${what} forward`, () => [activation(device, { x: gx, y: gy }, opts)]);
    const y = await readF32(device, gy, n);
    expectClose(`${what}: y`, y, Array.from(x, (v) => actForward(act, v, alpha)), TOL);

    const dxRef = Array.from(x, (v, i) => dy[i]! * actGrad(act, v, alpha));
    await runCalls(device, `${what} backward`, () => [activationBackward(device, { x: gx, dy: gdy, dx: gdx }, opts)]);
    expectClose(`${what}: dx from x`, await readF32(device, gdx, n), dxRef, gradTol(act));

    device.queue.writeBuffer(gdx, 0, new Float32Array(dx0));
    await runCalls(device, `${what} backward accumulate`, () => [activationBackward(device, { x: gx, dy: gdy, dx: gdx }, { ...opts, accumulate: true })]);
    expectClose(`${what}: dx += from x`, await readF32(device, gdx, n), dxRef.map((v, i) => v + dx0[i]!), gradTol(act));

    if (GRAD_FROM_OUTPUT.has(act)) {
      // Compared with the true derivative at x: the output y (as the GPU wrote it) is all the kernel sees.
      await runCalls(device, `${what} backward from y`, () => [activationBackward(device, { y: gy, dy: gdy, dx: gdx }, opts)]);
      expectClose(`${what}: dx from y`, await readF32(device, gdx, n), dxRef, TOL);
      device.queue.writeBuffer(gdx, 0, new Float32Array(dx0));
      await runCalls(device, `${what} backward from y accumulate`, () => [activationBackward(device, { y: gy, dy: gdy, dx: gdx }, { ...opts, accumulate: true })]);
      expectClose(`${what}: dx += from y`, await readF32(device, gdx, n), dxRef.map((v, i) => v + dx0[i]!), TOL);
    }
  } finally {
    for (const b of [gx, gdy, gy, gdx]) destroyBuffer(device, b);
  }
}

// Zero, tiny normal floats, the tanh saturation (15) and softplus threshold
// (20) on both sides, exp's overflow region (±88, ±89) and far tails.
const EDGE = [
  0, -0, 1e-30, -1e-30, 1e-37, -1e-37, 1e-7, -1e-7, 1e-3, -1e-3, 1, -1, 3, -3, 14.9, -14.9, 15.1, -15.1, 19.99, -19.99, 20, -20,
  20.01, -20.01, 30, -30, 44, -44, 88, -88, 89, -89, 1e4, -1e4,
];

export const activationCases: GpuCase[] = [
  {
    name: 'activations: every activation forward and backward (from x, from y, accumulate) for n = 1, 3, 127, 128, 129, 70000 (128 and 70000 four per invocation)',
    async run(device) {
      let seed = 1;
      for (const act of ACTIVATIONS) {
        for (const n of [1, 3, 127, 128, 129, 70000]) {
          await checkActivation(device, act, randomF32(n, seed++ * 7, -6, 6), seed);
        }
      }
      await checkActivation(device, 'leaky_relu', randomF32(129, 900, -3, 3), 901, 0.2);
      await checkActivation(device, 'elu', randomF32(129, 902, -3, 3), 903, 0.5);
    },
  },
  {
    name: 'activations: edge values (0, ±tiny, thresholds 15 and 20, ±88, ±1e4) for every activation',
    async run(device) {
      const x = Float32Array.from(EDGE);
      let seed = 50;
      for (const act of ACTIVATIONS) await checkActivation(device, act, x, seed++);
    },
  },
  {
    name: 'activations: a 2-D dispatch grid (wg.x + wg.y·num_workgroups.x) covers every element once',
    async run(device) {
      // grid1d only splits above 65535 workgroups (67M elements here), too large
      // for a test; the same 2-D indexing is driven by a hand-made 35 × 2 grid
      // over 70000 elements (71680 slots, the last 1680 past the end).
      const n = 70000;
      const groups: [number, number, number] = [35, 2, 1];
      expect(groups[0] * groups[1] * elementsPerGroup('activation_forward') >= n, 'the grid must cover n');
      const x = randomF32(n, 77, -4, 4);
      const gx = uploadF32(device, x);
      const gy = uploadF32(device, new Float32Array(n + 2048).fill(12345)); // sentinel past n
      try {
        await runCalls(device, 'activation 2-D grid', () => [
          makeCall(device, {
            shader: 'activations',
            entry: 'activation_forward',
            buffers: { x: gx, y_out: gy },
            constants: { ACT: activationCode('silu'), ACCUMULATE: 0 },
            params: { n, alpha: 0 },
            workgroups: groups,
          }),
        ]);
        const y = await readF32(device, gy);
        expectClose('silu over a 35x2 grid', y.subarray(0, n), Array.from(x, (v) => actForward('silu', v)), TOL);
        expect(y.subarray(n).every((v) => v === 12345), 'elements past n were written');
        // The vec4 kernel over the same grid: 35·2·256 vec4 slots for n / 4 = 17500.
        device.queue.writeBuffer(gy, 0, new Float32Array(n + 2048).fill(12345));
        await runCalls(device, 'activation 2-D grid (vec4)', () => [
          makeCall(device, {
            shader: 'activations_vec4',
            entry: 'activation_forward4',
            buffers: { x4: gx, y_out4: gy },
            constants: { ACT: activationCode('silu'), ACCUMULATE: 0 },
            params: { n, alpha: 0 },
            workgroups: groups,
          }),
        ]);
        const y4 = await readF32(device, gy);
        expectClose('silu over a 35x2 grid (vec4)', y4.subarray(0, n), Array.from(x, (v) => actForward('silu', v)), TOL);
        expect(y4.subarray(n).every((v) => v === 12345), 'elements past n were written (vec4)');
        const labels = [activation(device, { x: gx, y: gy }, { n: 128, activation: 'relu' }), activation(device, { x: gx, y: gy }, { n: 127, activation: 'relu' })];
        expect(labels[0]!.label.endsWith('[vec4]') && !labels[1]!.label.endsWith('[vec4]'), `vec4 kernel for n = 128 only: ${labels.map((c) => c.label).join(', ')}`);
        for (const c of labels) c.destroy();
      } finally {
        destroyBuffer(device, gx);
        destroyBuffer(device, gy);
      }
    },
  },
  {
    name: 'activations: bad sizes, missing or wrong saved tensors are refused with clear errors',
    async run(device) {
      const buf = createBuffer(device, 64), other = createBuffer(device, 64);
      try {
        await expectThrows('n = 0', () => activation(device, { x: buf, y: buf }, { n: 0, activation: 'relu' }), /n = 0; expected a positive integer/);
        await expectThrows('short x', () => activation(device, { x: buf, y: buf }, { n: 17, activation: 'relu' }), /buffer 'x' holds 64 bytes; expected at least 68/);
        await expectThrows('in place', () => activation(device, { x: buf, y: { buffer: buf, offset: 0, size: 32 } }, { n: 8, activation: 'relu' }), /'y' and 'x' are the same buffer/);
        await expectThrows('dx is dy', () => activationBackward(device, { x: other, dy: buf, dx: buf }, { n: 8, activation: 'relu' }), /'dx' and 'dy' are the same buffer/);
        await expectThrows('gelu from output', () => activationBackward(device, { y: buf, dy: buf, dx: buf }, { n: 4, activation: 'gelu' }), /gelu is not a function of its output/);
        await expectThrows('negative elu alpha from output', () => activationBackward(device, { y: buf, dy: buf, dx: buf }, { n: 4, activation: 'elu', alpha: -1 }), /alpha = -1 < 0/);
        const both = { x: buf, y: buf, dy: buf, dx: buf } as unknown as Parameters<typeof activationBackward>[1];
        await expectThrows('x and y', () => activationBackward(device, both, { n: 4, activation: 'relu' }), /exactly one of x/);
      } finally {
        destroyBuffer(device, buf);
        destroyBuffer(device, other);
      }
    },
  },
];
