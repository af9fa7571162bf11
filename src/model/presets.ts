/**
 * The presets: the PyTorch example's mlp VAE, a convolutional VAE, a
 * residual one, their conditional forms, and the sequence VAEs of molecules
 * and text (a 1-D convolutional encoder over one-hot tokens; a GRU decoder,
 * or a dilated causal convolutional one, reading the previous tokens and z).
 */
import type { LayerSpec, LikelihoodSpec, ModelSpec } from '../graph/spec.ts';

export interface PresetOptions {
  readonly latent?: number;
  readonly hidden?: number;
  readonly autoencoder?: boolean;
  readonly likelihood?: LikelihoodSpec;
}

/**
 * The PyTorch example VAE (examples/vae): 784-400-20, ReLU, Bernoulli decoder,
 * with PyTorch's parameter names fc1, fc21, fc22, fc3, fc4.
 */
export function mlpPreset(o: PresetOptions = {}, inputSize = 784): ModelSpec {
  const hidden = o.hidden ?? 400;
  const latent = o.latent ?? 20;
  return {
    input: [inputSize],
    latent,
    encoder: [{ type: 'dense', name: 'fc1', out: hidden, activation: 'relu' }],
    heads: { mu: 'fc21', logvar: 'fc22' },
    decoder: [
      { type: 'dense', name: 'fc3', out: hidden, activation: 'relu' },
      { type: 'dense', name: 'fc4', out: inputSize },
    ],
    likelihood: o.likelihood ?? { type: 'bernoulli' },
    ...(o.autoencoder ? { autoencoder: true } : {}),
  };
}

