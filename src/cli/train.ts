/** `webgpu-vae train` and `webgpu-vae resume`: training runs that write a run folder. */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.ts';
import { tokenizerOf } from '../data/sequence-files.ts';
import { isSequenceDataset, type SequenceOptions } from '../data/sequence-sets.ts';
import type { Tokenizer } from '../data/tokens.ts';
import { MAX_SMILES_VARIANTS } from '../data/smiles-variants.ts';
import { requestGpu } from '../gpu/device.ts';
import { gpuWait } from '../gpu/wait.ts';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.ts';
import { writeFileAtomic } from '../io/files.ts';
import { tuneForTraining } from '../train/session.ts';
import { parseObjective } from '../graph/objective.ts';
import { NonFiniteError, Trainer, type DeviceLostEvent, type EpochEvent, type NonFiniteEvent, type TrainEvent } from '../train/trainer.ts';
import { checkRunObjective, isPreset, likelihoodOf, modelFor, parseRunConfig, presetRecipe, PRESETS, SEQUENCE_PRESETS, trainerConfig, type RunConfig } from './config.ts';
import { loadRunData, writeVocabulary, type RunData } from './run-data.ts';
import { choice, flag, helpText, int, num, parse, positionals, str, UsageError, type OptionSpec, type Parsed } from './options.ts';
import { writePictures, type EpochPoint } from './pictures.ts';
import { describeSequenceReport, writeSequenceOutputs } from './sequence-outputs.ts';
import { progressOutput, ProgressView } from './progress.ts';
import { openGpu, stopExitCode, withRunLock, type RunWriter, type StopSignal } from './writer.ts';

export const TRAIN_OPTIONS: OptionSpec = {
  dataset: { type: 'string', help: 'mnist, fashion-mnist, or a path (PNG folder, .npy, .csv, IDX); sequences: smiles (the WEHI molecules), smiles-nci, text (fortunes), or a .smi, .txt or .csv file', default: 'mnist' },
  model: { type: 'string', help: `${PRESETS.join(', ')} (cvae-*: conditioned on the label; smiles*, text*: sequences), or a model JSON file`, default: 'mlp (smiles for molecules, text for text)' },
  latent: { type: 'string', help: 'latent dimensions (presets)', default: '20 for mlp, 16 for conv' },
  hidden: { type: 'string', help: 'hidden units (mlp preset)', default: '400' },
  epochs: { type: 'string', help: 'training epochs', default: '3' },
  batch: { type: 'string', help: 'batch size', default: '128' },
  lr: { type: 'string', help: 'learning rate', default: '0.001' },
  optimizer: { type: 'string', help: 'adam, adamw or sgd', default: 'adam' },
  'weight-decay': { type: 'string', help: 'weight decay (decoupled for adamw)', default: '0' },
  'clip-norm': { type: 'string', help: 'clip the gradient global norm (0: off)', default: '0' },
  beta: { type: 'string', help: 'KL weight β', default: '1' },
  'kl-schedule': { type: 'string', help: 'constant | linear:<steps> | sigmoid:<steps> | cyclical:<cycles>:<ratio>', default: 'constant' },
  'lr-schedule': { type: 'string', help: 'constant | cosine[:<warmup>[:<min>]] | step:<every>:<gamma> | tail-cosine:<steps>[:<min>]', default: 'constant' },
  'free-bits': { type: 'string', help: 'free bits λ per latent dimension (nats)', default: '0' },
  'latent-l2': { type: 'string', help: 'weight of an L2 penalty on the latent codes', default: '0' },
  likelihood: { type: 'string', help: 'bernoulli, gaussian or categorical', default: 'bernoulli' },
  classes: { type: 'string', help: 'logits per group for a categorical likelihood' },
  binarize: { type: 'string', help: 'none, static or dynamic', default: 'none' },
  autoencoder: { type: 'boolean', help: 'plain autoencoder: no sampling, no KL' },
  seed: { type: 'string', help: 'random seed', default: '1' },
  out: { type: 'string', help: 'run folder', default: 'runs/<date>-<model>-<dataset>' },
  'log-every': { type: 'string', help: 'steps between progress updates', default: '10' },
  json: { type: 'boolean', help: 'print events as JSON lines instead of a progress bar' },
  'train-classes': { type: 'string', help: 'train only on these comma-separated labels (e.g. the normal classes for anomaly detection)' },
  'max-length': { type: 'string', help: 'sequences: tokens per sequence with the end token; longer lines are dropped', default: 'the longest training line' },
  column: { type: 'string', help: 'sequences from a .csv file: the column to read', default: 'the first' },
  tokenizer: { type: 'string', help: 'sequences from a .txt or .csv file: smiles or chars', default: 'chars for .txt, smiles for .csv' },
  strict: { type: 'boolean', help: 'sequences: refuse the file at the first line that cannot be used, instead of dropping and reporting it' },
  augment: { type: 'string', help: 'SMILES: train on this many strings of each training molecule, the one read and others RDKit writes from other starting atoms (SMILES enumeration)', default: '1' },
  'smiles-form': { type: 'string', help: 'SMILES: as-read, or canonical (each molecule rewritten in RDKit\'s canonical form before the split)', default: 'as-read' },
  layers: { type: 'string', help: 'sequence presets with a GRU decoder: stacked GRU layers', default: '1' },
  'word-dropout': { type: 'string', help: 'sequence presets: probability of replacing each previous token the decoder reads by the unknown token in training', default: 'the preset\'s' },
  'on-nan': { type: 'string', help: 'when a gradient holds NaN/Inf (the update is always skipped): skip (report and go on) or stop', default: 'skip' },
  autotune: { type: 'boolean', help: 'time the matmul kernel variants on this model\'s products before compiling and use the fastest (a few seconds)' },
  objective: { type: 'string', help: 'elbo | iwae:K (importance-weighted bound, K samples per input) | iwae-dreg:K (with the DReG encoder gradient)', default: 'elbo' },
};

