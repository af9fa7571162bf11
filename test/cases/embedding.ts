/**
 * embedding on the GPU against the float64 reference: the forward (a copy:
 * exact; as (B, T, E) and transposed as (B, E, T)), and the backward scatter-add, which must give the same bits on
 * every run and equal the float32 sum taken in position order (so it is
 * deterministic by construction, not by luck of scheduling), within the
 * float32 error bound of the float64 reference; accumulation; indices outside
 * the vocabulary (refused on the host; harmless if they reach the kernel);
 * bad sizes.
 */
import { destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { checkTokenIndices, embedding, embeddingBackward } from '../../src/kernels/embedding.ts';
import { embeddingBackwardRef, embeddingRef } from '../../src/ref/embedding.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32, seeded } from '../support/check.ts';
import type { GpuCase } from './types.ts';

const U = 2 ** -24;

/** Token indices with repeats: a skewed draw so some rows collect many positions and some none. */
function tokens(n: number, vocab: number, seed: number): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: n }, () => Math.floor(r() ** 2 * vocab));
}

/** T for the (B, E, T) layout: the largest divisor of N up to 70 (N itself when N is small). */
function stepsOf(n: number): number {
  for (let t = Math.min(n, 70); t > 1; t--) if (n % t === 0) return t;
  return 1;
}

/** Where dy[p, e] lives: (N, E), or (B, E, T) when steps > 0. */
function dyIndex(p: number, e: number, dim: number, steps: number): number {
  if (!steps) return p * dim + e;
  const b = Math.floor(p / steps);
  return (b * dim + e) * steps + (p - b * steps);
}

/** dweight as the kernel defines it: each row's float32 sum over its positions in increasing order. */
function positionOrderSum(idx: ArrayLike<number>, dy: ArrayLike<number>, vocab: number, dim: number, steps: number, init?: ArrayLike<number>): Float32Array {
  const acc = new Float32Array(vocab * dim);
  for (let p = 0; p < idx.length; p++) {
    for (let e = 0; e < dim; e++) {
      const i = idx[p]! * dim + e;
      acc[i] = Math.fround(acc[i]! + dy[dyIndex(p, e, dim, steps)]!);
    }
  }
  return init ? acc.map((v, i) => Math.fround(init[i]! + v)) : acc;
}

/** |Σ| error bound of a float32 sum of k terms: k·u·Σ|terms| per element. */
function sumBound(idx: ArrayLike<number>, dy: ArrayLike<number>, vocab: number, dim: number): Float64Array {
  const abs = embeddingBackwardRef(idx, Array.from(dy, Math.abs), { vocab, dim });
  const count = new Float64Array(vocab);
  for (let p = 0; p < idx.length; p++) count[idx[p]!]++;
  return abs.map((a, i) => a * count[Math.floor(i / dim)]! * U);
}

const SHAPES: ReadonlyArray<readonly [number, number, number]> = [[1, 1, 1], [7, 3, 5], [300, 17, 33], [5000, 3, 6], [64 * 70, 40, 32], [1025, 300, 4]];

