/**
 * The models whose training step is checked against PyTorch's autograd
 * (scripts/make-grad-fixtures.ts makes the fixtures, test/node/torch-grads.test.ts
 * checks the GPU against them): the presets, and small models of the layer
 * types the presets do not use.
 */
import { convPreset, mlpPreset, type ModelSpec } from '../src/model/spec.ts';
import type { ReferenceLoss } from '../src/model/reference.ts';

export interface GradCase {
  readonly name: string;
  readonly spec: ModelSpec;
  readonly batch: number;
  readonly loss: ReferenceLoss;
}

/** Seed of the parameters (initParams) and of the step's latent noise. */
export const GRAD_SEED = 41;

export const GRAD_CASES: readonly GradCase[] = [
  { name: 'mlp', spec: mlpPreset({ hidden: 64, latent: 8 }), batch: 16, loss: { beta: 1, freeBits: 0, latentL2: 0 } },
  { name: 'conv', spec: convPreset(), batch: 8, loss: { beta: 0.8, freeBits: 0, latentL2: 0.01 } },
  { name: 'gru', spec: gruModel(), batch: 6, loss: { beta: 0.9, freeBits: 0, latentL2: 0.01 } },
];

/**
 * A small sequence model: x holds 12 token indices (vocabulary 9), embedded
 * and run through two stacked GRU layers from zero states; the decoder starts
 * a GRU from h0 = tanh(dense(z)) and feeds it z at every step.
 */
function gruModel(): ModelSpec {
  const T = 12;
  return {
    input: [T],
    latent: 4,
    encoder: [
      { type: 'embedding', name: 'enc.emb', vocab: 9, dim: 5 },
      { type: 'gru', name: 'enc.gru1', hidden: 8 },
      { type: 'gru', name: 'enc.gru2', hidden: 6 },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.h0', out: 7, activation: 'tanh' },
      { type: 'dense', name: 'dec.in', out: T * 3, inputs: ['z'] },
      { type: 'reshape', name: 'dec.seq', shape: [T, 3] },
      { type: 'gru', name: 'dec.gru', hidden: 7, inputs: ['dec.seq', 'dec.h0'] },
      { type: 'flatten' },
      { type: 'dense', name: 'dec.out', out: T },
    ],
    likelihood: { type: 'gaussian', logSigma: 0.5 },
  };
}