const RESUME_OPTIONS: OptionSpec = {
  epochs: { type: 'string', help: 'train until this many epochs in all (default: the run\'s)' },
  'on-nan': { type: 'string', help: 'skip or stop (default: the run\'s)' },
  json: TRAIN_OPTIONS.json!,
  autotune: TRAIN_OPTIONS.autotune!,
};

/**
 * With --autotune, tunes the matmul kernels on the model's products before the
 * trainer compiles its step, printing each timing and the choices (as JSON
 * lines with --json).
 */
async function autotune(device: GPUDevice, config: RunConfig, json: boolean): Promise<void> {
  const say = (o: object, text: string) => console.log(json ? JSON.stringify(o) : text);
  const t = await tuneForTraining(device, config.model, config.batch, json ? undefined : (l) => console.log(l), parseObjective(config.objective ?? 'elbo'));
  for (const e of json ? t.entries : []) say({ type: 'autotune', shape: e.key, ms: e.ms, rejected: e.rejected, chosen: e.chosen }, '');
  say({ type: 'autotune-choices', timing: t.timing, byClass: t.byClass }, `matmul choices (${t.timing}): ${Object.entries(t.byClass).map(([c, v]) => `${c} -> ${v}`).join(', ')}`);
}

/** --smiles-form: as-read (the default) or canonical for SMILES (the smiles tokenizer: smiles, smiles-nci, .smi, .csv), refused for text. */
function smilesForm(p: Parsed, dataset: string, asked: Tokenizer | null): boolean {
  const tokenizer = tokenizerOf(dataset, asked);
  if (tokenizer !== 'smiles') {
    if (p.values['smiles-form'] !== undefined) throw new UsageError(`--smiles-form applies to SMILES (the smiles tokenizer); ${dataset} is read as ${tokenizer}`);
    return false;
  }
  return choice(p, 'smiles-form', ['as-read', 'canonical'] as const, 'as-read') === 'canonical';
}

