/**
 * The run configuration: everything needed to rebuild the model, its data
 * and its training, built from command-line options and saved as config.json.
 */
import type { Dataset } from '../data/dataset.ts';
import type { SequenceOptions } from '../data/sequence-sets.ts';
import { MAX_SMILES_VARIANTS } from '../data/smiles-variants.ts';
import { convPreset, cvaeConvPreset, cvaeMlpPreset, mlpPreset, parseModelSpec, resconvPreset, sequencePreset, type LikelihoodSpec, type ModelSpec } from '../model/spec.ts';
import { presetRecipe, SEQUENCE_PRESETS, type PresetRecipe } from '../model/presets.ts';
import { parseKlSchedule, parseLrSchedule } from '../train/schedules.ts';
import { checkObjectiveSettings, parseObjective } from '../graph/objective.ts';
import type { Binarize, TrainerConfig } from '../train/trainer.ts';
import type { OptimizerName } from '../train/session.ts';

export interface RunConfig {
  readonly version: 1;
  readonly dataset: string;
  /** A preset name (PRESETS) or the path of a model JSON file (the spec itself is in `model`). */
  readonly modelName: string;
  readonly model: ModelSpec;
  readonly batch: number;
  readonly epochs: number;
  readonly optimizer: OptimizerName;
  readonly lr: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  readonly beta: number;
  readonly klSchedule: string;
  readonly lrSchedule: string;
  readonly freeBits: number;
  readonly latentL2: number;
  readonly binarize: Binarize;
  readonly seed: number;
  readonly logEvery: number;
  /** Train only on samples with these labels (anomaly detection: the normal classes); null for all. */
  readonly trainClasses: readonly number[] | null;
  /** On a non-finite gradient (the update is skipped either way): go on, or stop the run. Absent in older runs: skip. */
  readonly onNan?: 'skip' | 'stop';
  /** A dataset of sequences: how its lines are read (the vocabulary is the run folder's vocab.json). Absent for other data. */
  readonly sequence?: SequenceOptions;
  /** 'elbo', 'iwae:K' or 'iwae-dreg:K' (src/graph/objective.ts). Absent in older runs: elbo. */
  readonly objective?: string;
}

export function likelihoodOf(name: string, classes: number | undefined): LikelihoodSpec {
  switch (name) {
    case 'bernoulli':
      return { type: 'bernoulli' };
    case 'gaussian':
      return { type: 'gaussian', logSigma: 0 };
    case 'categorical':
      if (!classes) throw new Error('--likelihood categorical needs --classes <V> (logits per group)');
      return { type: 'categorical', classes };
    default:
      throw new Error(`--likelihood: got ${JSON.stringify(name)}; expected bernoulli, gaussian or categorical`);
  }
}

export { presetRecipe, SEQUENCE_PRESETS, type PresetRecipe };

/** The preset names of --model. */
export const PRESETS = ['mlp', 'conv', 'resconv', 'cvae-mlp', 'cvae-conv', 'smiles', 'smiles-conv', 'text', 'text-conv'] as const;

export function isPreset(name: string): boolean {
  return (PRESETS as readonly string[]).includes(name);
}

/** The number of classes of a labelled dataset (its class names, or the largest label + 1), for a conditional preset. */
export function classesOf(ds: Dataset, model: string): number {
  if (!ds.labels) throw new Error(`--model ${model} draws the class you ask for: it needs a labelled dataset, and ${ds.name} has no labels`);
  return ds.classes?.length ?? ds.labels.reduce((m, v) => Math.max(m, v), 0) + 1;
}

