/** `webgpu-vae train` and `webgpu-vae resume`: training runs that write a run folder. */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { resolveDataset } from '../data/index.ts';
import { subset, type Dataset } from '../data/dataset.ts';
import { requestGpu } from '../gpu/device.ts';
import { gpuWait } from '../gpu/wait.ts';
import { loadOptimizer, loadParams, saveCheckpoint } from '../io/checkpoint.ts';
import { writeFileAtomic } from '../io/files.ts';
import { tuneForTraining } from '../train/session.ts';
import { NonFiniteError, Trainer, type DeviceLostEvent, type EpochEvent, type NonFiniteEvent, type TrainEvent } from '../train/trainer.ts';
import { likelihoodOf, modelFor, parseRunConfig, trainerConfig, type RunConfig } from './config.ts';
import { choice, flag, helpText, int, num, parse, positionals, str, UsageError, type OptionSpec } from './options.ts';
import { writePictures, type EpochPoint } from './pictures.ts';

export const TRAIN_OPTIONS: OptionSpec = {
  dataset: { type: 'string', help: 'mnist, fashion-mnist, or a path (PNG folder, .npy, .csv, IDX)', default: 'mnist' },
  model: { type: 'string', help: 'mlp, conv, or a model JSON file', default: 'mlp' },
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
  'lr-schedule': { type: 'string', help: 'constant | cosine[:<warmup>[:<min>]] | step:<every>:<gamma>', default: 'constant' },
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
  'on-nan': { type: 'string', help: 'when a gradient holds NaN/Inf (the update is always skipped): skip (report and go on) or stop', default: 'skip' },
  autotune: { type: 'boolean', help: 'time the matmul kernel variants on this model\'s products before compiling and use the fastest (a few seconds)' },
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
  const t = await tuneForTraining(device, config.model, config.batch, json ? undefined : (l) => console.log(l));
  for (const e of json ? t.entries : []) say({ type: 'autotune', shape: e.key, ms: e.ms, rejected: e.rejected, chosen: e.chosen }, '');
  say({ type: 'autotune-choices', timing: t.timing, byClass: t.byClass }, `matmul choices (${t.timing}): ${Object.entries(t.byClass).map(([c, v]) => `${c} -> ${v}`).join(', ')}`);
}

/** The run configuration from `train`'s options and the data's sample shape. */
export async function configFromOptions(argv: readonly string[]): Promise<{ config: RunConfig; out: string | null; json: boolean; autotune: boolean; sets: { train: Dataset; test: Dataset } } | 'help'> {
  const p = parse('train', TRAIN_OPTIONS, argv);
  if (flag(p, 'help')) return 'help';
  positionals('train', p, []);
  const modelName = str(p, 'model', 'mlp');
  const likelihood = likelihoodOf(choice(p, 'likelihood', ['bernoulli', 'gaussian', 'categorical'] as const, 'bernoulli'), p.values.classes === undefined ? undefined : int(p, 'classes', 0, 2));
  const dataset = str(p, 'dataset', 'mnist');
  const trainClasses = typeof p.values['train-classes'] === 'string' ? p.values['train-classes'].split(',').map((t) => {
    const v = Number(t.trim());
    if (t.trim() === '' || !Number.isInteger(v) || v < 0) throw new UsageError(`--train-classes: ${JSON.stringify(t)} is not a label; expected comma-separated non-negative integers`);
    return v;
  }) : null;
  const sets = await loadSets(dataset, likelihood.type === 'bernoulli', trainClasses);
  const { train } = sets;
  const json = modelName === 'mlp' || modelName === 'conv' ? null : readText(modelName, '--model');
  const latent = p.values.latent === undefined ? undefined : int(p, 'latent', 0, 1);
  const hidden = p.values.hidden === undefined ? undefined : int(p, 'hidden', 0, 1);
  const model = modelFor(modelName, json, train.shape, { ...(latent !== undefined ? { latent } : {}), ...(hidden !== undefined ? { hidden } : {}), autoencoder: flag(p, 'autoencoder'), likelihood });
  const config: RunConfig = {
    version: 1, dataset, modelName, model,
    batch: int(p, 'batch', 128), epochs: int(p, 'epochs', 3),
    optimizer: choice(p, 'optimizer', ['adam', 'adamw', 'sgd'] as const, 'adam'),
    lr: num(p, 'lr', 1e-3, 0), weightDecay: num(p, 'weight-decay', 0, 0), clipNorm: num(p, 'clip-norm', 0, 0),
    beta: num(p, 'beta', 1, 0), klSchedule: str(p, 'kl-schedule', 'constant'), lrSchedule: str(p, 'lr-schedule', 'constant'),
    freeBits: num(p, 'free-bits', 0, 0), latentL2: num(p, 'latent-l2', 0, 0),
    binarize: choice(p, 'binarize', ['none', 'static', 'dynamic'] as const, 'none'),
    seed: int(p, 'seed', 1, 0, 0xffffffff), logEvery: int(p, 'log-every', 10), trainClasses,
    onNan: choice(p, 'on-nan', ['skip', 'stop'] as const, 'skip'),
  };
  trainerConfig(config); // validates the schedule strings
  return { config, out: typeof p.values.out === 'string' ? p.values.out : null, json: flag(p, 'json'), autotune: flag(p, 'autotune'), sets };
}