/** The run configuration from `train`'s options and the data's sample shape. */
export async function configFromOptions(argv: readonly string[]): Promise<{ config: RunConfig; out: string | null; json: boolean; autotune: boolean; sets: RunData } | 'help'> {
  const p = parse('train', TRAIN_OPTIONS, argv);
  if (flag(p, 'help')) return 'help';
  positionals('train', p, []);
  const dataset = str(p, 'dataset', 'mnist');
  const column = typeof p.values.column === 'string' ? p.values.column : null;
  const asked = p.values.tokenizer === undefined ? null : choice(p, 'tokenizer', ['smiles', 'chars'] as const, 'chars');
  const sequence: SequenceOptions | undefined = isSequenceDataset(dataset, { column, tokenizer: asked })
    ? {
        maxLength: p.values['max-length'] === undefined ? null : int(p, 'max-length', 0, 2, 65535),
        column,
        tokenizer: asked,
        strict: flag(p, 'strict'),
        augment: p.values.augment === undefined ? 1 : int(p, 'augment', 1, 1, MAX_SMILES_VARIANTS),
        canonical: smilesForm(p, dataset, asked),
      }
    : undefined;
  if (!sequence) for (const o of ['max-length', 'column', 'tokenizer', 'strict', 'word-dropout', 'augment', 'smiles-form']) if (p.values[o] !== undefined) throw new UsageError(`--${o} applies to sequence datasets (smiles, smiles-nci, text, .smi, .txt, or .csv with --column); ${dataset} is not one`);
  const modelName = str(p, 'model', sequence ? (tokenizerOf(dataset, asked) === 'chars' ? 'text' : 'smiles') : 'mlp');
  const recipe = presetRecipe(modelName);
  const likelihood = likelihoodOf(choice(p, 'likelihood', ['bernoulli', 'gaussian', 'categorical'] as const, 'bernoulli'), p.values.classes === undefined ? undefined : int(p, 'classes', 0, 2));
  const trainClasses = typeof p.values['train-classes'] === 'string' ? p.values['train-classes'].split(',').map((t) => {
    const v = Number(t.trim());
    if (t.trim() === '' || !Number.isInteger(v) || v < 0) throw new UsageError(`--train-classes: ${JSON.stringify(t)} is not a label; expected comma-separated non-negative integers`);
    return v;
  }) : null;
  const data = await loadRunData(dataset, { unitRange: !sequence && likelihood.type === 'bernoulli', trainClasses, sequence });
  const { train } = data;
  const json = isPreset(modelName) ? null : readText(modelName, '--model');
  const latent = p.values.latent === undefined ? recipe.latent : int(p, 'latent', 0, 1);
  const hidden = p.values.hidden === undefined ? recipe.hidden : int(p, 'hidden', 0, 1);
  const wordDropout = num(p, 'word-dropout', recipe.wordDropout ?? 0, 0, 0.99);
  if (p.values.layers !== undefined && SEQUENCE_PRESETS[modelName] !== 'gru') throw new UsageError(`--layers: stacks the GRU decoder of the smiles and text presets; --model ${modelName} has none`);
  const layers = p.values.layers === undefined ? undefined : int(p, 'layers', 1, 1, 8);
  const model = modelFor(modelName, json, train, { ...(latent !== undefined ? { latent } : {}), ...(hidden !== undefined ? { hidden } : {}), autoencoder: flag(p, 'autoencoder'), likelihood, wordDropout, ...(layers !== undefined ? { layers } : {}) });
  const config: RunConfig = {
    version: 1, dataset, modelName, model,
    batch: int(p, 'batch', 128), epochs: int(p, 'epochs', recipe.epochs ?? 3),
    optimizer: choice(p, 'optimizer', ['adam', 'adamw', 'sgd'] as const, 'adam'),
    lr: num(p, 'lr', recipe.lr ?? 1e-3, 0), weightDecay: num(p, 'weight-decay', 0, 0), clipNorm: num(p, 'clip-norm', 0, 0),
    beta: num(p, 'beta', 1, 0), klSchedule: str(p, 'kl-schedule', recipe.klSchedule ?? 'constant'), lrSchedule: str(p, 'lr-schedule', recipe.lrSchedule ?? 'constant'),
    freeBits: num(p, 'free-bits', recipe.freeBits ?? 0, 0), latentL2: num(p, 'latent-l2', 0, 0),
    binarize: choice(p, 'binarize', ['none', 'static', 'dynamic'] as const, 'none'),
    seed: int(p, 'seed', 1, 0, 0xffffffff), logEvery: int(p, 'log-every', 10), trainClasses,
    onNan: choice(p, 'on-nan', ['skip', 'stop'] as const, 'skip'), objective: str(p, 'objective', 'elbo'),
    ...(sequence ? { sequence } : {}),
  };
  trainerConfig(config); // validates the schedule strings
  try {
    checkRunObjective(config);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  return { config, out: typeof p.values.out === 'string' ? p.values.out : null, json: flag(p, 'json'), autotune: flag(p, 'autotune'), sets: data };
}

function readText(path: string, what: string): string {
  if (!existsSync(path)) throw new UsageError(`${what}: ${path}: no such file (expected ${PRESETS.join(', ')} or a model JSON file)`);
  return readFileSync(path, 'utf8');
}

/** The run's images or values; with `trainClasses`, the training set keeps only those labels (the test set is whole). */
export async function loadSets(dataset: string, unitRange: boolean, trainClasses: readonly number[] | null = null): Promise<{ train: Dataset; test: Dataset }> {
  const { train, test } = await loadRunData(dataset, { unitRange, trainClasses });
  return { train, test };
}

/** The data of a saved run (sequences checked against its vocabulary). */
export function runData(config: RunConfig, dir: string): Promise<RunData> {
  return loadRunData(config.dataset, { unitRange: !config.sequence && config.model.likelihood.type === 'bernoulli', trainClasses: config.trainClasses, sequence: config.sequence, dir });
}

function defaultOut(c: RunConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const ds = c.dataset.replace(/[^\w.-]+/g, '_').slice(-40);
  return join('runs', `${stamp}-${isPreset(c.modelName) ? c.modelName : 'model'}-${ds}`);
}

interface Reporter {
  event(e: TrainEvent): void;
  message(s: string): void;
  stop(): void;
}

/** `bound`: the objective is an importance-weighted bound, printed before the ELBO's terms (−bound is the trainer's objective). */
function reporter(json: boolean, epochs: number, batch: number, bound = false): Reporter {
  if (json) {
    return { event: (e) => console.log(JSON.stringify(e.type === 'device-lost' ? { ...e, text: describeEvent(e) } : e)), message: (s) => console.log(JSON.stringify({ type: 'message', message: s })), stop() {} };
  }
  const bar = progressOutput(new ProgressView(epochs, batch), process.stderr);
  return {
    event(e) {
      if (e.type === 'step') return bar.step(e);
      bar.clear();
      if (e.type === 'nonfinite' || e.type === 'device-lost') console.log(describeEvent(e));
      else {
        const t = e.test ? ` | test loss ${e.test.loss.toFixed(2)} recon ${e.test.recon.toFixed(2)} KL ${e.test.kl.toFixed(2)} active units ${e.test.activeUnits}` : '';
        console.log(`epoch ${e.epoch}: train ${bound ? `−bound ${e.train.objective.toFixed(2)} ` : ''}loss ${e.train.loss.toFixed(2)} recon ${e.train.recon.toFixed(2)} KL ${e.train.kl.toFixed(2)}${t} | ${e.samplesPerSecond.toFixed(0)} samples/s, ${e.seconds.toFixed(1)} s`);
      }
    },
    message: (s) => {
      bar.clear();
      console.log(s);
    },
    stop: () => bar.clear(),
  };
}

/** One line for the events that interrupt the progress bar. */
function describeEvent(e: NonFiniteEvent | DeviceLostEvent): string {
  if (e.type === 'nonfinite') return `non-finite gradient: ${e.message}`;
  return `GPU device lost at step ${e.step} (${e.reason}${e.message ? `: ${e.message}` : ''}); continuing on a new device from the snapshot at step ${e.restoredStep} (epoch ${e.epoch + 1})`;
}

/**
* WEBGPU_VAE_FAULT=device-lost@<step> destroys the device after that step
 * once (to exercise recovery); sigint@<step> sends the process a SIGINT there
 * (Ctrl-C at a known step); stop@<step> stops the process with SIGSTOP there
 * (to test a second writer, or kill -9, in the middle of an epoch).
 */
function faultAt(): { kind: 'device-lost' | 'sigint' | 'stop'; step: number } | null {
  const m = /^(device-lost|sigint|stop)@(\d+)$/.exec(process.env.WEBGPU_VAE_FAULT ?? '');
  return m ? { kind: m[1] as 'device-lost' | 'sigint' | 'stop', step: Number(m[2]) } : null;
}

/** A new device for a trainer whose device was lost. */
const newDevice = async () => (await requestGpu({ log: () => {} })).device;

function metricsLine(e: EpochEvent) {
  return {
    epoch: e.epoch, step: e.step, beta: e.beta, lr: e.lr,
    train: e.train, test: e.test && { loss: e.test.loss, recon: e.test.recon, kl: e.test.kl, elbo: e.test.elbo, klPerDim: e.test.klPerDim },
    activeUnits: e.test?.activeUnits ?? null, samplesPerSecond: e.samplesPerSecond, seconds: e.seconds, skippedSteps: e.skippedSteps,
  };
}

async function checkpoint(trainer: Trainer, dir: string): Promise<void> {
  const st = await trainer.snapshot();
  // The epoch's sums as exact doubles: a resumed run adds the same numbers in the same order as one never stopped.
  const epochSums = { loss: st.sums.recon + st.sums.kl, ...st.sums };
  saveCheckpoint(dir, trainer.config.spec, st.params, { type: trainer.config.optimizer.type, blocks: st.optimizer }, { epoch: st.epoch, stepInEpoch: st.stepInEpoch, step: st.step, skips: st.skips, epochSums });
}

/**
 * Runs (or continues) training with checkpoints per epoch; SIGINT or SIGTERM stops after the current step and saves.
 * Before the first progress line it prints the time from `gpuReady` (requestGpu returned) to the first step's completion.
 */
async function runTraining(trainer: Trainer, dir: string, sets: RunData, history: EpochPoint[], json: boolean, writer: RunWriter, gpuReady: number): Promise<number> {
  const rep = reporter(json, trainer.config.epochs, trainer.config.batch, trainer.objective.kind === 'iwae');
  const abort = new AbortController();
  let stoppedBy: StopSignal = 'SIGINT';
  const removeStop = writer.onStop((signal) => {
    stoppedBy = signal;
    rep.message(`interrupted (${signal}): finishing the current step and saving a checkpoint…`);
    abort.abort();
  });
  let fault = faultAt();
  try {
    let firstStep = true;
    const done = await trainer.run(async (e) => {
      if (firstStep && e.type === 'step' && trainer.firstStepDone) {
        firstStep = false;
        rep.message(`time to first step: ${(((await trainer.firstStepDone) - gpuReady) / 1000).toFixed(2)} s after the GPU was ready`);
      }
      rep.event(e);
      if (fault !== null && e.type === 'step' && e.step >= fault.step) {
        if (fault.kind === 'device-lost') trainer.device.destroy();
        else process.kill(process.pid, fault.kind === 'sigint' ? 'SIGINT' : 'SIGSTOP');
        fault = null;
      }
      if (e.type === 'epoch') {
        appendFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify(metricsLine(e))}\n`);
        history.push({ epoch: e.epoch, train: e.train, test: e.test });
        await checkpoint(trainer, dir);
      }
    }, abort.signal);
    removeStop(); // from here a signal ends the process at once (the writes below are atomic)
    if (!done) {
      await gpuWait(() => trainer.device.queue.onSubmittedWorkDone());
      await checkpoint(trainer, dir);
      rep.message(`checkpoint saved at epoch ${trainer.epoch + 1}, step ${trainer.session.step}; continue with: webgpu-vae resume ${dir}`);
      return stopExitCode(stoppedBy);
    }
    if (sets.sequences) {
      const { report, files } = await writeSequenceOutputs(dir, trainer.inference, sets.sequences, history, trainer.config.seed);
      if (json) rep.message(JSON.stringify({ type: 'sequence-report', ...report }));
      else for (const l of describeSequenceReport(report)) rep.message(l);
      rep.message(`run folder: ${dir} (model.safetensors, optimizer.safetensors, config.json, vocab.json, metrics.jsonl, ${files.join(', ')})`);
      return 0;
    }
    await writePictures(dir, trainer.inference, sets.test, history, trainer.config.seed);
    rep.message(`run folder: ${dir} (model.safetensors, optimizer.safetensors, config.json, metrics.jsonl, samples.png, reconstructions.png, latent.png, interpolation.png, loss.png)`);
    return 0;
  } catch (e) {
    if (e instanceof NonFiniteError) throw new Error(`${e.message}; the last checkpoint in ${dir} is kept (epoch ${trainer.epoch})`);
    throw e;
  } finally {
    removeStop();
    rep.stop();
  }
}

export async function trainCommand(argv: readonly string[]): Promise<number> {
  const r = await configFromOptions(argv);
  if (r === 'help') {
    console.log(helpText('train', '[options]', 'Trains a VAE on the GPU and writes a run folder with checkpoints, metrics and pictures.', TRAIN_OPTIONS));
    return 0;
  }
  const { config, json, sets } = r;
  const dir = r.out ?? defaultOut(config);
  mkdirSync(dir, { recursive: true });
  return withRunLock(dir, 'train', async (writer) => {
    if (existsSync(join(dir, 'model.safetensors'))) throw new UsageError(`--out ${dir} already holds a run; continue it with \`webgpu-vae resume ${dir}\` or choose another folder`);
    const { gpu, line, reason } = await openGpu();
    const gpuReady = performance.now();
    if (json) console.log(JSON.stringify({ type: 'adapter', adapter: gpu.summary, reason }));
    else console.log(`${line}\ndata: ${sets.train.name} (${sets.train.count}) / ${sets.test.name} (${sets.test.count}); model: ${config.modelName}, latent ${config.model.latent}; run folder: ${dir}`);
    if (sets.sequences) {
      if (json) console.log(JSON.stringify({ type: 'sequences', summary: sets.sequences.summary, report: sets.sequences.report, filtered: sets.sequences.filtered }));
      else console.log(sets.sequences.summary);
      writeVocabulary(dir, sets.sequences.vocab);
    }
    writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    writeFileAtomic(join(dir, 'metrics.jsonl'), '');
    if (r.autotune) await autotune(gpu.device, config, json);
    const trainer = new Trainer(gpu.device, trainerConfig(config), sets.train, sets.test, { deviceFactory: newDevice });
    try {
      return await runTraining(trainer, dir, sets, [], json, writer, gpuReady);
    } finally {
      trainer.destroy();
      gpu.device.destroy();
    }
  });
}

/** Reads a run folder's config.json. */
export function readRunConfig(dir: string): RunConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new UsageError(`${dir}: no config.json; expected a run folder written by \`webgpu-vae train\``);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseRunConfig(raw, path);
}

