/** matmul and its backward products against the float64 reference, over odd and VAE-sized shapes. */
import { readF32, uploadF32, destroyBuffer, createBuffer } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/kernels/kernel.ts';
import { matmul, matmulBackward, type MatmulOptions } from '../../src/kernels/matmul.ts';
import { matmulBackwardRef, matmulRef } from '../../src/ref/matmul.ts';
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
  const what = `matmul m=${o.m} n=${o.n} k=${o.k} transA=${!!o.transA} transB=${!!o.transB} bias=${withBias} act=${o.activation ?? 'identity'}`;
  const ga = uploadF32(device, a), gb = uploadF32(device, b), gc = createBuffer(device, o.m * o.n * 4);
  const gbias = bias ? uploadF32(device, bias) : undefined;
  try {
    const got = await gpuScope(device, what, async () => {
      const call = matmul(device, { a: ga, b: gb, c: gc, ...(gbias ? { bias: gbias } : {}) }, o);
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
  const what = `matmul backward m=${o.m} n=${o.n} k=${o.k} transA=${!!o.transA} transB=${!!o.transB}`;
  const ga = uploadF32(device, a), gb = uploadF32(device, b), gdc = uploadF32(device, dc);
  const gda = createBuffer(device, a.byteLength), gdb = createBuffer(device, b.byteLength);
  try {
    const [da, db] = await gpuScope(device, what, async () => {
      const calls = matmulBackward(device, { a: ga, b: gb, dc: gdc, da: gda, db: gdb }, o);
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