export const embeddingCases: GpuCase[] = [
  {
    name: 'embedding: forward picks the rows (exact) for sizes across workgroup boundaries, as (B, T, E) and as (B, E, T)',
    async run(device) {
      for (const [N, V, E] of SHAPES) {
        for (const steps of [0, stepsOf(N)]) {
          const idx = tokens(N, V, N + V), w = randomF32(V * E, E);
          const gi = uploadF32(device, idx), gw = uploadF32(device, w), gy = uploadF32(device, new Float32Array(N * E));
          const layout = steps ? { transpose: true, steps } : {};
          const call = embedding(device, { indices: gi, weight: gw, y: gy }, { positions: N, vocab: V, dim: E, ...layout });
          try {
            await gpuScope(device, `embedding N=${N}`, async () => submitCalls(device, [call]));
            expectClose(`embedding (N=${N}, V=${V}, E=${E}, T=${steps || '-'})`, await readF32(device, gy, N * E), embeddingRef(idx, w, { vocab: V, dim: E, ...layout }), { atol: 0, rtol: 0 });
          } finally {
            call.destroy();
            for (const g of [gi, gw, gy]) destroyBuffer(device, g);
          }
        }
      }
    },
  },
  {
    name: 'embedding backward: deterministic scatter-add (bit-identical runs, the position-order float32 sum) within the float64 reference bound; accumulate',
    async run(device) {
      for (const [N, V, E] of SHAPES) {
        for (const [accumulate, steps] of [[false, 0], [true, 0], [false, stepsOf(N)]] as const) {
          const idx = tokens(N, V, 3 * N + V), dy = randomF32(N * E, N + 1), init = randomF32(V * E, N + 2);
          const gi = uploadF32(device, idx), gdy = uploadF32(device, dy), gdw = uploadF32(device, init);
          const layout = steps ? { transpose: true, steps } : {};
          const call = embeddingBackward(device, { indices: gi, dy: gdy, dweight: gdw }, { positions: N, vocab: V, dim: E, accumulate, ...layout });
          const what = `embeddingBackward (N=${N}, V=${V}, E=${E}, accumulate=${accumulate}, T=${steps || '-'})`;
          try {
            const runs: Float32Array[] = [];
            for (let run = 0; run < 2; run++) {
              device.queue.writeBuffer(gdw, 0, init.buffer, init.byteOffset, init.byteLength);
              await gpuScope(device, what, async () => submitCalls(device, [call]));
              runs.push(await readF32(device, gdw, V * E));
            }
            const diff = runs[0]!.findIndex((v, i) => !Object.is(v, runs[1]![i]));
            expect(diff < 0, `${what}: two runs differ at ${diff}: ${runs[0]![diff]} vs ${runs[1]![diff]}`);
            expectClose(`${what}: against the position-order float32 sum`, runs[0]!, positionOrderSum(idx, dy, V, E, steps, accumulate ? init : undefined), { atol: 0, rtol: 0 });
            const ref = embeddingBackwardRef(idx, dy, { vocab: V, dim: E, ...layout });
            const want = accumulate ? ref.map((v, i) => v + init[i]!) : ref;
            // Per element: k·u·Σ|dy| for a row picked k times (plus one rounding of the accumulation).
            const bound = sumBound(idx, Array.from({ length: N * E }, (_, i) => dy[dyIndex(Math.floor(i / E), i % E, E, steps)]!), V, E);
            const bad = Array.from(runs[0]!).findIndex((v, i) => !(Math.abs(v - want[i]!) <= bound[i]! + 2 * U * Math.abs(want[i]!)));
            expect(bad < 0, `${what}: element ${bad}: ${runs[0]![bad]} vs float64 ${want[bad]} (bound ${bound[bad]})`);
          } finally {
            call.destroy();
            for (const g of [gi, gdy, gdw]) destroyBuffer(device, g);
          }
        }
      }
    },
  },
  {
    name: 'embedding: an index outside the vocabulary is refused on the host; in the kernel it reads a zero row and adds nothing',
    async run(device) {
      const idx = Float32Array.from([0, 2, 7, -1, 1]);
      await expectThrows('host check', () => checkTokenIndices(idx, 3, 'batch', 5), /batch: index 7 at position 2 \(sample 0, step 2\) is outside the vocabulary of 3; expected an integer in \[0, 3\)/);
      const w = Float32Array.from([1, 2, 3, 4, 5, 6]);
      const gi = uploadF32(device, idx), gw = uploadF32(device, w), gy = uploadF32(device, new Float32Array(10)), gdw = uploadF32(device, new Float32Array(6));
      const fwd = embedding(device, { indices: gi, weight: gw, y: gy }, { positions: 5, vocab: 3, dim: 2 });
      const bwd = embeddingBackward(device, { indices: gi, dy: gy, dweight: gdw }, { positions: 5, vocab: 3, dim: 2 });
      try {
        await gpuScope(device, 'embedding with bad indices', async () => submitCalls(device, [fwd, bwd]));
        expectClose('forward rows', await readF32(device, gy, 10), [1, 2, 5, 6, 0, 0, 0, 0, 3, 4], { atol: 0, rtol: 0 });
        // dy = y: rows 0, 2 and 1 once each, nothing for the two bad positions.
        expectClose('backward', await readF32(device, gdw, 6), [1, 2, 3, 4, 5, 6], { atol: 0, rtol: 0 });
      } finally {
        fwd.destroy();
        bwd.destroy();
        for (const g of [gi, gw, gy, gdw]) destroyBuffer(device, g);
      }
    },
  },
  {
    name: 'embedding: bad sizes and short buffers are refused with clear errors',
    async run(device) {
      const g = uploadF32(device, new Float32Array(8));
      try {
        await expectThrows('vocab 0', () => embedding(device, { indices: g, weight: g, y: g }, { positions: 2, vocab: 0, dim: 2 }), /embedding \(N=2, V=0, E=2\): vocab = 0; expected a positive integer/);
        await expectThrows('short weight', () => embedding(device, { indices: g, weight: g, y: g }, { positions: 2, vocab: 5, dim: 2 }), /buffer 'weight' holds 32 bytes; expected at least 40 \(10 elements\)/);
        await expectThrows('short dweight', () => embeddingBackward(device, { indices: g, dy: g, dweight: g }, { positions: 1, vocab: 3, dim: 3 }), /embeddingBackward \(N=1, V=3, E=3\): buffer 'dweight' holds 32 bytes; expected at least 36/);
        await expectThrows('transpose without steps', () => embedding(device, { indices: g, weight: g, y: g }, { positions: 2, vocab: 2, dim: 2, transpose: true }), /embedding \(N=2, V=2, E=2, \(B, E, T\) with T=undefined\): steps = 0; expected a positive integer/);
        await expectThrows('steps not dividing N', () => embedding(device, { indices: g, weight: g, y: g }, { positions: 4, vocab: 2, dim: 2, transpose: true, steps: 3 }), /steps = 3 does not divide positions = 4 \(N = B·T\)/);
      } finally {
        destroyBuffer(device, g);
      }
    },
  },
];
