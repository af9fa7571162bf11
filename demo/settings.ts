/**
 * The controls as a checked settings object, and the trainer configuration
 * and model they describe. Bad values get a message naming the control.
 * Images take the mlp and conv presets and their conditional forms
 * (cvae-mlp, cvae-conv: conditioned on the label, for labelled data only);
 * sequence datasets take the command line's sequence presets (smiles,
 * smiles-conv, text, text-conv) and their recipe as defaults.
 */
import { checkObjectiveSettings, convPreset, mlpPreset, parseKlSchedule, parseLrSchedule, parseModelSpec, parseObjective, type ModelSpec, type TrainerConfig } from '../src/index.ts';
import { cvaeConvPreset, cvaeMlpPreset, presetRecipe, SEQUENCE_PRESETS, sequencePreset } from '../src/model/presets.ts';
import { labelClasses } from '../src/model/spec.ts';
import type { DataSplit } from './data/datasets.ts';
import { byId } from './ui/dom.ts';

export type ImageModel = 'mlp' | 'conv' | ConditionalModel;
/** The image presets conditioned on the label. */
export type ConditionalModel = 'cvae-mlp' | 'cvae-conv';
export type SequenceModel = 'smiles' | 'smiles-conv' | 'text' | 'text-conv';
export type ModelName = ImageModel | SequenceModel;
/** What a dataset holds, and so which models fit it. */
export type DataKind = 'images' | 'molecules' | 'text';

/** The models each kind of data takes, the first the default. */
export const MODELS: Readonly<Record<DataKind, readonly ModelName[]>> = {
  images: ['mlp', 'conv', 'cvae-mlp', 'cvae-conv'],
  molecules: ['smiles', 'smiles-conv'],
  text: ['text', 'text-conv'],
};

export function dataKind(data: DataSplit | null): DataKind {
  return data?.sequences?.kind ?? 'images';
}

/** Each conditional preset, and the unconditional one it is built on (what the page falls back to for data without labels). */
export const CONDITIONAL: Readonly<Record<ConditionalModel, ImageModel>> = { 'cvae-mlp': 'mlp', 'cvae-conv': 'conv' };

export function isConditional(model: ModelName): model is ConditionalModel {
  return model in CONDITIONAL;
}

/** The classes of a labelled dataset (its class names, else the largest label + 1 over both sets), or null without labels. */
export function dataClasses(data: DataSplit | null): number | null {
  if (!data?.train.labels || !data.test.labels) return null;
  if (data.train.classes) return data.train.classes.length;
  let max = 0;
  for (const l of [...data.train.labels, ...data.test.labels]) max = Math.max(max, l);
  return max + 1;
}

/** Why the data cannot take a model conditioned on the label (null: it can). */
export function conditionalUnavailable(data: DataSplit | null): string | null {
  if (!data) return 'No dataset is loaded yet.';
  if (data.sequences) return `${data.name} is a dataset of sequences: the conditional models (cvae-mlp, cvae-conv) are for labelled images.`;
  if (dataClasses(data) === null) return `The data (${data.name}) has no labels: the conditional models (cvae-mlp, cvae-conv) need labelled images (MNIST, Fashion-MNIST, or your images in a folder per class).`;
  return null;
}

/** Why a model file cannot be used with the data (a conditional model on data without labels or with more classes than it knows), or null. */
export function conditionMismatch(spec: ModelSpec, data: DataSplit | null): string | null {
  const k = labelClasses(spec);
  if (k === null || !data) return null;
  const have = dataClasses(data);
  if (have === null) return `the model is conditioned on a label (${k} classes) and the data (${data.name}) has no labels; choose a labelled dataset (MNIST, Fashion-MNIST, or your images in a folder per class)`;
  if (have > k) return `the model is conditioned on a label of ${k} classes and the data (${data.name}) has ${have}; choose data with at most ${k} classes`;
  return null;
}

export interface Settings {
  readonly model: ModelName;
  readonly hidden: number;
  readonly latent: number;
  readonly beta: number;
  readonly klSchedule: string;
  readonly freeBits: number;
  readonly latentL2: number;
  /** Word dropout of a sequence decoder's previous tokens (0 for images). */
  readonly wordDropout: number;
  readonly lr: number;
  /** The learning-rate schedule as the command line's --lr-schedule (absent in settings stored by earlier versions: constant). */
  readonly lrSchedule?: string;
  readonly batch: number;
  readonly epochs: number;
  readonly seed: number;
  readonly logEvery: number;
  /** 'elbo', 'iwae:K' or 'iwae-dreg:K' (absent in settings stored by earlier versions: elbo). */
  readonly objective?: string;
}

