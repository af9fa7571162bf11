/**
 * Model definitions as JSON: validation of untrusted JSON into a ModelSpec
 * (every layer's fields by its op module in the op table, with errors that
 * name the field), and the presets. The format itself: src/graph/spec.ts and
 * docs/model-format.md.
 */
import { ModelSpecError } from '../graph/errors.ts';
import type { LayerCommon } from '../graph/op.ts';
import { LAYERS } from '../graph/ops/index.ts';
import { labelClasses, type ExtraInputSpec, type LayerSpec, type LikelihoodSpec, type ModelSpec } from '../graph/spec.ts';

export { ModelSpecError };
export type { ExtraInputSpec, LayerSpec, LikelihoodSpec, ModelSpec };
export { labelClasses };

const LIKELIHOODS = ['bernoulli', 'gaussian', 'categorical'] as const;
/** Fields every layer may have besides its type's own. */
const COMMON_FIELDS = ['type', 'name'] as const;
const NAME = /^[A-Za-z_][\w.]*$/;

function fail(path: string, msg: string): never {
  throw new ModelSpecError(`${path}: ${msg}`);
}

function posInt(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(path, `expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Refuses keys outside `allowed` (a misspelt optional field would otherwise be ignored). */
function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(path ? `${path}.${k}` : k, `unknown field; expected ${allowed.join(', ')}`);
  }
}

function layerOf(raw: unknown, path: string): LayerSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(path, 'expected a layer object');
  const l = raw as Record<string, unknown>;
  const def = typeof l.type === 'string' ? LAYERS.get(l.type) : undefined;
  if (!def) fail(`${path}.type`, `unknown layer type ${JSON.stringify(l.type)}; expected one of ${[...LAYERS.keys()].join(', ')}`);
  onlyKeys(l, [...COMMON_FIELDS, ...def.fields, 'inputs'], path);
  const common: { -readonly [K in keyof LayerCommon]: LayerCommon[K] } = { type: def.type };
  if (def.hasParams || l.name !== undefined) {
    if (typeof l.name !== 'string' || !NAME.test(l.name)) fail(`${path}.name`, `expected a name such as "fc1"${def.hasParams ? ' (the prefix of its parameters)' : ''}, got ${JSON.stringify(l.name)}`);
    common.name = l.name;
  }
  if (l.inputs !== undefined) {
    if (!Array.isArray(l.inputs) || l.inputs.length === 0) fail(`${path}.inputs`, 'expected a non-empty array of layer or input names');
    common.inputs = (l.inputs as unknown[]).map((n, i) => {
      if (typeof n !== 'string' || n === '') fail(`${path}.inputs[${i}]`, `expected a layer or input name, got ${JSON.stringify(n)}`);
      return n;
    });
  }
  return { ...common, ...def.parse(l, path) } as LayerSpec;
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

function extraInputsOf(raw: unknown, input: readonly number[]): Record<string, ExtraInputSpec> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('extraInputs', 'expected an object of inputs by name, e.g. { "label": { "type": "label", "classes": 10 } }');
  const out: Record<string, ExtraInputSpec> = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    const path = `extraInputs.${name}`;
    if (!NAME.test(name) || name === 'x' || name === 'z') fail(path, `'${name}' cannot name an input (x and z are taken; names start with a letter or _)`);
    if (typeof v !== 'object' || v === null) fail(path, 'expected { "type": "label", "classes": N } or { "type": "previous-tokens", "dropout"?: p }');
    const e = v as Record<string, unknown>;
    if (e.type === 'label') {
      onlyKeys(e, ['type', 'classes'], path);
      out[name] = { type: 'label', classes: posInt(e.classes, `${path}.classes`) };
    } else if (e.type === 'previous-tokens') {
      onlyKeys(e, ['type', 'dropout'], path);
      if (input.length !== 2) fail(path, `previous tokens need a model of token sequences, whose input is [steps, vocabulary] (one-hot); this one's is [${input.join(', ')}]`);
      if (e.dropout !== undefined && (typeof e.dropout !== 'number' || !(e.dropout >= 0 && e.dropout < 1))) fail(`${path}.dropout`, `expected a probability in [0, 1), got ${JSON.stringify(e.dropout)}`);
      out[name] = { type: 'previous-tokens', ...(e.dropout !== undefined ? { dropout: e.dropout as number } : {}) };
    } else {
      fail(`${path}.type`, `unknown input type ${JSON.stringify(e.type)}; expected label or previous-tokens`);
    }
  }
  return out;
}