function readText(path: string, what: string): string {
  if (!existsSync(path)) throw new UsageError(`${what}: ${path}: no such file (expected mlp, conv or a model JSON file)`);
  return readFileSync(path, 'utf8');
}

/** The run's data; with `trainClasses`, the training set keeps only those labels (the test set is whole). */
export async function loadSets(dataset: string, unitRange: boolean, trainClasses: readonly number[] | null = null): Promise<{ train: Dataset; test: Dataset }> {
  const sets = await resolveDataset(dataset, { unitRange });
  if (!trainClasses) return sets;
  const labels = sets.train.labels;
  if (!labels) throw new UsageError(`--train-classes: ${sets.train.name} has no labels`);
  const keep = new Set(trainClasses);
  const idx = Uint32Array.from(Array.from(labels.keys()).filter((i) => keep.has(labels[i]!)));
  if (idx.length === 0) throw new UsageError(`--train-classes ${trainClasses.join(',')}: no training sample has these labels`);
  return { train: subset(sets.train, idx, `${sets.train.name}[${trainClasses.join(',')}]`), test: sets.test };
}

function defaultOut(c: RunConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const ds = c.dataset.replace(/[^\w.-]+/g, '_').slice(-40);
  return join('runs', `${stamp}-${c.modelName === 'mlp' || c.modelName === 'conv' ? c.modelName : 'model'}-${ds}`);
}

interface Reporter {
  event(e: TrainEvent): void;
  message(s: string): void;
  stop(): void;
}