const NUMERIC: readonly { key: keyof Settings; id: string; label: string; integer: boolean; min: number; max: number }[] = [
  { key: 'hidden', id: 'hidden', label: 'Hidden units', integer: true, min: 1, max: 4096 },
  { key: 'latent', id: 'latent', label: 'Latent size', integer: true, min: 1, max: 512 },
  { key: 'beta', id: 'beta', label: 'β', integer: false, min: 0, max: 1e6 },
  { key: 'freeBits', id: 'free-bits', label: 'Free bits', integer: false, min: 0, max: 1e3 },
  { key: 'latentL2', id: 'latent-l2', label: 'Latent L2', integer: false, min: 0, max: 1e3 },
  { key: 'wordDropout', id: 'word-dropout', label: 'Word dropout', integer: false, min: 0, max: 0.99 },
  { key: 'lr', id: 'lr', label: 'Learning rate', integer: false, min: 1e-9, max: 10 },
  { key: 'batch', id: 'batch', label: 'Batch size', integer: true, min: 1, max: 4096 },
  { key: 'epochs', id: 'epochs', label: 'Epochs', integer: true, min: 1, max: 1e6 },
  { key: 'seed', id: 'seed', label: 'Seed', integer: true, min: 0, max: 2 ** 31 - 1 },
  { key: 'logEvery', id: 'log-every', label: 'Read losses every N steps', integer: true, min: 1, max: 100000 },
];

/** Reads and checks the controls; throws an Error naming the control and the accepted range. */
export function readSettings(): Settings {
  const out: Record<string, unknown> = {};
  for (const f of NUMERIC) {
    const raw = byId<HTMLInputElement>(f.id).value.trim();
    const v = Number(raw);
    if (raw === '' || !Number.isFinite(v) || (f.integer && !Number.isInteger(v)) || v < f.min || v > f.max) {
      throw new Error(`${f.label}: "${raw}" is not ${f.integer ? 'an integer' : 'a number'} from ${f.min} to ${f.max}`);
    }
    out[f.key] = v;
  }
  const model = byId<HTMLSelectElement>('model').value as ModelName;
  const all = Object.values(MODELS).flat();
  if (!all.includes(model)) throw new Error(`Model: unknown model "${model}"; expected ${all.join(', ')}`);
  const klSchedule = byId<HTMLInputElement>('kl-schedule').value.trim();
  const kl = parseKlSchedule(klSchedule); // throws a ScheduleError that says what is expected
  const lrSchedule = byId<HTMLInputElement>('lr-schedule').value.trim();
  try {
    parseLrSchedule(lrSchedule);
  } catch (e) {
    throw new Error(`LR schedule: ${(e as Error).message}`);
  }
  const objective = byId<HTMLSelectElement>('objective').value;
  try {
    const s = out as { beta: number; freeBits: number; latentL2: number };
    checkObjectiveSettings(parseObjective(objective), { beta: s.beta, klScheduleConstant: kl.type === 'constant', freeBits: s.freeBits, latentL2: s.latentL2, autoencoder: false });
  } catch (e) {
    throw new Error(`Objective: ${(e as Error).message}`);
  }
  return { ...(out as Omit<Settings, 'model' | 'klSchedule'>), model, klSchedule, lrSchedule, objective };
}

/** Settings that suit data of another kind: its default model and, for sequences, the command line's recipe and batch size; `images` gives the image defaults back. */
export function settingsForKind(kind: DataKind, current: Settings, images: Settings): Settings {
  if (kind === 'images') return { ...images, seed: current.seed, logEvery: current.logEvery };
  const model = MODELS[kind][0] as SequenceModel;
  const r = presetRecipe(model);
  return {
    ...current, model, batch: 128, beta: 1, latentL2: 0,
    epochs: r.epochs ?? current.epochs, lr: r.lr ?? current.lr, lrSchedule: r.lrSchedule ?? 'constant', klSchedule: r.klSchedule ?? 'constant',
    freeBits: r.freeBits ?? 0, wordDropout: r.wordDropout ?? 0, latent: r.latent ?? current.latent,
    hidden: r.hidden ?? presetHidden(model),
  };
}

