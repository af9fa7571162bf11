/**
 * The controls as a checked settings object, and the trainer configuration
 * and model they describe. Bad values get a message naming the control.
 */
import { checkObjectiveSettings, convPreset, mlpPreset, parseKlSchedule, parseModelSpec, parseObjective, type ModelSpec, type TrainerConfig } from '../src/index.ts';
import { byId } from './ui/dom.ts';

export interface Settings {
  readonly model: 'mlp' | 'conv';
  readonly hidden: number;
  readonly latent: number;
  readonly beta: number;
  readonly klSchedule: string;
  readonly freeBits: number;
  readonly latentL2: number;
  readonly lr: number;
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
  const model = byId<HTMLSelectElement>('model').value;
  if (model !== 'mlp' && model !== 'conv') throw new Error(`Model: unknown model "${model}"; expected mlp or conv`);
  const klSchedule = byId<HTMLInputElement>('kl-schedule').value.trim();
  const kl = parseKlSchedule(klSchedule); // throws a ScheduleError that says what is expected
  const objective = byId<HTMLSelectElement>('objective').value;
  try {
    const s = out as { beta: number; freeBits: number; latentL2: number };
    checkObjectiveSettings(parseObjective(objective), { beta: s.beta, klScheduleConstant: kl.type === 'constant', freeBits: s.freeBits, latentL2: s.latentL2, autoencoder: false });
  } catch (e) {
    throw new Error(`Objective: ${(e as Error).message}`);
  }
  return { ...(out as Omit<Settings, 'model' | 'klSchedule'>), model, klSchedule, objective };
}

/** Puts settings into the controls (after loading a model or restoring the last one). */
export function writeSettings(s: Settings): void {
  for (const f of NUMERIC) byId<HTMLInputElement>(f.id).value = String(s[f.key]);
  byId<HTMLSelectElement>('model').value = s.model;
  byId<HTMLInputElement>('kl-schedule').value = s.klSchedule;
  byId<HTMLSelectElement>('objective').value = s.objective ?? 'elbo';
}

export function modelSpec(s: Settings): ModelSpec {
  return s.model === 'mlp' ? mlpPreset({ latent: s.latent, hidden: s.hidden }) : convPreset({ latent: s.latent });
}

/** Settings that describe a loaded model (its kind, hidden and latent sizes), when it is one of the presets. */
export function settingsForSpec(spec: ModelSpec, base: Settings): Settings | null {
  // Compared in parsed form: parsing fills in defaults (stride, dilation…) the presets leave out.
  const canonical = (m: ModelSpec) => JSON.stringify(parseModelSpec(JSON.parse(JSON.stringify(m))));
  const want = canonical(spec);
  for (const model of ['mlp', 'conv'] as const) {
    const hidden = model === 'mlp' ? (spec.encoder[0]?.type === 'dense' ? spec.encoder[0].out : base.hidden) : base.hidden;
    const s: Settings = { ...base, model, hidden, latent: spec.latent };
    if (canonical(modelSpec(s)) === want) return s;
  }
  return null;
}

export function trainerConfig(s: Settings, spec: ModelSpec = modelSpec(s)): TrainerConfig {
  return {
    spec,
    batch: s.batch,
    epochs: s.epochs,
    optimizer: { type: 'adam', lr: s.lr },
    beta: s.beta,
    klSchedule: parseKlSchedule(s.klSchedule),
    lrSchedule: { type: 'constant' },
    freeBits: s.freeBits,
    latentL2: s.latentL2,
    seed: s.seed,
    binarize: 'none',
    logEvery: s.logEvery,
    objective: s.objective ?? 'elbo',
  };
}
