/**
 * Model definitions: the layers of an encoder and a decoder, the latent size
 * and the likelihood, as plain JSON-compatible data; presets; validation with
 * errors that name the field that is wrong.
 */
import { ACTIVATIONS, type Activation } from '../kernels/activation-codes.ts';

export type LayerSpec =
  | { readonly type: 'dense'; readonly name: string; readonly out: number; readonly activation?: Activation }
  | {
      readonly type: 'conv2d';
      readonly name: string;
      readonly out: number;
      readonly kernel: number;
      readonly stride?: number;
      readonly padding?: number;
      readonly dilation?: number;
      readonly activation?: Activation;
    }
  | {
      readonly type: 'conv_transpose2d';
      readonly name: string;
      readonly out: number;
      readonly kernel: number;
      readonly stride?: number;
      readonly padding?: number;
      readonly outputPadding?: number;
      readonly dilation?: number;
      readonly activation?: Activation;
    }
  | { readonly type: 'activation'; readonly activation: Activation }
  | { readonly type: 'reshape'; readonly shape: readonly number[] }
  | { readonly type: 'flatten' };

export type LikelihoodSpec =
  | { readonly type: 'bernoulli' }
  /** Gaussian with a fixed σ (logSigma given) or a learned per-feature log σ parameter. */
  | { readonly type: 'gaussian'; readonly logSigma?: number; readonly learnSigma?: boolean }
  /** Groups of `classes` logits (e.g. sequence positions × vocabulary), one-hot data. */
  | { readonly type: 'categorical'; readonly classes: number };

export interface ModelSpec {
  /** Per-sample input shape: [D] for vectors, [C, H, W] for images. */
  readonly input: readonly number[];
  readonly latent: number;
  /** Trunk layers from the input to the last hidden representation. */
  readonly encoder: readonly LayerSpec[];
  /** Names of the two dense heads that give μ and log σ² from the trunk. */
  readonly heads: { readonly mu: string; readonly logvar: string };
  /** Layers from z to the likelihood's parameters (ending at the input's size). */
  readonly decoder: readonly LayerSpec[];
  readonly likelihood: LikelihoodSpec;
  /** Plain autoencoder: no sampling and no KL term (z = μ). */
  readonly autoencoder?: boolean;
}

/** Thrown for a model definition that cannot be built; the message names the field. */
export class ModelSpecError extends Error {
  override readonly name: string = 'ModelSpecError';
}

const LIKELIHOODS = ['bernoulli', 'gaussian', 'categorical'] as const;
const LAYER_TYPES = ['dense', 'conv2d', 'conv_transpose2d', 'activation', 'reshape', 'flatten'] as const;

function fail(path: string, msg: string): never {
  throw new ModelSpecError(`${path}: ${msg}`);
}

function posInt(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(path, `expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function nonNegInt(v: unknown, path: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(path, `expected a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function activationOf(v: unknown, path: string): Activation | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(ACTIVATIONS as readonly string[]).includes(v)) {
    fail(path, `unknown activation ${JSON.stringify(v)}; expected one of ${ACTIVATIONS.join(', ')}`);
  }
  return v as Activation;
}

/** Refuses keys outside `allowed` (a misspelt optional field would otherwise be ignored). */
function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(path ? `${path}.${k}` : k, `unknown field; expected ${allowed.join(', ')}`);
  }
}

const LAYER_KEYS: Record<string, readonly string[]> = {
  dense: ['type', 'name', 'out', 'activation'],
  conv2d: ['type', 'name', 'out', 'kernel', 'stride', 'padding', 'dilation', 'activation'],
  conv_transpose2d: ['type', 'name', 'out', 'kernel', 'stride', 'padding', 'outputPadding', 'dilation', 'activation'],
  activation: ['type', 'activation'],
  reshape: ['type', 'shape'],
  flatten: ['type'],
};

