/**
 * The models whose training step is checked against PyTorch's autograd
 * (scripts/make-grad-fixtures.ts makes the fixtures, test/node/torch-grads.test.ts
 * checks the GPU against them): the presets, and small models of the layer
 * types the presets do not use.
 */
import { convPreset, cvaeMlpPreset, mlpPreset, resconvPreset, type ModelSpec } from '../src/model/spec.ts';
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
  { name: 'cvae-mlp', spec: cvaeMlpPreset(10, { hidden: 64, latent: 8 }), batch: 12, loss: { beta: 1, freeBits: 0, latentL2: 0 } },
  { name: 'resconv', spec: resconvPreset(), batch: 4, loss: { beta: 1, freeBits: 0, latentL2: 0.01 } },
  {
    // Group norm in the resconv preset's residual block (conv → group norm → SiLU → conv → group norm, plus the
    // skip), layer norm over a dense layer's features and over a map's trailing (H, W), group norm after it.
    name: 'norm',
    spec: {
      input: [1, 28, 28],
      latent: 8,
      encoder: [
        { type: 'conv2d', name: 'enc.conv', out: 16, kernel: 3, stride: 2, padding: 1 },
        { type: 'conv2d', name: 'enc.res.conv1', out: 16, kernel: 3, padding: 1 },
        { type: 'group_norm', name: 'enc.res.norm1', groups: 4, activation: 'silu' },
        { type: 'conv2d', name: 'enc.res.conv2', out: 16, kernel: 3, padding: 1 },
        { type: 'group_norm', name: 'enc.res.norm2', groups: 4 },
        { type: 'add', name: 'enc.res', inputs: ['enc.conv', 'enc.res.norm2'] },
        { type: 'activation', activation: 'silu' },
        { type: 'flatten' },
      ],
      heads: { mu: 'enc.fc_mu', logvar: 'enc.fc_logvar' },
      decoder: [
        { type: 'dense', name: 'dec.fc', out: 4 * 14 * 14 },
        { type: 'layer_norm', name: 'dec.norm1', activation: 'gelu' },
        { type: 'reshape', shape: [4, 14, 14] },
        { type: 'layer_norm', name: 'dec.norm2', normalizedShape: [14, 14], eps: 1e-3 },
        { type: 'group_norm', name: 'dec.norm3', groups: 2, activation: 'relu' },
        { type: 'conv_transpose2d', name: 'dec.deconv', out: 1, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
      ],
      likelihood: { type: 'bernoulli' },
    },
    batch: 4,
    loss: { beta: 1, freeBits: 0, latentL2: 0 },
  },
  { name: 'gru', spec: gruModel(), batch: 6, loss: { beta: 0.9, freeBits: 0, latentL2: 0.01 } },
  // The importance-weighted bound of 5 samples per input (x and ε of B·K rows), with IWAE's gradient and with DReG's.
  { name: 'mlp-iwae5', spec: mlpPreset({ hidden: 64, latent: 8 }), batch: 16, loss: { beta: 1, freeBits: 0, latentL2: 0, objective: { kind: 'iwae', k: 5, dreg: false } } },
  { name: 'mlp-iwae-dreg5', spec: mlpPreset({ hidden: 64, latent: 8 }), batch: 16, loss: { beta: 1, freeBits: 0, latentL2: 0, objective: { kind: 'iwae', k: 5, dreg: true } } },
];

/** Samples of z per input of a case's objective (the rows of its ε per input). */
export function samplesOf(c: GradCase): number {
  return c.loss.objective?.kind === 'iwae' ? c.loss.objective.k : 1;
}

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
