/**
 * Token kernels and the autoregressive decoder on the GPU against the
 * float64 references: one-hot gathering (shift, word dropout), the sampler
 * (greedy and at a temperature, whole-sequence and one-step layouts), and
 * decoding a batch of codes with the smiles preset's GRU decoder (one step
 * at a time) and its causal-convolution decoder (a pass per position).
 */
import { createBuffer, destroyBuffer, readF32, STORAGE, uploadF32, uploadU32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { modelLayout } from '../../src/graph/build.ts';
import { SPECIAL_IDS } from '../../src/data/tokens.ts';
import { SequenceDecoder } from '../../src/eval/decode.ts';
import { gatherOneHot, sampleTokens } from '../../src/kernels/tokens.ts';
import { sequencePreset } from '../../src/model/presets.ts';
import { decodeTokensRef } from '../../src/model/reference.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { gatherOneHotRef, sampleTokenRef } from '../../src/ref/tokens.ts';
import { randomNormalRef } from '../../src/ref/philox.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32, seeded } from '../support/check.ts';
import { seededParams } from '../support/models.ts';
import type { GpuCase } from './types.ts';

/** N sequences of T ids: tokens 4..V−1, then END, then padding. */
function sequences(N: number, T: number, V: number, seed: number): Float32Array {
  const r = seeded(seed);
  const ids = new Float32Array(N * T).fill(SPECIAL_IDS.pad);
  for (let n = 0; n < N; n++) {
    const len = 1 + Math.floor(r() * (T - 1));
    for (let t = 0; t < len - 1; t++) ids[n * T + t] = 4 + Math.floor(r() * (V - 4));
    ids[n * T + len - 1] = SPECIAL_IDS.end;
  }
  return ids;
}

async function decodeCase(device: GPUDevice, spec: ModelSpec, batch: number, n: number, temperature: number): Promise<boolean> {
  const params = seededParams(spec, 31, 3);
  const { names, total } = modelLayout(spec);
  const block = new Float32Array(total);
  for (const [k, v] of params) block.set(v, names.get(k)!);
  const buf = createBuffer(device, total * 4, STORAGE, 'params');
  device.queue.writeBuffer(buf, 0, block);
  const dec = new SequenceDecoder(device, spec, buf, batch);
  try {
    const z = Float32Array.from(randomNormalRef({ seed: 9, step: 0, stream: 3 }, n * spec.latent));
    const o = { temperature, seed: 77 };
    const gpu = await gpuScope(device, 'decode', () => dec.decode(z, o));
    const ref = decodeTokensRef(spec, params, z, o);
    const what = `${dec.stepwise ? 'step-by-step' : 'whole-sequence'} decoding, ${temperature === 0 ? 'greedy' : `temperature ${temperature}`}, ${n} rows in batches of ${batch}`;
    expectClose(what, gpu, ref, { atol: 0, rtol: 0 });
    const [T] = spec.input as [number, number];
    // The draws make sequences of varied length: some rows end before T.
    expect(Array.from({ length: n }, (_, b) => ref.subarray(b * T, (b + 1) * T).indexOf(SPECIAL_IDS.end)).some((i) => i >= 0), `${what}: no row drew the end token`);
    return dec.stepwise;
  } finally {
    dec.destroy();
    destroyBuffer(device, buf);
  }
}

export const tokenCases: GpuCase[] = [
  {
    name: 'tokens: gather_onehot (tokens; previous tokens with word dropout) matches the reference bit for bit',
    async run(device) {
      for (const [N, T, V, B, start, shift, drop] of [[5, 4, 6, 3, 1, false, 0], [40, 66, 35, 32, 5, true, 0.3], [9, 7, 130, 9, 0, true, 0]] as const) {
        const ids = sequences(N, T, V, T);
        const order = Uint32Array.from({ length: N }, (_, i) => (i * 7 + 3) % N);
        const g = { ids: uploadF32(device, ids), order: uploadU32(device, order), x: uploadF32(device, randomF32(B * T * V, 1)) };
        const o = { batch: B, steps: T, vocab: V, count: N, ids: SPECIAL_IDS, shift, dropout: drop, start, seed: 11, step: 4 };
        const call = gatherOneHot(device, g, o);
        try {
          await gpuScope(device, 'gather', async () => submitCalls(device, [call]));
          const ref = gatherOneHotRef(ids, order, { ...o, drop: Math.round(drop * 2 ** 24) });
          expectClose(`gather_onehot (N ${N}, T ${T}, V ${V}, shift ${shift}, dropout ${drop})`, await readF32(device, g.x, B * T * V), ref, { atol: 0, rtol: 0 });
          if (drop > 0) {
            let unk = 0;
            for (let i = 0; i < B * T; i++) unk += ref[i * V + SPECIAL_IDS.unk]!;
            expect(unk > 0, 'word dropout 0.3 replaced no token by the unknown token');
          }
        } finally {
          call.destroy();
          for (const b of Object.values(g)) destroyBuffer(device, b);
        }
      }
    },
  },
  {
    name: 'tokens: sample_tokens (greedy and at a temperature; whole-sequence and one-step layouts; rows offset by start) matches the reference',
    async run(device) {
      const B = 70, T = 5, V = 33;
      for (const single of [false, true]) {
        for (const temperature of [0, 0.7, 1.5]) {
          const rows = single ? 1 : T;
          const logits = randomF32(B * rows * V, 3, -3, 3);
          // Rows 0..9 have already ended (END at position 0); the call draws position t = 2.
          const tokens0 = new Float32Array(B * T);
          for (let b = 0; b < 10; b++) tokens0[b * T] = SPECIAL_IDS.end;
          const g = { logits: uploadF32(device, logits), tokens: uploadF32(device, tokens0), prev: uploadF32(device, new Float32Array(B * rows * V)) };
          const t = 2, start = 129;
          const call = sampleTokens(device, g, { batch: B, steps: T, vocab: V, ids: SPECIAL_IDS, temperature, seed: 5, t, start, single });
          try {
            await gpuScope(device, 'sample', async () => submitCalls(device, [call]));
            const tokens = await readF32(device, g.tokens, B * T);
            const prev = await readF32(device, g.prev, B * rows * V);
            const wantPrev = new Float32Array(B * rows * V);
            const wantTokens = Float32Array.from(tokens0);
            for (let b = 0; b < B; b++) {
              const row = single ? b : b * T + t;
              const tok = b < 10 ? SPECIAL_IDS.pad : sampleTokenRef(logits.subarray(row * V, (row + 1) * V), temperature, { seed: 5, step: t, stream: 5 }, start + b);
              wantTokens[b * T + t] = tok;
              if (tok !== SPECIAL_IDS.pad) wantPrev[(single ? b : b * T + t + 1) * V + tok] = 1;
            }
            const what = `sample_tokens (${single ? 'one step' : 'whole sequence'}, ${temperature === 0 ? 'greedy' : `τ = ${temperature}`})`;
            expectClose(`${what}: tokens`, tokens, wantTokens, { atol: 0, rtol: 0 });
            expectClose(`${what}: the next step's input`, prev, wantPrev, { atol: 0, rtol: 0 });
          } finally {
            call.destroy();
            for (const b of Object.values(g)) destroyBuffer(device, b);
          }
        }
      }
      const g = uploadF32(device, new Float32Array(B * T * V));
      try {
        await expectThrows('t out of range', () => sampleTokens(device, { logits: g, tokens: g, prev: g }, { batch: B, steps: T, vocab: V, ids: SPECIAL_IDS, temperature: 0, seed: 0, t: T }), /position t = 5; expected an integer in \[0, 5\)/);
        await expectThrows('negative temperature', () => sampleTokens(device, { logits: g, tokens: g, prev: g }, { batch: B, steps: T, vocab: V, ids: SPECIAL_IDS, temperature: -1, seed: 0 }), /temperature -1; expected 0 \(greedy\) or a positive number/);
      } finally {
        destroyBuffer(device, g);
      }
    },
  },
  {
    name: 'decoding: the smiles preset decoders (GRU one step at a time; causal convolutions a pass per position) give the reference tokens, greedy and sampled, in any batch size',
    async run(device) {
      const small = { steps: 9, vocab: 7, latent: 3, hidden: 5 };
      for (const decoder of ['gru', 'conv'] as const) {
        const spec = sequencePreset({ ...small, decoder });
        const modes = new Set<boolean>();
        for (const [batch, n, temperature] of [[4, 10, 0], [16, 10, 1], [3, 7, 0.6]] as const) modes.add(await decodeCase(device, spec, batch, n, temperature));
        expect(modes.size === 1 && modes.has(decoder === 'gru'), `the ${decoder} decoder should decode ${decoder === 'gru' ? 'one step at a time' : 'by whole-sequence passes'}`);
      }
      // Stacked GRUs (the paper-sized variant's shape): each layer's state carried from step to step.
      const stacked = sequencePreset({ ...small, decoder: 'gru', layers: 2 });
      expect(stacked.decoder.filter((l) => l.type === 'gru').length === 2, 'two GRU layers');
      for (const [batch, n, temperature] of [[4, 10, 0], [3, 7, 0.6]] as const) expect(await decodeCase(device, stacked, batch, n, temperature), 'two GRU layers decode one step at a time');
    },
  },
];