function layerOf(raw: unknown, path: string): LayerSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(path, 'expected a layer object');
  const l = raw as Record<string, unknown>;
  const type = l.type;
  if (typeof type === 'string' && Object.hasOwn(LAYER_KEYS, type)) onlyKeys(l, LAYER_KEYS[type]!, path);
  const name = (): string => {
    if (typeof l.name !== 'string' || !/^[A-Za-z_][\w.]*$/.test(l.name)) fail(`${path}.name`, `expected a parameter name such as "fc1", got ${JSON.stringify(l.name)}`);
    return l.name;
  };
  const act = activationOf(l.activation, `${path}.activation`);
  switch (type) {
    case 'dense':
      return { type, name: name(), out: posInt(l.out, `${path}.out`), ...(act ? { activation: act } : {}) };
    case 'conv2d':
      return {
        type, name: name(), out: posInt(l.out, `${path}.out`), kernel: posInt(l.kernel, `${path}.kernel`),
        stride: posInt(l.stride ?? 1, `${path}.stride`), padding: nonNegInt(l.padding, `${path}.padding`, 0),
        dilation: posInt(l.dilation ?? 1, `${path}.dilation`), ...(act ? { activation: act } : {}),
      };
    case 'conv_transpose2d':
      return {
        type, name: name(), out: posInt(l.out, `${path}.out`), kernel: posInt(l.kernel, `${path}.kernel`),
        stride: posInt(l.stride ?? 1, `${path}.stride`), padding: nonNegInt(l.padding, `${path}.padding`, 0),
        outputPadding: nonNegInt(l.outputPadding, `${path}.outputPadding`, 0),
        dilation: posInt(l.dilation ?? 1, `${path}.dilation`), ...(act ? { activation: act } : {}),
      };
    case 'activation': {
      const a = activationOf(l.activation, `${path}.activation`);
      if (!a) fail(`${path}.activation`, 'required for an activation layer');
      return { type, activation: a };
    }
    case 'reshape':
      if (!Array.isArray(l.shape) || l.shape.length === 0) fail(`${path}.shape`, 'expected a non-empty array of positive integers');
      return { type, shape: (l.shape as unknown[]).map((d, i) => posInt(d, `${path}.shape[${i}]`)) };
    case 'flatten':
      return { type };
    default:
      fail(`${path}.type`, `unknown layer type ${JSON.stringify(type)}; expected one of ${LAYER_TYPES.join(', ')}`);
  }
}

function likelihoodOf(raw: unknown): LikelihoodSpec {
  if (typeof raw !== 'object' || raw === null) fail('likelihood', `expected an object with a "type" (${LIKELIHOODS.join(', ')})`);
  const l = raw as Record<string, unknown>;
  const keys = l.type === 'gaussian' ? ['type', 'logSigma', 'learnSigma'] : l.type === 'categorical' ? ['type', 'classes'] : l.type === 'bernoulli' ? ['type'] : null;
  if (keys) onlyKeys(l, keys, 'likelihood');
  switch (l.type) {
    case 'bernoulli':
      return { type: 'bernoulli' };
    case 'gaussian': {
      if (l.logSigma !== undefined && (typeof l.logSigma !== 'number' || !Number.isFinite(l.logSigma))) fail('likelihood.logSigma', `expected a finite number, got ${JSON.stringify(l.logSigma)}`);
      if (l.learnSigma !== undefined && typeof l.learnSigma !== 'boolean') fail('likelihood.learnSigma', `expected true or false, got ${JSON.stringify(l.learnSigma)}`);
      return { type: 'gaussian', logSigma: (l.logSigma as number | undefined) ?? 0, learnSigma: (l.learnSigma as boolean | undefined) ?? false };
    }
    case 'categorical':
      return { type: 'categorical', classes: posInt(l.classes, 'likelihood.classes') };
    default:
      fail('likelihood.type', `unknown likelihood ${JSON.stringify(l.type)}; expected one of ${LIKELIHOODS.join(', ')}`);
  }
}

/** Validates untrusted JSON (a model file, a stored config) into a ModelSpec. */
export function parseModelSpec(raw: unknown): ModelSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('model', 'expected a JSON object');
  const m = raw as Record<string, unknown>;
  onlyKeys(m, ['input', 'latent', 'encoder', 'heads', 'decoder', 'likelihood', 'autoencoder'], '');
  if (!Array.isArray(m.input) || m.input.length === 0 || m.input.length > 3) fail('input', 'expected [D] or [C, H, W]');
  const input = (m.input as unknown[]).map((d, i) => posInt(d, `input[${i}]`));
  const latent = posInt(m.latent, 'latent');
  if (!Array.isArray(m.encoder)) fail('encoder', 'expected an array of layers');
  if (!Array.isArray(m.decoder)) fail('decoder', 'expected an array of layers');
  const heads = m.heads as Record<string, unknown> | undefined;
  if (!heads || typeof heads.mu !== 'string' || typeof heads.logvar !== 'string') fail('heads', 'expected { "mu": name, "logvar": name }');
  onlyKeys(heads, ['mu', 'logvar'], 'heads');
  if (m.autoencoder !== undefined && typeof m.autoencoder !== 'boolean') fail('autoencoder', `expected true or false, got ${JSON.stringify(m.autoencoder)}`);
  return {
    input,
    latent,
    encoder: (m.encoder as unknown[]).map((l, i) => layerOf(l, `encoder[${i}]`)),
    heads: { mu: heads.mu, logvar: heads.logvar },
    decoder: (m.decoder as unknown[]).map((l, i) => layerOf(l, `decoder[${i}]`)),
    likelihood: likelihoodOf(m.likelihood ?? { type: 'bernoulli' }),
    ...(m.autoencoder ? { autoencoder: true } : {}),
  };
}

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