function reporter(json: boolean, epochs: number): Reporter {
  if (json) {
    return { event: (e) => console.log(JSON.stringify(e.type === 'device-lost' ? { ...e, text: describeEvent(e) } : e)), message: (s) => console.log(JSON.stringify({ type: 'message', message: s })), stop() {} };
  }
  const bar = new cliProgress.SingleBar({
    format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | loss {loss} recon {recon} KL {kl} β {beta} | {sps} samples/s | ETA {eta_formatted}',
    barsize: 24, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000, etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    event(e) {
      if (e.type === 'nonfinite' || e.type === 'device-lost') {
        if (started) bar.stop();
        started = false;
        console.log(describeEvent(e));
      } else if (e.type === 'step') {
        const payload = { epoch: e.epoch, epochs, loss: e.loss.toFixed(2), recon: e.recon.toFixed(2), kl: e.kl.toFixed(2), beta: e.beta.toFixed(3), sps: e.samplesPerSecond.toFixed(0) };
        if (!started) {
          bar.start(e.totalSteps, e.step, payload);
          started = true;
        } else bar.update(e.step, payload);
      } else {
        bar.stop();
        started = false;
        const t = e.test ? ` | test loss ${e.test.loss.toFixed(2)} recon ${e.test.recon.toFixed(2)} KL ${e.test.kl.toFixed(2)} active units ${e.test.activeUnits}` : '';
        console.log(`epoch ${e.epoch}: train loss ${e.train.loss.toFixed(2)} recon ${e.train.recon.toFixed(2)} KL ${e.train.kl.toFixed(2)}${t} | ${e.samplesPerSecond.toFixed(0)} samples/s, ${e.seconds.toFixed(1)} s`);
      }
    },
    message: (s) => {
      if (started) bar.stop();
      started = false;
      console.log(s);
    },
    stop: () => bar.stop(),
  };
}

/** One line for the events that interrupt the progress bar. */
function describeEvent(e: NonFiniteEvent | DeviceLostEvent): string {
  if (e.type === 'nonfinite') return `non-finite gradient: ${e.message}`;
  return `GPU device lost at step ${e.step} (${e.reason}${e.message ? `: ${e.message}` : ''}); continuing on a new device from the snapshot at step ${e.restoredStep} (epoch ${e.epoch + 1})`;
}

/** WEBGPU_VAE_FAULT=device-lost@<step>: destroys the device after that step once (to exercise recovery). */
function faultStep(): number | null {
  const m = /^device-lost@(\d+)$/.exec(process.env.WEBGPU_VAE_FAULT ?? '');
  return m ? Number(m[1]) : null;
}

/** A new device for a trainer whose device was lost. */
const newDevice = async () => (await requestGpu({ log: (m) => console.error(m) })).device;

function metricsLine(e: EpochEvent) {
  return {
    epoch: e.epoch, step: e.step, beta: e.beta, lr: e.lr,
    train: e.train, test: e.test && { loss: e.test.loss, recon: e.test.recon, kl: e.test.kl, elbo: e.test.elbo, klPerDim: e.test.klPerDim },
    activeUnits: e.test?.activeUnits ?? null, samplesPerSecond: e.samplesPerSecond, seconds: e.seconds, skippedSteps: e.skippedSteps,
  };
}

async function checkpoint(trainer: Trainer, dir: string): Promise<void> {
  const st = await trainer.snapshot();
  saveCheckpoint(dir, trainer.config.spec, st.params, { type: trainer.config.optimizer.type, blocks: st.optimizer }, st);
}

/** Runs (or continues) training with checkpoints per epoch; SIGINT stops after the current step and saves. */
async function runTraining(trainer: Trainer, dir: string, sets: { test: Dataset }, history: EpochPoint[], json: boolean): Promise<number> {
  const rep = reporter(json, trainer.config.epochs);
  const abort = new AbortController();
  const onSigint = () => {
    rep.message('interrupted: finishing the current step and saving a checkpoint…');
    abort.abort();
  };
  process.once('SIGINT', onSigint);
  let fault = faultStep();
  try {
    const done = await trainer.run(async (e) => {
      rep.event(e);
      if (fault !== null && e.type === 'step' && e.step >= fault) {
        fault = null;
        trainer.device.destroy();
      }
      if (e.type === 'epoch') {
        appendFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify(metricsLine(e))}\n`);
        history.push({ epoch: e.epoch, train: e.train, test: e.test });
        await checkpoint(trainer, dir);
      }
    }, abort.signal);
    if (!done) {
      await gpuWait(() => trainer.device.queue.onSubmittedWorkDone());
      await checkpoint(trainer, dir);
      rep.message(`checkpoint saved at epoch ${trainer.epoch + 1}, step ${trainer.session.step}; continue with: webgpu-vae resume ${dir}`);
      return 130;
    }
    await writePictures(dir, trainer.inference, sets.test, history, trainer.config.seed);
    rep.message(`run folder: ${dir} (model.safetensors, optimizer.safetensors, config.json, metrics.jsonl, samples.png, reconstructions.png, latent.png, interpolation.png, loss.png)`);
    return 0;
  } catch (e) {
    if (e instanceof NonFiniteError) throw new Error(`${e.message}; the last checkpoint in ${dir} is kept (epoch ${trainer.epoch})`);
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
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
  if (existsSync(join(dir, 'model.safetensors'))) throw new UsageError(`--out ${dir} already holds a run; continue it with \`webgpu-vae resume ${dir}\` or choose another folder`);
  const gpu = await requestGpu({ log: (m) => console.error(m) });
  if (!json) console.log(`adapter: ${gpu.summary}\ndata: ${sets.train.name} (${sets.train.count}) / ${sets.test.name} (${sets.test.count}); model: ${config.modelName}, latent ${config.model.latent}; run folder: ${dir}`);
  writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileAtomic(join(dir, 'metrics.jsonl'), '');
  if (r.autotune) await autotune(gpu.device, config, json);
  const trainer = new Trainer(gpu.device, trainerConfig(config), sets.train, sets.test, { deviceFactory: newDevice });
  try {
    return await runTraining(trainer, dir, sets, [], json);
  } finally {
    trainer.destroy();
    gpu.device.destroy();
  }
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

export async function resumeCommand(argv: readonly string[]): Promise<number> {
  const p = parse('resume', RESUME_OPTIONS, argv);
  if (flag(p, 'help')) {
    console.log(helpText('resume', '<run> [options]', 'Continues a run from its last checkpoint (model, optimizer state and position in the epoch).', RESUME_OPTIONS));
    return 0;
  }
  const [dir] = positionals('resume', p, ['run']);
  const saved = readRunConfig(dir!);
  const config: RunConfig = { ...saved, epochs: int(p, 'epochs', saved.epochs), onNan: choice(p, 'on-nan', ['skip', 'stop'] as const, saved.onNan ?? 'skip') };
  const { params } = loadParams(join(dir!, 'model.safetensors'), config.model);
  const sets = await loadSets(config.dataset, config.model.likelihood.type === 'bernoulli', config.trainClasses);
  const gpu = await requestGpu({ log: (m) => console.error(m) });
  if (flag(p, 'autotune')) await autotune(gpu.device, config, flag(p, 'json'));
  const trainer = new Trainer(gpu.device, trainerConfig(config), sets.train, sets.test, { deviceFactory: newDevice });
  try {
    const s = trainer.session;
    const opt = loadOptimizer(join(dir!, 'optimizer.safetensors'), s.stateNames, s.paramFloats);
    const pr = opt.progress;
    trainer.restore({ params, optimizer: opt.state.blocks, step: pr.step, skips: pr.skips ?? 0, epoch: pr.epoch, stepInEpoch: pr.stepInEpoch, sums: pr.sums ?? { recon: 0, kl: 0, objective: 0, count: 0 } });
    if (trainer.epoch >= config.epochs) {
      console.log(`${dir}: already trained for ${trainer.epoch} epochs; pass --epochs N to train further`);
      return 0;
    }
    // Epoch rows only: other rows (`eval --sample-quality` appends {"type": "sample-quality", …}) carry a type.
    const history: EpochPoint[] = readFileSync(join(dir!, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim())
      .map((l) => JSON.parse(l) as EpochPoint & { type?: string }).filter((r) => r.type === undefined);
    writeFileAtomic(join(dir!, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    if (!flag(p, 'json')) console.log(`resuming ${dir} at epoch ${trainer.epoch + 1}, step ${s.step} (adapter: ${gpu.summary})`);
    return await runTraining(trainer, dir!, sets, history, flag(p, 'json'));
  } finally {
    trainer.destroy();
    gpu.device.destroy();
  }
}
