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
];
