/**
 * The model format as types: a model is an encoder (layers from the input x
 * to a representation), two dense heads giving μ and log σ², a decoder (layers
 * from z to the likelihood's parameters) and the likelihood. Layers run in
 * list order, each reading the previous one unless it names its `inputs`, so
 * a plain list is a sequential stack and named inputs make a DAG (skip
 * connections, conditioning). Validation of untrusted JSON: src/model/spec.ts.
 */
import type { LayerSpec } from './ops/index.ts';

export type { LayerSpec };
export { ModelSpecError } from './errors.ts';

export type LikelihoodSpec =
  | { readonly type: 'bernoulli' }
  /** Gaussian with a fixed σ (logSigma given) or a learned per-feature log σ parameter. */
  | { readonly type: 'gaussian'; readonly logSigma?: number; readonly learnSigma?: boolean }
  /** Groups of `classes` logits (e.g. sequence positions × vocabulary), one-hot data. */
  | { readonly type: 'categorical'; readonly classes: number };

/** An input of the model besides x, fed with each batch. */
export type ExtraInputSpec =
  /** The sample's class as a one-hot vector of `classes` values (a conditional VAE). */
  | { readonly type: 'label'; readonly classes: number }
  /**
   * For a model of token sequences (x one-hot, [T, V]): the previous token at
   * each step, the start token at the first, shaped like x: a decoder's
   * teacher-forcing input. With `dropout` p, training replaces each by the
   * unknown token with probability p (word dropout, Bowman et al. 2016).
   */
  | { readonly type: 'previous-tokens'; readonly dropout?: number };

export interface ModelSpec {
  /** Per-sample input shape: [D] for vectors, [C, L] for sequences, [C, H, W] for images. */
  readonly input: readonly number[];
  /** Inputs besides x, by the name layers use in their `inputs` (not x or z). */
  readonly extraInputs?: Readonly<Record<string, ExtraInputSpec>>;
  readonly latent: number;
  /** Layers from the input to the last hidden representation (the last layer of the list feeds the heads). */
  readonly encoder: readonly LayerSpec[];
  /** Names of the two dense heads that give μ and log σ² from the encoder's output. */
  readonly heads: { readonly mu: string; readonly logvar: string };
  /** Layers from z to the likelihood's parameters (the last layer of the list, at the input's size). */
  readonly decoder: readonly LayerSpec[];
  readonly likelihood: LikelihoodSpec;
  /** Plain autoencoder: no sampling and no KL term (z = μ). */
  readonly autoencoder?: boolean;
}

/** The number of classes a conditional model's label inputs take, or null for a model without one. */
export function labelClasses(spec: ModelSpec): number | null {
  for (const e of Object.values(spec.extraInputs ?? {})) if (e.type === 'label') return e.classes;
  return null;
}

/** The per-sample shape of an extra input. */
export function extraInputShape(spec: ModelSpec, e: ExtraInputSpec): readonly number[] {
  return e.type === 'label' ? [e.classes] : spec.input;
}
