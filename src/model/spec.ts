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

export { convPreset, cvaeConvPreset, cvaeMlpPreset, mlpPreset, resconvPreset, sequencePreset, type PresetOptions, type SequencePresetOptions } from './presets.ts';
