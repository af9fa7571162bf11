/** The likelihoods of the ELBO kernels and the layout of their statistics block (no GPU code: the float64 references read it too). */

/** Reconstruction likelihoods p(x | z) of the decoder output. */
export const LIKELIHOODS = ['bernoulli', 'gaussian', 'categorical'] as const;
export type Likelihood = (typeof LIKELIHOODS)[number];

/** Index of each batch mean in the stats buffer written by elboKl. */
export const ELBO_STATS = {
  /** recon + β·klObjective + γ·l2: the training objective. */
  loss: 0,
  /** Mean reconstruction NLL per sample. */
  recon: 1,
  /** Mean KL(q(z|x) || N(0, I)) per sample. */
  kl: 2,
  /** Σ_j max(λ, klDim[j]): the KL as the objective counts it under free bits (= kl when off). */
  klObjective: 3,
  /** Mean ||z||² per sample. */
  l2: 4,
  /** −(recon + kl): the ELBO estimate (β = 1, no free bits, no L2). */
  elbo: 5,
  /** Dimensions whose KL gradient is on (klDim[j] ≥ λ; J when free bits are off). */
  activeDims: 6,
  /** Number of calls summed into the buffer (1 without accumulate). */
  count: 7,
} as const;

/** Length of the stats buffer, in f32. */
export const ELBO_STATS_SIZE = 8;
