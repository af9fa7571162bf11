/**
 * Philox on the GPU against the TypeScript mirror (raw words bit-exact,
 * normals to f32 tolerance), the statistics of the normals, and the
 * reparameterization forward and backward against the float64 reference.
 */
import { createBuffer, destroyBuffer, readF32, readU32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import { philoxRaw, randomNormal, reparameterize, reparameterizeBackward, type PhiloxKey } from '../../src/kernels/reparameterize.ts';
import { philoxRawRef, randomNormalRef } from '../../src/ref/philox.ts';
import { reparameterizeBackwardRef, reparameterizeRef } from '../../src/ref/reparameterize.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

/**
 * GPU normals vs the float64 mirror: the uniforms are bit-exact, so the
 * difference is the f32 rounding of log, sqrt, cos and sin (|ε| ≤ 5.8).
 */
export const EPS_TOL = { atol: 2e-6, rtol: 2e-6 };

const keyText = (k: PhiloxKey) => `seed=${k.seed} step=${k.step} stream=${k.stream ?? 0}`;

/** Runs calls in an error scope, destroys them, then reads back. */
export async function runCalls<T>(device: GPUDevice, what: string, calls: KernelCall[], read: () => Promise<T>): Promise<T> {
  return gpuScope(device, what, async () => {
    try {
      submitCalls(device, calls);
    } finally {
      for (const c of calls) c.destroy();
    }
    return read();
  });
}

async function gpuRaw(device: GPUDevice, key: PhiloxKey, n: number, offset = 0): Promise<Uint32Array> {
  const out = createBuffer(device, n * 4);
  try {
    return await runCalls(device, `philoxRaw ${keyText(key)}`, [philoxRaw(device, { out }, { ...key, n, offset })], () => readU32(device, out, n));
  } finally {
    destroyBuffer(device, out);
  }
}

async function gpuNormal(device: GPUDevice, key: PhiloxKey, n: number, offset = 0): Promise<Float32Array> {
  const out = createBuffer(device, n * 4);
  try {
    return await runCalls(device, `randomNormal ${keyText(key)}`, [randomNormal(device, { out }, { ...key, n, offset })], () => readF32(device, out, n));
  } finally {
    destroyBuffer(device, out);
  }
}

function expectSameWords(what: string, got: Uint32Array, want: Uint32Array): void {
  expect(got.length === want.length, `${what}: ${got.length} words, expected ${want.length}`);
  const bad = got.findIndex((v, i) => v !== want[i]);
  if (bad >= 0) {
    const count = got.filter((v, i) => v !== want[i]).length;
    throw new Error(`${what}: ${count} of ${want.length} words differ; first at index ${bad}: got 0x${got[bad]!.toString(16)}, expected 0x${want[bad]!.toString(16)}`);
  }
}

interface Moments {
  readonly mean: number;
  readonly variance: number;
  readonly within1: number;
  readonly lag1: number;
}

function moments(z: ArrayLike<number>): Moments {
  const n = z.length;
  let s1 = 0, s2 = 0, within = 0, lag = 0;
  for (let i = 0; i < n; i++) {
    const v = z[i]!;
    s1 += v;
    s2 += v * v;
    if (Math.abs(v) < 1) within++;
    if (i > 0) lag += v * z[i - 1]!;
  }
  const mean = s1 / n;
  return { mean, variance: s2 / n - mean * mean, within1: within / n, lag1: lag / (n - 1) };
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

const SHAPES: ReadonlyArray<readonly [number, number]> = [[1, 1], [1, 3], [3, 20], [7, 5], [129, 1], [128, 20], [127, 33]];

/** μ in [−2, 2), logvar in [−10, 10) with the extremes ±10 at the first and last element. */
function latentInputs(n: number, seed: number) {
  const mu = randomF32(n, seed, -2, 2);
  const logvar = randomF32(n, seed + 1, -10, 10);
  logvar[0] = 10;
  logvar[n - 1] = -10;
  return { mu, logvar };
}

export const rngCases: GpuCase[] = [
  {
    name: 'rng: philox_raw words are bit-exact with the TypeScript mirror (seeds, steps, streams, offsets)',
    async run(device) {
      const keys: PhiloxKey[] = [
        { seed: 0, step: 0 },
        { seed: 0xffffffff, step: 0xffffffff, stream: 0xffffffff },
        { seed: 12345, step: 1 },
        { seed: 12345, step: 2 },
        { seed: 7, step: 100000, stream: 3 },
      ];
      for (const key of keys) {
        for (const [n, offset] of [[1, 0], [3, 0], [4097, 0], [1000, 1], [130, 0xffffff00], [4, 0xfffffffc]] as const) {
          const what = `philoxRaw ${keyText(key)} n=${n} offset=${offset}`;
          expectSameWords(what, await gpuRaw(device, key, n, offset), philoxRawRef(key, n, offset));
        }
      }
      // One dispatch past 65535 workgroups (a 2-D grid).
      const big = 65536 * 256 + 5;
      const got = await gpuRaw(device, { seed: 99, step: 4 }, big);
      const idx = [0, 1, 255, 256, 65535 * 256 - 1, 65535 * 256, big - 1];
      expectSameWords('philoxRaw 2-D grid', Uint32Array.from(idx, (i) => got[i]!), Uint32Array.from(idx, (i) => philoxRawRef({ seed: 99, step: 4 }, 1, i)[0]!));
    },
  },
  {
    name: 'rng: random_normal matches the float64 mirror to f32 tolerance',
    async run(device) {
      for (const key of [{ seed: 1, step: 0 }, { seed: 0xffffffff, step: 77, stream: 2 }]) {
        for (const [n, offset] of [[1, 0], [5, 3], [4099, 0], [64, 0xffffffc0]] as const) {
          const got = await gpuNormal(device, key, n, offset);
          expectClose(`randomNormal ${keyText(key)} n=${n} offset=${offset}`, got, randomNormalRef(key, n, offset), EPS_TOL);
        }
      }
    },
  },
  {
    name: 'rng: 2^18 GPU normals have mean 0, variance 1 and ±1σ mass within 5 standard errors; keys give different streams',
    async run(device) {
      const n = 1 << 18;
      const se = 1 / Math.sqrt(n);
      const key = { seed: 2024, step: 17 };
      const z = await gpuNormal(device, key, n);
      const m = moments(z);
      const p = 0.6826894921370859;
      expect(Math.abs(m.mean) < 5 * se, `mean ${m.mean}, 5 SE = ${5 * se}`);
      expect(Math.abs(m.variance - 1) < 5 * Math.SQRT2 * se, `variance ${m.variance}, 5 SE = ${5 * Math.SQRT2 * se}`);
      expect(Math.abs(m.within1 - p) < 5 * Math.sqrt(p * (1 - p)) * se, `P(|ε| < 1) = ${m.within1}, expected ${p}`);
      expect(Math.abs(m.lag1) < 5 * se, `lag-1 correlation ${m.lag1}`);
      expectClose(`randomNormal ${keyText(key)} n=${n} vs the float64 mirror`, z, randomNormalRef(key, n), EPS_TOL);
      const others: PhiloxKey[] = [{ seed: 2024, step: 18 }, { seed: 2025, step: 17 }, { seed: 2024, step: 17, stream: 1 }];
      const m2 = 1 << 16;
      for (const other of others) {
        const o = await gpuNormal(device, other, m2);
        const equal = o.filter((v, i) => v === z[i]).length;
        const r = correlation(o, z.subarray(0, m2));
        expect(equal === 0, `${keyText(other)} repeats ${equal} of ${m2} values of ${keyText(key)}`);
        expect(Math.abs(r) < 5 / Math.sqrt(m2), `${keyText(other)} correlates with ${keyText(key)}: r = ${r}`);
      }
      // The same key again gives the same numbers.
      const again = await gpuNormal(device, key, 1000);
      expectClose('same key, same stream', again, z.subarray(0, 1000), { atol: 0, rtol: 0 });
    },
  },
  {
    name: 'reparameterize: z = μ + exp(½·logvar)·ε and ε against the reference, deterministic mode z = μ',
    async run(device) {
      let seed = 1;
      for (const [batch, latent] of SHAPES) {
        const n = batch * latent;
        const { mu, logvar } = latentInputs(n, seed);
        const key = { seed: seed * 7919, step: seed, stream: seed % 3 };
        seed += 2;
        const what = `reparameterize B=${batch} J=${latent} ${keyText(key)}`;
        const gmu = uploadF32(device, mu), glv = uploadF32(device, logvar);
        const gz = createBuffer(device, n * 4), geps = createBuffer(device, n * 4), gz2 = createBuffer(device, n * 4);
        try {
          const o = { batch, latent, ...key };
          const [z, eps, zNoEps] = await runCalls(device, what, [
            reparameterize(device, { mu: gmu, logvar: glv, z: gz, eps: geps }, o),
            reparameterize(device, { mu: gmu, logvar: glv, z: gz2 }, o),
          ], async () => [await readF32(device, gz), await readF32(device, geps), await readF32(device, gz2)] as const);
          expectClose(`${what}: ε vs the float64 mirror`, eps, randomNormalRef(key, n), EPS_TOL);
          expectClose(`${what}: z from the GPU's ε`, z, reparameterizeRef(mu, logvar, eps), { atol: 1e-6, rtol: 2e-6 });
          expectClose(`${what}: z without an ε buffer`, zNoEps, z, { atol: 0, rtol: 0 });
          const det = await runCalls(device, `${what} deterministic`, [
            reparameterize(device, { mu: gmu, logvar: glv, z: gz, eps: geps }, { ...o, sample: false }),
          ], async () => [await readF32(device, gz), await readF32(device, geps)] as const);
          expectClose(`${what} deterministic: z = μ`, det[0], mu, { atol: 0, rtol: 0 });
          expectClose(`${what} deterministic: ε = 0`, det[1], new Float32Array(n), { atol: 0, rtol: 0 });
        } finally {
          for (const b of [gmu, glv, gz, geps, gz2]) destroyBuffer(device, b);
        }
      }
    },
  },
  {
    name: 'reparameterize backward: dmu = dz, dlogvar = dz·½σε with ε regenerated; accumulate; deterministic mode',
    async run(device) {
      let seed = 50;
      for (const [batch, latent] of SHAPES) {
        const n = batch * latent;
        const { mu, logvar } = latentInputs(n, seed);
        const dz = randomF32(n, seed + 5);
        const init = randomF32(n, seed + 6);
        const key = { seed: seed * 31, step: 3 };
        seed += 10;
        const what = `reparameterizeBackward B=${batch} J=${latent}`;
        const gmu = uploadF32(device, mu), glv = uploadF32(device, logvar), gdz = uploadF32(device, dz);
        const gdmu = createBuffer(device, n * 4), gdlv = createBuffer(device, n * 4);
        const admu = uploadF32(device, init), adlv = uploadF32(device, init);
        try {
          const o = { batch, latent, ...key };
          const [dmu, dlv, accMu, accLv] = await runCalls(device, what, [
            reparameterizeBackward(device, { dz: gdz, mu: gmu, logvar: glv, dmu: gdmu, dlogvar: gdlv }, o),
            reparameterizeBackward(device, { dz: gdz, mu: gmu, logvar: glv, dmu: admu, dlogvar: adlv }, { ...o, accumulate: true }),
          ], async () => [await readF32(device, gdmu), await readF32(device, gdlv), await readF32(device, admu), await readF32(device, adlv)] as const);
          const ref = reparameterizeBackwardRef(dz, logvar, randomNormalRef(key, n));
          const tol = { atol: 1e-6, rtol: 1e-5 };
          expectClose(`${what}: dmu`, dmu, ref.dmu, tol);
          expectClose(`${what}: dlogvar`, dlv, ref.dlogvar, tol);
          expectClose(`${what} accumulate: dmu`, accMu, ref.dmu.map((v, i) => v + init[i]!), tol);
          expectClose(`${what} accumulate: dlogvar`, accLv, ref.dlogvar.map((v, i) => v + init[i]!), tol);
          const det = await runCalls(device, `${what} deterministic`, [
            reparameterizeBackward(device, { dz: gdz, mu: gmu, logvar: glv, dmu: gdmu, dlogvar: gdlv }, { ...o, sample: false }),
          ], () => readF32(device, gdlv));
          expectClose(`${what} deterministic: dlogvar = 0`, det, new Float32Array(n), { atol: 0, rtol: 0 });
        } finally {
          for (const b of [gmu, glv, gdz, gdmu, gdlv, admu, adlv]) destroyBuffer(device, b);
        }
      }
    },
  },
  {
    name: 'rng: empty sizes, bad keys and short buffers are refused with clear errors',
    async run(device) {
      const buf = createBuffer(device, 64);
      try {
        await expectThrows('n = 0', () => randomNormal(device, { out: buf }, { n: 0, seed: 1, step: 0 }), /n = 0; expected a positive integer/);
        await expectThrows('batch = 0', () => reparameterize(device, { mu: buf, logvar: buf, z: buf }, { batch: 0, latent: 4, seed: 1, step: 0 }), /batch = 0; expected a positive integer/);
        await expectThrows('negative seed', () => philoxRaw(device, { out: buf }, { n: 4, seed: -1, step: 0 }), /seed = -1; expected a u32/);
        await expectThrows('past the index range', () => philoxRaw(device, { out: buf }, { n: 8, seed: 1, step: 0, offset: 0xfffffffc }), /leave the stream's u32 index range/);
        await expectThrows('short z', () => reparameterize(device, { mu: buf, logvar: buf, z: buf }, { batch: 5, latent: 4, seed: 1, step: 0 }), /buffer 'mu' holds 64 bytes; expected at least 80/);
        await expectThrows('free bits without klDim', () => reparameterizeBackward(device, { dz: buf, mu: buf, logvar: buf, dmu: buf, dlogvar: buf }, { batch: 2, latent: 2, seed: 1, step: 0, freeBits: 0.5 }), /needs the klDim buffer/);
      } finally {
        destroyBuffer(device, buf);
      }
    },
  },
];
