/** Small model definitions and seeded parameters for whole-model tests. */
import { buildForward } from '../../src/graph/build.ts';
import { tokenInputs } from '../../src/graph/ops/embedding.ts';
import { labelClasses, mlpPreset, type LikelihoodSpec, type ModelSpec } from '../../src/model/spec.ts';
import { previousTokenRows } from '../../src/data/model-inputs.ts';
import { SPECIAL_IDS } from '../../src/data/tokens.ts';
import { seeded } from './check.ts';

export function tinyMlp(likelihood: LikelihoodSpec = { type: 'bernoulli' }, extra: Partial<ModelSpec> = {}): ModelSpec {
  return { ...mlpPreset({ hidden: 7, latent: 3, likelihood }, 12), ...extra };
}

/** The conv preset's structure at 8×8 with few channels. */
export function tinyConv(likelihood: LikelihoodSpec = { type: 'bernoulli' }): ModelSpec {
  return {
    input: [1, 8, 8],
    latent: 3,
    encoder: [
      { type: 'conv2d', name: 'enc.conv1', out: 3, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
      { type: 'conv2d', name: 'enc.conv2', out: 4, kernel: 3, stride: 2, padding: 1, activation: 'elu' },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.fc_mu', logvar: 'enc.fc_logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 4 * 2 * 2, activation: 'gelu' },
      { type: 'reshape', shape: [4, 2, 2] },
      { type: 'conv_transpose2d', name: 'dec.deconv1', out: 3, kernel: 3, stride: 2, padding: 1, outputPadding: 1, activation: 'tanh' },
      { type: 'conv_transpose2d', name: 'dec.deconv2', out: 1, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
    ],
    likelihood,
  };
}

/**
 * Parameters drawn U(-bound, bound) as PyTorch's default init, seeded; keyed
 * by state_dict name. Parameters PyTorch starts at a constant (a norm's
 * weight 1 and bias 0, a learned log σ 0) get that constant plus U(-0.5, 0.5)·scale,
 * so their gradients are tested away from the starting point; those it draws
 * from a normal (an embedding's table) get U(-0.5, 0.5)·scale.
 */
export function seededParams(spec: ModelSpec, seed: number, scale = 1): Map<string, Float64Array> {
  const r = seeded(seed);
  const fg = buildForward(spec, 1);
  const out = new Map<string, Float64Array>();
  for (const p of fg.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const bound = p.initBound || 0.5;
    const base = p.init.kind === 'constant' ? p.init.value : 0;
    out.set(p.name, Float64Array.from({ length: n }, () => Math.fround(base + (2 * r() - 1) * bound * scale)));
  }
  return out;
}

/** A batch of inputs suited to the likelihood: probabilities, reals, or one-hot groups; token indices when an embedding reads x. */
export function sampleInputs(spec: ModelSpec, batch: number, seed: number): Float64Array {
  const r = seeded(seed);
  const D = spec.input.reduce((a, b) => a * b, 1);
  const x = new Float64Array(batch * D);
  const lk = spec.likelihood;
  const tokens = tokenInputs(buildForward(spec, 1).graph).get('x');
  if (tokens) {
    // Skewed toward low indices, so some rows of the table are picked often and some never.
    for (let i = 0; i < x.length; i++) x[i] = Math.floor(r() ** 2 * tokens.vocab);
  } else if (lk.type === 'categorical') {
    for (let g = 0; g < (batch * D) / lk.classes; g++) x[g * lk.classes + Math.floor(r() * lk.classes)] = 1;
  } else {
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(lk.type === 'bernoulli' ? r() : 2 * r() - 1);
  }
  return x;
}

/**
 * A DAG: the mlp with a dense residual block in the encoder (h1 → r1 → r2,
 * h = h1 + r2) and a skip in the decoder (z feeds both d1 and, through
 * d2, the sum d1 + d2).
 */
export function tinyResidualMlp(likelihood: LikelihoodSpec = { type: 'bernoulli' }, hidden = 7, input = 12, latent = 3): ModelSpec {
  return {
    input: [input],
    latent,
    encoder: [
      { type: 'dense', name: 'enc.fc1', out: hidden, activation: 'relu' },
      { type: 'dense', name: 'enc.res.fc1', out: hidden, activation: 'gelu' },
      { type: 'dense', name: 'enc.res.fc2', out: hidden },
      { type: 'add', name: 'enc.res', inputs: ['enc.fc1', 'enc.res.fc2'] },
      { type: 'activation', activation: 'silu' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc1', out: hidden, activation: 'tanh' },
      { type: 'dense', name: 'dec.fc2', out: hidden, inputs: ['z'], activation: 'relu' },
      { type: 'add', name: 'dec.sum', inputs: ['dec.fc1', 'dec.fc2'] },
      { type: 'dense', name: 'dec.out', out: input },
    ],
    likelihood,
  };
}

/** A conv DAG: a residual conv block with a broadcast add of a per-channel vector from a dense branch. */
export function tinyResidualConv(): ModelSpec {
  return {
    input: [1, 8, 8],
    latent: 3,
    encoder: [
      { type: 'conv2d', name: 'enc.conv', out: 3, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
      { type: 'conv2d', name: 'enc.res', out: 3, kernel: 3, padding: 1 },
      { type: 'add', name: 'enc.sum', inputs: ['enc.conv', 'enc.res'] },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 3 * 4 * 4, activation: 'elu' },
      { type: 'reshape', name: 'dec.map', shape: [3, 4, 4] },
      { type: 'dense', name: 'dec.shift', out: 3, inputs: ['z'] },
      { type: 'add', name: 'dec.film', inputs: ['dec.map', 'dec.shift'] },
      { type: 'conv_transpose2d', name: 'dec.deconv', out: 1, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
    ],
    likelihood: { type: 'bernoulli' },
  };
}

/**
 * A 1-D conv VAE over (B, 2, 12) sequences: a causal dilated conv1d (fused
 * tanh), a strided padded conv1d (gelu, applied after it), and in the decoder
 * a causal conv1d with stride 1 that keeps the length, next to a plain one.
 */
export function tinyConv1d(likelihood: LikelihoodSpec = { type: 'gaussian', logSigma: 0.1 }): ModelSpec {
  return {
    input: [2, 12],
    latent: 3,
    encoder: [
      { type: 'conv1d', name: 'enc.causal', out: 3, kernel: 3, dilation: 2, causal: true, activation: 'tanh' },
      { type: 'conv1d', name: 'enc.down', out: 4, kernel: 3, stride: 2, padding: 1, activation: 'gelu' },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 3 * 12, activation: 'elu' },
      { type: 'reshape', shape: [3, 12] },
      { type: 'conv1d', name: 'dec.causal', out: 3, kernel: 4, causal: true, activation: 'relu' },
      { type: 'conv1d', name: 'dec.out', out: 2, kernel: 3, padding: 1 },
    ],
    likelihood,
  };
}

/**
 * A conv decoder that upsamples then convolves, with a channel concat of a
 * skip: the ×2 map feeds both a conv and the concat (its gradient is
 * accumulated from both), and two ×3 upsamples of one 2×2 map (the second
 * one's backward adds into the first's) rejoin at 6×6.
 */
export function tinyUpsampleConcat(): ModelSpec {
  return {
    input: [1, 6, 6],
    latent: 3,
    encoder: [
      { type: 'conv2d', name: 'enc.conv', out: 3, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 3 * 3 * 3, activation: 'silu' },
      { type: 'reshape', name: 'dec.map', shape: [3, 3, 3] },
      { type: 'upsample_nearest2d', name: 'dec.up' },
      { type: 'conv2d', name: 'dec.conv', out: 2, kernel: 3, padding: 1, activation: 'tanh' },
      { type: 'dense', name: 'dec.small', out: 2 * 2 * 2, inputs: ['z'] },
      { type: 'reshape', name: 'dec.small_map', shape: [2, 2, 2] },
      { type: 'upsample_nearest2d', name: 'dec.up3', scale: 3 },
      { type: 'upsample_nearest2d', name: 'dec.up3b', scale: 3, inputs: ['dec.small_map'] },
      { type: 'concat', name: 'dec.cat', inputs: ['dec.up', 'dec.conv', 'dec.up3', 'dec.up3b'] },
      { type: 'conv2d', name: 'dec.out', out: 1, kernel: 3, padding: 1 },
    ],
    likelihood: { type: 'bernoulli' },
  };
}

/**
 * A conditional mlp VAE: the one-hot label concatenated to x in the encoder
 * and to z in the decoder, whose last layer also reads [hidden, z, label]
 * (z's gradient is written by that concat and added to by the first).
 */
export function tinyCvae(classes = 4): ModelSpec {
  return {
    input: [12],
    extraInputs: { label: { type: 'label', classes } },
    latent: 3,
    encoder: [
      { type: 'concat', name: 'enc.in', inputs: ['x', 'label'] },
      { type: 'dense', name: 'enc.fc1', out: 7, activation: 'relu' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'concat', name: 'dec.in', inputs: ['z', 'label'] },
      { type: 'dense', name: 'dec.fc1', out: 7, activation: 'relu' },
      { type: 'concat', name: 'dec.cat', inputs: ['dec.fc1', 'z', 'label'] },
      { type: 'dense', name: 'dec.out', out: 12 },
    ],
    likelihood: { type: 'bernoulli' },
  };
}


/** A conditional model: the one-hot label enters the encoder and the decoder through dense branches added to the main path. */
export function tinyConditionalMlp(classes = 3): ModelSpec {
  return {
    input: [12],
    extraInputs: { label: { type: 'label', classes } },
    latent: 3,
    encoder: [
      { type: 'dense', name: 'enc.x', out: 7 },
      { type: 'dense', name: 'enc.y', out: 7, inputs: ['label'] },
      { type: 'add', name: 'enc.sum', inputs: ['enc.x', 'enc.y'] },
      { type: 'activation', activation: 'relu' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.z', out: 7 },
      { type: 'dense', name: 'dec.y', out: 7, inputs: ['label'] },
      { type: 'add', name: 'dec.sum', inputs: ['dec.z', 'dec.y'] },
      { type: 'activation', activation: 'tanh' },
      { type: 'dense', name: 'dec.out', out: 12 },
    ],
    likelihood: { type: 'bernoulli' },
  };
}

/**
 * Values for every extra input of `spec`: seeded labels as one-hot rows (a
 * label per sample), and for a sequence model the previous tokens of x (its
 * one-hot rows shifted by one step, the start token first).
 */
export function sampleLabels(spec: ModelSpec, batch: number, seed: number, x?: ArrayLike<number>): { labels: Int32Array; extra: Map<string, Float64Array> } {
  const r = seeded(seed);
  const extra = new Map<string, Float64Array>();
  const labels = Int32Array.from({ length: batch }, () => Math.floor(r() * (labelClasses(spec) ?? 1)));
  for (const [name, e] of Object.entries(spec.extraInputs ?? {})) {
    if (e.type === 'previous-tokens') {
      if (!x) throw new Error(`sampleLabels: ${name} needs x`);
      const [T, V] = spec.input as [number, number];
      extra.set(name, Float64Array.from(previousTokenRows(Float32Array.from(x), batch, T, V, SPECIAL_IDS)));
      continue;
    }
    const v = new Float64Array(batch * e.classes);
    labels.forEach((c, i) => (v[i * e.classes + c] = 1));
    extra.set(name, v);
  }
  return { labels, extra };
}

/**
 * Normalization in an mlp: a layer norm on the input itself (no gradient
 * flows into x), a group norm of a (B, C) input with a fused SiLU, and a
 * layer norm with its own eps in the decoder.
 */
export function tinyNormMlp(): ModelSpec {
  return {
    input: [12],
    latent: 3,
    encoder: [
      { type: 'layer_norm', name: 'enc.norm0' },
      { type: 'dense', name: 'enc.fc1', out: 8 },
      { type: 'group_norm', name: 'enc.norm1', groups: 2, activation: 'silu' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc1', out: 8 },
      { type: 'layer_norm', name: 'dec.norm1', eps: 1e-3, activation: 'tanh' },
      { type: 'dense', name: 'dec.out', out: 12 },
    ],
    likelihood: { type: 'bernoulli' },
  };
}

/**
 * The resconv preset's residual block at 8×8 (conv → group norm → SiLU →
 * conv → group norm, plus the skip, then SiLU) with `channels` channels in
 * `groups` groups, and layer norms in the decoder: over the features of a
 * dense layer and over the trailing (H, W) of a feature map, then a group
 * norm with one channel per group.
 */
export function tinyNormConv(channels = 4, groups = 2, input: readonly [number, number, number] = [1, 8, 8]): ModelSpec {
  const [cin, h, w] = input;
  const oh = Math.ceil(h / 2), ow = Math.ceil(w / 2);
  return {
    input,
    latent: 3,
    encoder: [
      { type: 'conv2d', name: 'enc.conv', out: channels, kernel: 3, stride: 2, padding: 1 },
      { type: 'conv2d', name: 'enc.res.conv1', out: channels, kernel: 3, padding: 1 },
      { type: 'group_norm', name: 'enc.res.norm1', groups, activation: 'silu' },
      { type: 'conv2d', name: 'enc.res.conv2', out: channels, kernel: 3, padding: 1 },
      { type: 'group_norm', name: 'enc.res.norm2', groups },
      { type: 'add', name: 'enc.res', inputs: ['enc.conv', 'enc.res.norm2'] },
      { type: 'activation', activation: 'silu' },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 3 * oh * ow },
      { type: 'layer_norm', name: 'dec.norm1', activation: 'gelu' },
      { type: 'reshape', shape: [3, oh, ow] },
      { type: 'layer_norm', name: 'dec.norm2', normalizedShape: [oh, ow] },
      { type: 'group_norm', name: 'dec.norm3', groups: 3, activation: 'tanh' },
      { type: 'conv_transpose2d', name: 'dec.deconv', out: cin, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
    ],
    likelihood: { type: 'bernoulli' },
  };
}

/**
 * A sequence VAE: x holds 6 token indices (vocabulary 5). The encoder embeds
 * them and runs two stacked GRU layers from zero states (the second followed
 * by an activation); the decoder starts two stacked GRU layers from the same
 * state h0 = tanh(dense(z)) (so dh0 is accumulated from both) and feeds the
 * first z at every step (dense → reshape to [steps, 2]). The Gaussian
 * likelihood over the indices is a stand-in: these models check gradients.
 */
export function tinySeq(): ModelSpec {
  const T = 6;
  return {
    input: [T],
    latent: 3,
    encoder: [
      { type: 'embedding', name: 'enc.emb', vocab: 5, dim: 3 },
      { type: 'gru', name: 'enc.gru1', hidden: 4 },
      { type: 'gru', name: 'enc.gru2', hidden: 3, activation: 'silu' },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.h0', out: 4, activation: 'tanh' },
      { type: 'dense', name: 'dec.in', out: T * 2, inputs: ['z'] },
      { type: 'reshape', name: 'dec.seq', shape: [T, 2] },
      { type: 'gru', name: 'dec.gru1', hidden: 4, inputs: ['dec.seq', 'dec.h0'] },
      { type: 'gru', name: 'dec.gru2', hidden: 4, inputs: ['dec.gru1', 'dec.h0'] },
      { type: 'flatten' },
      { type: 'dense', name: 'dec.out', out: T },
    ],
    likelihood: { type: 'gaussian', logSigma: 0.2 },
  };
}

/**
 * Tokens embedded as channels (the transposed embedding, [B, dim, T]) into a
 * causal and a strided conv1d encoder, and a GRU decoder from zeros fed z at
 * every step.
 */
export function tinySeqConv(): ModelSpec {
  const T = 8;
  return {
    input: [T],
    latent: 3,
    encoder: [
      { type: 'embedding', name: 'enc.emb', vocab: 6, dim: 3, transpose: true },
      { type: 'conv1d', name: 'enc.causal', out: 4, kernel: 3, causal: true, activation: 'relu' },
      { type: 'conv1d', name: 'enc.down', out: 3, kernel: 3, stride: 2, padding: 1 },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.in', out: T * 2, activation: 'tanh' },
      { type: 'reshape', name: 'dec.seq', shape: [T, 2] },
      { type: 'gru', name: 'dec.gru', hidden: 3 },
      { type: 'flatten' },
      { type: 'dense', name: 'dec.out', out: T },
    ],
    likelihood: { type: 'gaussian', logSigma: 0 },
  };
}

/**
 * A sequence VAE of the smiles preset's shape, small: one-hot tokens (T, V)
 * transposed into a conv1d encoder; a GRU decoder started from z (h0 =
 * tanh(dense(z))) reading the previous tokens and z at every step, with a
 * dense layer to the vocabulary at each step; categorical likelihood.
 */
export function tinySequenceVae(T = 6, V = 5): ModelSpec {
  return {
    input: [T, V],
    extraInputs: { prev: { type: 'previous-tokens', dropout: 0.2 } },
    latent: 3,
    encoder: [
      { type: 'transpose', name: 'enc.t' },
      { type: 'conv1d', name: 'enc.conv', out: 4, kernel: 3, padding: 1, activation: 'relu' },
      { type: 'flatten' },
      { type: 'dense', name: 'enc.fc', out: 8, activation: 'relu' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.h0', out: 6, activation: 'tanh' },
      { type: 'repeat', name: 'dec.zrep', times: T, inputs: ['z'] },
      { type: 'concat', name: 'dec.in', axis: -1, inputs: ['prev', 'dec.zrep'] },
      { type: 'gru', name: 'dec.gru', hidden: 6, inputs: ['dec.in', 'dec.h0'] },
      { type: 'dense', name: 'dec.out', out: V },
    ],
    likelihood: { type: 'categorical', classes: V },
  };
}