/** Every extra input is read by some layer, and every layer name is used once in the model. */
function checkNames(spec: ModelSpec): void {
  const sections = [['encoder', spec.encoder], ['decoder', spec.decoder]] as const;
  const seen = new Map<string, string>([[spec.heads.mu, 'heads.mu'], [spec.heads.logvar, 'heads.logvar']]);
  for (const [section, layers] of sections) {
    layers.forEach((l, i) => {
      if (l.name === undefined) return;
      const other = seen.get(l.name);
      if (other) fail(`${section}[${i}].name`, `'${l.name}' is also the name of ${other}`);
      seen.set(l.name, `${section}[${i}]`);
    });
  }
  const labels = Object.entries(spec.extraInputs ?? {}).flatMap(([name, e]) => (e.type === 'label' ? [[name, e.classes] as const] : []));
  for (const [name, classes] of labels) {
    if (classes !== labels[0]![1]) fail(`extraInputs.${name}.classes`, `${classes}; every label input reads the samples' one label, so all must have the ${labels[0]![1]} classes of extraInputs.${labels[0]![0]}`);
  }
  for (const name of Object.keys(spec.extraInputs ?? {})) {
    if (!sections.some(([, layers]) => layers.some((l) => l.inputs?.includes(name)))) {
      fail(`extraInputs.${name}`, 'no layer reads this input: name it in the inputs of an encoder or decoder layer (the model\'s inputs do not connect)');
    }
  }
}

/** Validates untrusted JSON (a model file, a stored config) into a ModelSpec. */
export function parseModelSpec(raw: unknown): ModelSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('model', 'expected a JSON object');
  const m = raw as Record<string, unknown>;
  onlyKeys(m, ['input', 'latent', 'encoder', 'heads', 'decoder', 'likelihood', 'autoencoder', 'extraInputs'], '');
  if (!Array.isArray(m.input) || m.input.length === 0 || m.input.length > 3) fail('input', 'expected [D], [C, L] or [C, H, W]');
  const input = (m.input as unknown[]).map((d, i) => posInt(d, `input[${i}]`));
  const latent = posInt(m.latent, 'latent');
  if (!Array.isArray(m.encoder)) fail('encoder', 'expected an array of layers');
  if (!Array.isArray(m.decoder)) fail('decoder', 'expected an array of layers');
  const heads = m.heads as Record<string, unknown> | undefined;
  if (!heads || typeof heads.mu !== 'string' || typeof heads.logvar !== 'string') fail('heads', 'expected { "mu": name, "logvar": name }');
  onlyKeys(heads, ['mu', 'logvar'], 'heads');
  if (m.autoencoder !== undefined && typeof m.autoencoder !== 'boolean') fail('autoencoder', `expected true or false, got ${JSON.stringify(m.autoencoder)}`);
  const spec: ModelSpec = {
    input,
    ...(m.extraInputs !== undefined ? { extraInputs: extraInputsOf(m.extraInputs, input) } : {}),
    latent,
    encoder: (m.encoder as unknown[]).map((l, i) => layerOf(l, `encoder[${i}]`)),
    heads: { mu: heads.mu, logvar: heads.logvar },
    decoder: (m.decoder as unknown[]).map((l, i) => layerOf(l, `decoder[${i}]`)),
    likelihood: likelihoodOf(m.likelihood ?? { type: 'bernoulli' }),
    ...(m.autoencoder ? { autoencoder: true } : {}),
  };
  checkNames(spec);
  return spec;
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