/**
 * The rows of metrics.jsonl up to the checkpoint's epoch. A row written after
 * the last checkpoint (the process was killed between the two) or a line cut
 * off is dropped from the file, so that the resumed run writes each epoch's
 * row once.
 */
function metricsUpTo(dir: string, epoch: number): EpochPoint[] {
  const path = join(dir, 'metrics.jsonl');
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  const kept: (EpochPoint & { type?: string })[] = [];
  for (const [i, l] of lines.entries()) {
    let row: EpochPoint & { type?: string };
    try {
      row = JSON.parse(l) as EpochPoint & { type?: string };
    } catch (e) {
      if (i === lines.length - 1) break; // the last line, cut off while it was written
      throw new Error(`${path}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
    }
    // Rows with a type (`eval --sample-quality` appends {"type": "sample-quality", …}) stay in the file but are not epochs.
    if (row.type !== undefined || row.epoch <= epoch) kept.push(row);
  }
  if (kept.length !== lines.length) writeFileAtomic(path, kept.map((row) => `${JSON.stringify(row)}\n`).join(''));
  return kept.filter((row) => row.type === undefined);
}

export async function resumeCommand(argv: readonly string[]): Promise<number> {
  const p = parse('resume', RESUME_OPTIONS, argv);
  if (flag(p, 'help')) {
    console.log(helpText('resume', '<run> [options]', 'Continues a run from its last checkpoint (model, optimizer state and position in the epoch).', RESUME_OPTIONS));
    return 0;
  }
  const [dir] = positionals('resume', p, ['run']);
  const json = flag(p, 'json');
  readRunConfig(dir!); // a run folder, before taking its lock
  return withRunLock(dir!, 'resume', async (writer) => {
    const saved = readRunConfig(dir!);
    const config: RunConfig = { ...saved, epochs: int(p, 'epochs', saved.epochs), onNan: choice(p, 'on-nan', ['skip', 'stop'] as const, saved.onNan ?? 'skip') };
    const sets = await runData(config, dir!);
    const { gpu, line, reason } = await openGpu();
    const gpuReady = performance.now();
    console.log(json ? JSON.stringify({ type: 'adapter', adapter: gpu.summary, reason }) : line);
    if (flag(p, 'autotune')) await autotune(gpu.device, config, json);
    const trainer = new Trainer(gpu.device, trainerConfig(config), sets.train, sets.test, { deviceFactory: newDevice });
    try {
      const s = trainer.session;
      const ck = loadCheckpoint(dir!, config.model, s.stateNames, s.layout.savedFloats);
      const pr = ck.progress;
      const sums = pr.epochSums ? { recon: pr.epochSums.recon, kl: pr.epochSums.kl, objective: pr.epochSums.objective, count: pr.epochSums.count } : { recon: 0, kl: 0, objective: 0, count: 0 };
      trainer.restore({ params: ck.params, optimizer: ck.state.blocks, step: pr.step, skips: pr.skips ?? 0, epoch: pr.epoch, stepInEpoch: pr.stepInEpoch, sums });
      if (trainer.epoch >= config.epochs) {
        console.log(`${dir}: already trained for ${trainer.epoch} epochs; pass --epochs N to train further`);
        return 0;
      }
      const history = metricsUpTo(dir!, trainer.epoch);
      writeFileAtomic(join(dir!, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
      if (!json) console.log(`resuming ${dir} at epoch ${trainer.epoch + 1}, step ${s.step}`);
      return await runTraining(trainer, dir!, sets, history, json, writer, gpuReady);
    } finally {
      trainer.destroy();
      gpu.device.destroy();
    }
  });
}