/** The model for a preset name or a model JSON text, fitted to the data's sample shape (and, for a conditional preset, its classes). */
export function modelFor(name: string, json: string | null, data: Dataset, o: { latent?: number; hidden?: number; autoencoder: boolean; likelihood: LikelihoodSpec; wordDropout?: number; layers?: number }): ModelSpec {
  const shape = data.shape;
  const d = shape.reduce((a, b) => a * b, 1);
  const preset = { ...(o.latent !== undefined ? { latent: o.latent } : {}), ...(o.hidden !== undefined ? { hidden: o.hidden } : {}), autoencoder: o.autoencoder, likelihood: o.likelihood };
  const decoder = SEQUENCE_PRESETS[name];
  if (decoder) {
    if (!data.tokens) throw new Error(`--model ${name} reads token sequences; ${data.name} is not a sequence dataset (use --dataset smiles, smiles-nci, text, or a .smi, .txt or .csv file with --column)`);
    return sequencePreset({ steps: d, vocab: data.tokens.vocab, decoder, ...(o.latent !== undefined ? { latent: o.latent } : {}), ...(o.hidden !== undefined ? { hidden: o.hidden } : {}), ...(o.wordDropout ? { wordDropout: o.wordDropout } : {}), ...(o.layers !== undefined ? { layers: o.layers } : {}) });
  }
  if (data.tokens && isPreset(name)) throw new Error(`--model ${name}: ${data.name} is a dataset of token sequences; use a sequence preset (${Object.keys(SEQUENCE_PRESETS).join(', ')}) or a model JSON`);
  if (name === 'mlp') return mlpPreset(preset, d);
  if (name === 'cvae-mlp') return cvaeMlpPreset(classesOf(data, name), preset, d);
  if (name === 'conv' || name === 'resconv' || name === 'cvae-conv') {
    const spec = name === 'conv' ? convPreset(preset) : name === 'resconv' ? resconvPreset(preset) : cvaeConvPreset(classesOf(data, name), preset);
    if (shape.join('x') !== spec.input.join('x')) throw new Error(`--model ${name} expects ${spec.input.join('×')} images; the data's samples are [${shape.join(', ')}] (use --model mlp or a model JSON)`);
    return spec;
  }
  if (json === null) throw new Error(`--model: ${name}: expected ${PRESETS.join(', ')} or a model JSON file`);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`${name}: not valid JSON (${(e as Error).message})`);
  }
  const spec = parseModelSpec(raw);
  if (spec.input.reduce((a, b) => a * b, 1) !== d) throw new Error(`${name}: the model's input [${spec.input.join(', ')}] does not match the data's samples [${shape.join(', ')}]`);
  return spec;
}

/** The trainer's settings from a run configuration. */
export function trainerConfig(c: RunConfig): TrainerConfig {
  return {
    spec: c.model,
    batch: c.batch,
    epochs: c.epochs,
    optimizer: { type: c.optimizer, lr: c.lr, weightDecay: c.weightDecay, clipNorm: c.clipNorm },
    beta: c.beta,
    klSchedule: parseKlSchedule(c.klSchedule),
    lrSchedule: parseLrSchedule(c.lrSchedule),
    freeBits: c.freeBits,
    latentL2: c.latentL2,
    seed: c.seed,
    binarize: c.binarize,
    logEvery: c.logEvery,
    onNonFinite: c.onNan ?? 'skip',
    objective: c.objective ?? 'elbo',
  };
}

/** Checks the objective and the loss settings it takes (a one-line error naming what is wrong). */
export function checkRunObjective(c: RunConfig): void {
  const kl = parseKlSchedule(c.klSchedule);
  checkObjectiveSettings(parseObjective(c.objective ?? 'elbo'), { beta: c.beta, klScheduleConstant: kl.type === 'constant', freeBits: c.freeBits, latentL2: c.latentL2, autoencoder: !!c.model.autoencoder });
}

const RUN_CONFIG_FIELDS: readonly string[] = [
  'version', 'dataset', 'modelName', 'model', 'batch', 'epochs', 'optimizer', 'lr', 'weightDecay', 'clipNorm', 'beta', 'klSchedule',
  'lrSchedule', 'freeBits', 'latentL2', 'binarize', 'seed', 'logEvery', 'trainClasses', 'onNan', 'sequence', 'objective',
];

