/** The float64 reference of embedding: its backward against finite differences, and bad indices refused. */
import { test } from 'node:test';
import { checkTokenIndices } from '../../src/kernels/embedding.ts';
import { embeddingBackwardRef, embeddingRef } from '../../src/ref/embedding.ts';
import { checkGradient, expectThrows, randomF32, seeded } from '../support/check.ts';

test('embedding reference: dweight (a scatter-add over repeated indices) matches finite differences', () => {
  for (const [N, V, E] of [[7, 3, 2], [20, 5, 3], [1, 4, 5]] as const) {
    const r = seeded(N + V);
    // Repeats and unused rows: index 0 appears often, the last row never (for N > 1).
    const idx = Float64Array.from({ length: N }, (_, p) => (p % 3 === 0 ? 0 : Math.floor(r() * (V - 1))));
    const w = Float64Array.from(randomF32(V * E, 2)), c = Float64Array.from(randomF32(N * E, 3));
    const f = () => embeddingRef(idx, w, { vocab: V, dim: E }).reduce((s, v, i) => s + v * c[i]!, 0);
    checkGradient(`embedding dweight (N=${N}, V=${V}, E=${E})`, f, w, embeddingBackwardRef(idx, c, { vocab: V, dim: E }), { atol: 1e-9, rtol: 1e-7 }, V * E);
    if (N % 2 === 0) {
      const t = { vocab: V, dim: E, transpose: true, steps: N / 2 };
      const ft = () => embeddingRef(idx, w, t).reduce((a, v, i) => a + v * c[i]!, 0);
      checkGradient(`embedding dweight, (B, E, T) output (N=${N}, V=${V}, E=${E})`, ft, w, embeddingBackwardRef(idx, c, t), { atol: 1e-9, rtol: 1e-7 }, V * E);
    }
  }
  // The transposed layout is the plain one with its last two axes swapped.
  const idx = [0, 2, 1, 2, 0, 1], w = [1, 2, 3, 4, 5, 6];
  const plain = embeddingRef(idx, w, { vocab: 3, dim: 2 }), tr = embeddingRef(idx, w, { vocab: 3, dim: 2, transpose: true, steps: 3 });
  for (let b = 0; b < 2; b++) for (let t = 0; t < 3; t++) for (let e = 0; e < 2; e++) {
    if (tr[(b * 2 + e) * 3 + t] !== plain[(b * 3 + t) * 2 + e]) throw new Error(`transposed embedding at b=${b}, t=${t}, e=${e}: ${tr[(b * 2 + e) * 3 + t]} vs ${plain[(b * 3 + t) * 2 + e]}`);
  }
});

test('token indices: out-of-range, negative and fractional indices are refused naming the index, the position and the vocabulary', async () => {
  checkTokenIndices([0, 3, 2, 3], 4);
  await expectThrows('too large', () => checkTokenIndices([0, 1, 4, 2], 4), /token indices: index 4 at position 2 is outside the vocabulary of 4; expected an integer in \[0, 4\)/);
  await expectThrows('negative', () => checkTokenIndices([0, -1], 4, 'tokens'), /tokens: index -1 at position 1 is outside the vocabulary of 4/);
  await expectThrows('fraction, with sample and step', () => checkTokenIndices([0, 1, 2, 1.5], 4, 'batch', 3), /batch: index 1.5 at position 3 \(sample 1, step 0\) is outside/);
  await expectThrows('NaN', () => checkTokenIndices([NaN], 4), /index NaN at position 0/);
  await expectThrows('reference too', () => embeddingRef([5], [0, 0], { vocab: 2, dim: 1 }), /index 5 at position 0 is outside the vocabulary of 2/);
});