/** Convolutional VAE for 1×28×28 images (two stride-2 convolutions each way). */
export function convPreset(o: PresetOptions = {}): ModelSpec {
  const latent = o.latent ?? 16;
  return {
    input: [1, 28, 28],
    latent,
    encoder: [
      { type: 'conv2d', name: 'enc.conv1', out: 32, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
      { type: 'conv2d', name: 'enc.conv2', out: 64, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.fc_mu', logvar: 'enc.fc_logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 64 * 7 * 7, activation: 'relu' },
      { type: 'reshape', shape: [64, 7, 7] },
      { type: 'conv_transpose2d', name: 'dec.deconv1', out: 32, kernel: 3, stride: 2, padding: 1, outputPadding: 1, activation: 'relu' },
      { type: 'conv_transpose2d', name: 'dec.deconv2', out: 1, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
    ],
    likelihood: o.likelihood ?? { type: 'bernoulli' },
    ...(o.autoencoder ? { autoencoder: true } : {}),
  };
}

/**
 * The conditional mlp VAE: the mlp preset with the one-hot label
 * concatenated to the encoder's input and to z (names fc1, fc21, fc22, fc3, fc4).
 */
export function cvaeMlpPreset(classes: number, o: PresetOptions = {}, inputSize = 784): ModelSpec {
  const base = mlpPreset(o, inputSize);
  return {
    ...base,
    extraInputs: { label: { type: 'label', classes } },
    encoder: [{ type: 'concat', name: 'enc.in', inputs: ['x', 'label'] }, ...base.encoder],
    decoder: [{ type: 'concat', name: 'dec.in', inputs: ['z', 'label'] }, ...base.decoder],
  };
}

/**
 * The conditional conv VAE: the conv preset with the one-hot label
 * concatenated to the encoder's flattened features (before the heads) and to z.
 */
export function cvaeConvPreset(classes: number, o: PresetOptions = {}): ModelSpec {
  const base = convPreset(o);
  return {
    ...base,
    extraInputs: { label: { type: 'label', classes } },
    encoder: [
      ...base.encoder.slice(0, -1),
      { type: 'flatten', name: 'enc.flat' },
      { type: 'concat', name: 'enc.cond', inputs: ['enc.flat', 'label'] },
    ],
    decoder: [{ type: 'concat', name: 'dec.in', inputs: ['z', 'label'] }, ...base.decoder],
  };
}

/** A residual block: conv → group norm → SiLU → conv → group norm, plus the skip, then SiLU (names `<name>.conv1`, `<name>.norm1`, ...). */
function residualBlock(name: string, channels: number, input: string): LayerSpec[] {
  return [
    { type: 'conv2d', name: `${name}.conv1`, out: channels, kernel: 3, padding: 1, inputs: [input] },
    { type: 'group_norm', name: `${name}.norm1`, groups: 8, activation: 'silu' },
    { type: 'conv2d', name: `${name}.conv2`, out: channels, kernel: 3, padding: 1 },
    { type: 'group_norm', name: `${name}.norm2`, groups: 8 },
    { type: 'add', name: `${name}.sum`, inputs: [input, `${name}.norm2`] },
    { type: 'activation', name, activation: 'silu' },
  ];
}

/**
 * A residual conv VAE for 1×28×28 images: strided convolutions down to 16
 * channels at 14×14 and 32 at 7×7, each followed by a residual block (conv →
 * group norm → SiLU → conv → group norm, plus the skip); the decoder mirrors
 * it with nearest-neighbour upsampling and a convolution instead of the
 * strided ones.
 */
export function resconvPreset(o: PresetOptions = {}): ModelSpec {
  const latent = o.latent ?? 16;
  return {
    input: [1, 28, 28],
    latent,
    encoder: [
      { type: 'conv2d', name: 'enc.down1', out: 16, kernel: 3, stride: 2, padding: 1, activation: 'silu' },
      ...residualBlock('enc.res1', 16, 'enc.down1'),
      { type: 'conv2d', name: 'enc.down2', out: 32, kernel: 3, stride: 2, padding: 1, activation: 'silu' },
      ...residualBlock('enc.res2', 32, 'enc.down2'),
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.fc_mu', logvar: 'enc.fc_logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 32 * 7 * 7, activation: 'silu' },
      { type: 'reshape', name: 'dec.map', shape: [32, 7, 7] },
      ...residualBlock('dec.res1', 32, 'dec.map'),
      { type: 'upsample_nearest2d', name: 'dec.up1' },
      { type: 'conv2d', name: 'dec.conv1', out: 16, kernel: 3, padding: 1, activation: 'silu' },
      ...residualBlock('dec.res2', 16, 'dec.conv1'),
      { type: 'upsample_nearest2d', name: 'dec.up2' },
      { type: 'conv2d', name: 'dec.out', out: 1, kernel: 3, padding: 1 },
    ],
    likelihood: o.likelihood ?? { type: 'bernoulli' },
    ...(o.autoencoder ? { autoencoder: true } : {}),
  };
}

export interface SequencePresetOptions {
  /** T: tokens per sequence (the end token included). */
  readonly steps: number;
  /** V: vocabulary size (pad, start, end and unknown included). */
  readonly vocab: number;
  readonly latent?: number;
  /** Hidden units of the GRU decoder (or channels of the convolutional one). */
  readonly hidden?: number;
  /** The decoder: a GRU with teacher forcing, or dilated causal 1-D convolutions. */
  readonly decoder?: 'gru' | 'conv';
  /** Word dropout of the decoder's previous tokens during training. */
  readonly wordDropout?: number;
  /** Stacked GRU layers of the GRU decoder (each started from the same h0; the chemical VAE has 3). */
  readonly layers?: number;
}

/**
 * A sequence VAE after Gómez-Bombarelli et al. 2018: one-hot tokens (T, V)
 * into three 1-D convolutions and a dense layer, the μ and log σ² heads; the
 * decoder reads the previous token and z at every step, through a GRU
 * started from z (h0 = tanh(dense(z))) or dilated causal convolutions (Yang
 * et al. 2017), and a dense layer to the vocabulary at each step; a
 * categorical likelihood per token, padding after the end token masked out.
 */
export function sequencePreset(o: SequencePresetOptions): ModelSpec {
  const { steps: T, vocab: V } = o;
  const latent = o.latent ?? 32;
  const hidden = o.hidden ?? (o.decoder === 'conv' ? 64 : 128);
  const layers = o.layers ?? 1;
  if (!Number.isInteger(layers) || layers < 1 || (layers > 1 && o.decoder === 'conv')) throw new Error(`sequence preset: ${layers} GRU layers; expected an integer ≥ 1 (and 1 for the convolutional decoder)`);
  // Kernels 9, 9, 11 as in the chemical VAE, shortened for short sequences (each must leave at least one step).
  const kernels = [9, 9, 11].map((k) => Math.max(1, Math.min(k, Math.floor(T / 3))));
  const encoder: LayerSpec[] = [
    { type: 'transpose', name: 'enc.channels' },
    { type: 'conv1d', name: 'enc.conv1', out: 9, kernel: kernels[0]!, activation: 'relu' },
    { type: 'conv1d', name: 'enc.conv2', out: 9, kernel: kernels[1]!, activation: 'relu' },
    { type: 'conv1d', name: 'enc.conv3', out: 10, kernel: kernels[2]!, activation: 'relu' },
    { type: 'flatten' },
    { type: 'dense', name: 'enc.fc', out: 196, activation: 'relu' },
  ];
  const stepInput: LayerSpec[] = [
    { type: 'repeat', name: 'dec.z_steps', times: T, inputs: ['z'] },
    { type: 'concat', name: 'dec.in', axis: -1, inputs: ['prev', 'dec.z_steps'] },
  ];
  const decoder: LayerSpec[] = o.decoder === 'conv'
    ? [
        ...stepInput,
        { type: 'transpose', name: 'dec.channels' },
        { type: 'conv1d', name: 'dec.conv1', out: hidden, kernel: 3, causal: true, activation: 'relu' },
        { type: 'conv1d', name: 'dec.conv2', out: hidden, kernel: 3, dilation: 2, causal: true, activation: 'relu' },
        { type: 'conv1d', name: 'dec.conv3', out: hidden, kernel: 3, dilation: 4, causal: true, activation: 'relu' },
        { type: 'conv1d', name: 'dec.conv4', out: hidden, kernel: 3, dilation: 8, causal: true, activation: 'relu' },
        { type: 'conv1d', name: 'dec.logits', out: V, kernel: 1 },
        { type: 'transpose', name: 'dec.steps' },
      ]
    : [
        { type: 'dense', name: 'dec.h0', out: hidden, activation: 'tanh', inputs: ['z'] },
        ...stepInput,
        ...Array.from({ length: layers }, (_, i): LayerSpec => ({ type: 'gru', name: i === 0 ? 'dec.gru' : `dec.gru${i + 1}`, hidden, inputs: [i === 0 ? 'dec.in' : i === 1 ? 'dec.gru' : `dec.gru${i}`, 'dec.h0'] })),
        { type: 'dense', name: 'dec.logits', out: V },
      ];
  return {
    input: [T, V],
    extraInputs: { prev: { type: 'previous-tokens', ...(o.wordDropout ? { dropout: o.wordDropout } : {}) } },
    latent,
    encoder,
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder,
    likelihood: { type: 'categorical', classes: V },
  };
}

/** The sequence presets: a GRU decoder, or (-conv) dilated causal convolutions. */
export const SEQUENCE_PRESETS: Readonly<Record<string, 'gru' | 'conv'>> = { smiles: 'gru', 'smiles-conv': 'conv', text: 'gru', 'text-conv': 'conv' };

/** Training settings a preset brings when the command line does not set them (the recipe it was tuned with). */
export interface PresetRecipe {
  readonly epochs?: number;
  readonly lr?: number;
  readonly lrSchedule?: string;
  readonly klSchedule?: string;
  readonly freeBits?: number;
  readonly wordDropout?: number;
  readonly latent?: number;
  readonly hidden?: number;
}

/** The sequence presets' recipe: the KL annealed in, free bits and word dropout keep z informative on small sets. */
const SEQUENCE_RECIPE: PresetRecipe = { epochs: 15, lr: 2e-3, klSchedule: 'sigmoid:700', freeBits: 0.5, wordDropout: 0.3, latent: 32 };

/**
 * The smiles preset's recipe, measured on the WEHI molecules (docs/smiles-recipe.md):
 * 110 epochs, the rate constant for 90 and brought down by a cosine over the last
 * 1,420 steps (20 epochs of the 9,000 training molecules in batches of 128), the
 * KL annealed over 1,500 steps, free bits and no word dropout (free bits keep z
 * in use; word dropout cost valid samples).
 */
const SMILES_RECIPE: PresetRecipe = { epochs: 110, lr: 2e-3, lrSchedule: 'tail-cosine:1420', klSchedule: 'sigmoid:1500', freeBits: 0.5, wordDropout: 0, latent: 32 };

export function presetRecipe(model: string): PresetRecipe {
  if (model === 'smiles') return SMILES_RECIPE;
  return model in SEQUENCE_PRESETS ? SEQUENCE_RECIPE : {};
}