function parseSequenceOptions(raw: unknown, fail: (field: string, want: string, got: unknown) => never): SequenceOptions {
  const r = raw as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null) return fail('sequence', 'an object { maxLength, column, tokenizer, strict, augment, canonical }', raw);
  const maxLength = r.maxLength === null || (Number.isInteger(r.maxLength) && (r.maxLength as number) >= 2) ? (r.maxLength as number | null) : fail('sequence.maxLength', 'null or an integer ≥ 2', r.maxLength);
  const column = r.column === null || typeof r.column === 'string' ? (r.column as string | null) : fail('sequence.column', 'null or a string', r.column);
  const tokenizer = r.tokenizer === null || r.tokenizer === 'smiles' || r.tokenizer === 'chars' ? (r.tokenizer as SequenceOptions['tokenizer']) : fail('sequence.tokenizer', 'null, smiles or chars', r.tokenizer);
  const strict = typeof r.strict === 'boolean' ? r.strict : fail('sequence.strict', 'true or false', r.strict);
  // Runs saved before SMILES enumeration existed read their strings as they are.
  const augment = r.augment === undefined ? 1 : Number.isInteger(r.augment) && (r.augment as number) >= 1 && (r.augment as number) <= MAX_SMILES_VARIANTS ? (r.augment as number) : fail('sequence.augment', `an integer from 1 to ${MAX_SMILES_VARIANTS}`, r.augment);
  // Runs saved before canonical form existed read their SMILES as written in the file.
  const canonical = r.canonical === undefined ? false : typeof r.canonical === 'boolean' ? r.canonical : fail('sequence.canonical', 'true or false', r.canonical);
  return { maxLength, column, tokenizer, strict, augment, canonical };
}

/** Validates a config.json read from disk, naming the field that is wrong. */
export function parseRunConfig(raw: unknown, source: string): RunConfig {
  const fail = (field: string, want: string, got: unknown): never => {
    throw new Error(`${source}: field '${field}' is ${JSON.stringify(got)}; expected ${want}`);
  };
  if (typeof raw !== 'object' || raw === null) throw new Error(`${source}: expected a JSON object`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!RUN_CONFIG_FIELDS.includes(k)) throw new Error(`${source}: unknown field '${k}'; expected ${RUN_CONFIG_FIELDS.join(', ')}`);
  }
  if (r.version !== 1) fail('version', '1', r.version);
  const s = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : fail(k, 'a string', r[k]));
  const n = (k: string, min: number) => (typeof r[k] === 'number' && Number.isFinite(r[k]) && (r[k] as number) >= min ? (r[k] as number) : fail(k, `a number ≥ ${min}`, r[k]));
  const i = (k: string, min: number) => (Number.isInteger(r[k]) && (r[k] as number) >= min ? (r[k] as number) : fail(k, `an integer ≥ ${min}`, r[k]));
  let model: ModelSpec;
  try {
    model = parseModelSpec(r.model);
  } catch (e) {
    throw new Error(`${source}: model.${(e as Error).message}`);
  }
  const optimizer = s('optimizer');
  if (!['adam', 'adamw', 'sgd'].includes(optimizer)) fail('optimizer', 'adam, adamw or sgd', optimizer);
  const binarize = s('binarize');
  if (!['none', 'static', 'dynamic'].includes(binarize)) fail('binarize', 'none, static or dynamic', binarize);
  const c: RunConfig = {
    version: 1, dataset: s('dataset'), modelName: s('modelName'), model, batch: i('batch', 1), epochs: i('epochs', 1),
    optimizer: optimizer as OptimizerName, lr: n('lr', 0), weightDecay: n('weightDecay', 0), clipNorm: n('clipNorm', 0), beta: n('beta', 0),
    klSchedule: s('klSchedule'), lrSchedule: s('lrSchedule'), freeBits: n('freeBits', 0), latentL2: n('latentL2', 0),
    binarize: binarize as Binarize, seed: i('seed', 0), logEvery: i('logEvery', 1),
    trainClasses: r.trainClasses === undefined || r.trainClasses === null ? null
      : Array.isArray(r.trainClasses) && r.trainClasses.every((v) => Number.isInteger(v) && (v as number) >= 0) ? (r.trainClasses as number[])
      : fail('trainClasses', 'null or a list of non-negative integer labels', r.trainClasses),
    ...(r.onNan === undefined ? {} : { onNan: r.onNan === 'skip' || r.onNan === 'stop' ? r.onNan : fail('onNan', 'skip or stop', r.onNan) }),
    ...(r.sequence === undefined ? {} : { sequence: parseSequenceOptions(r.sequence, fail) }),
    ...(r.objective === undefined ? {} : { objective: s('objective') }),
  };
  parseKlSchedule(c.klSchedule);
  parseLrSchedule(c.lrSchedule);
  try {
    checkRunObjective(c);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return c;
}