/** The hidden size a sequence preset has by default (GRU units or decoder channels). */
export function presetHidden(model: SequenceModel): number {
  return sequenceHidden(sequencePreset({ steps: 4, vocab: 5, decoder: SEQUENCE_PRESETS[model]! }))!;
}

/** The GRU units or decoder channels of a sequence preset's model (null for another model). */
function sequenceHidden(spec: ModelSpec): number | null {
  for (const l of spec.decoder) {
    if (l.type === 'gru' && l.name === 'dec.gru') return l.hidden;
    if (l.type === 'conv1d' && l.name === 'dec.conv1') return l.out;
  }
  return null;
}

/** Puts settings into the controls (after loading a model or restoring the last one). */
export function writeSettings(s: Settings): void {
  // A model kept by an earlier version of the page may lack a setting: the control keeps its value.
  for (const f of NUMERIC) if (s[f.key] !== undefined) byId<HTMLInputElement>(f.id).value = String(s[f.key]);
  byId<HTMLSelectElement>('model').value = s.model;
  byId<HTMLInputElement>('kl-schedule').value = s.klSchedule;
  byId<HTMLInputElement>('lr-schedule').value = s.lrSchedule ?? 'constant';
  byId<HTMLSelectElement>('objective').value = s.objective ?? 'elbo';
}

/** The model the settings describe for the data (a sequence preset is sized by the data's length and vocabulary). */
export function modelSpec(s: Settings, data: DataSplit | null): ModelSpec {
  const kind = dataKind(data);
  if (!MODELS[kind].includes(s.model)) throw new Error(`Model: ${s.model} does not fit ${data?.name ?? 'the data'} (${kind}); choose ${MODELS[kind].join(' or ')}`);
  if (s.model === 'mlp') return mlpPreset({ latent: s.latent, hidden: s.hidden });
  if (s.model === 'conv') return convPreset({ latent: s.latent });
  if (isConditional(s.model)) {
    const classes = dataClasses(data);
    if (classes === null) throw new Error(`Model: ${conditionalUnavailable(data)}`);
    return s.model === 'cvae-mlp' ? cvaeMlpPreset(classes, { latent: s.latent, hidden: s.hidden }) : cvaeConvPreset(classes, { latent: s.latent });
  }
  const seq = data!.sequences!;
  return sequencePreset({
    steps: seq.maxLength, vocab: seq.vocab.size, decoder: SEQUENCE_PRESETS[s.model]!, latent: s.latent, hidden: s.hidden,
    ...(s.wordDropout > 0 ? { wordDropout: s.wordDropout } : {}),
  });
}

/** Settings that describe a loaded model (its kind, hidden and latent sizes, word dropout), when it is one of the presets for the data. */
export function settingsForSpec(spec: ModelSpec, base: Settings, data: DataSplit | null): Settings | null {
  // Compared in parsed form: parsing fills in defaults (stride, dilation…) the presets leave out.
  const canonical = (m: ModelSpec) => JSON.stringify(parseModelSpec(JSON.parse(JSON.stringify(m))));
  const want = canonical(spec);
  const fc1 = spec.encoder.find((l) => l.type === 'dense' && l.name === 'fc1');
  for (const model of MODELS[dataKind(data)]) {
    if (isConditional(model) && conditionalUnavailable(data)) continue;
    const hidden = model === 'mlp' || model === 'cvae-mlp' ? (fc1?.type === 'dense' ? fc1.out : base.hidden) : sequenceHidden(spec) ?? base.hidden;
    const prev = Object.values(spec.extraInputs ?? {}).find((e) => e.type === 'previous-tokens');
    const wordDropout = prev?.type === 'previous-tokens' ? prev.dropout ?? 0 : base.wordDropout;
    const s: Settings = { ...base, model, hidden, latent: spec.latent, wordDropout };
    if (canonical(modelSpec(s, data)) === want) return s;
  }
  return null;
}

export function trainerConfig(s: Settings, spec: ModelSpec): TrainerConfig {
  return {
    spec,
    batch: s.batch,
    epochs: s.epochs,
    optimizer: { type: 'adam', lr: s.lr },
    beta: s.beta,
    klSchedule: parseKlSchedule(s.klSchedule),
    lrSchedule: parseLrSchedule(s.lrSchedule ?? 'constant'),
    freeBits: s.freeBits,
    latentL2: s.latentL2,
    seed: s.seed,
    binarize: 'none',
    logEvery: s.logEvery,
    objective: s.objective ?? 'elbo',
  };
}
