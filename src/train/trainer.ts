/**
 * The training loop: epochs of shuffled batches gathered on the GPU, one
 * submit per step, β and learning-rate schedules, loss terms accumulated on
 * the GPU and read back every `logEvery` steps, an evaluation of the test set
 * after each epoch, and events for progress bars, logs and checkpoints.
 */
import { permutation, sampleSize, validateDataset, type Dataset } from '../data/dataset.ts';
import { Inference, type DatasetEvaluation } from '../eval/inference.ts';
import type { ModelSpec } from '../model/spec.ts';
import { klWeight, learningRate, type KlSchedule, type LrSchedule } from './schedules.ts';
import { initParams, TrainingSession, type OptimizerSettings } from './session.ts';

export type Binarize = 'none' | 'static' | 'dynamic';

export interface TrainerConfig {
  readonly spec: ModelSpec;
  readonly batch: number;
  readonly epochs: number;
  readonly optimizer: OptimizerSettings;
  /** Target KL weight; the schedule scales it. */
  readonly beta: number;
  readonly klSchedule: KlSchedule;
  readonly lrSchedule: LrSchedule;
  readonly freeBits: number;
  readonly latentL2: number;
  readonly seed: number;
  readonly binarize: Binarize;
  /** Steps between reads of the loss statistics (and step events). */
  readonly logEvery: number;
}

export interface StepEvent {
  readonly type: 'step';
  readonly step: number;
  readonly epoch: number;
  readonly stepInEpoch: number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly beta: number;
  readonly lr: number;
  /** Means over the steps since the last event: negative ELBO (recon + KL), recon, KL, and the objective. */
  readonly loss: number;
  readonly recon: number;
  readonly kl: number;
  readonly objective: number;
  /** KL per latent dimension (batch mean) of the last step. */
  readonly klPerDim: number[];
  readonly samplesPerSecond: number;
}

export interface EpochEvent {
  readonly type: 'epoch';
  readonly epoch: number;
  readonly step: number;
  readonly beta: number;
  readonly lr: number;
  readonly train: { readonly loss: number; readonly recon: number; readonly kl: number; readonly objective: number };
  readonly test: DatasetEvaluation | null;
  readonly samplesPerSecond: number;
  readonly seconds: number;
  /** Optimizer updates skipped so far because the gradient was not finite. */
  readonly skippedSteps: number;
}

export type TrainEvent = StepEvent | EpochEvent;

/** Binarizes bytes by a 0.5 threshold (static binarization). */
export function binarizeStatic(ds: Dataset): Dataset {
  const data = ds.data instanceof Uint8Array ? ds.data.map((v) => (v >= 128 ? 255 : 0)) : ds.data.map((v) => (v >= 0.5 ? 1 : 0));
  return { ...ds, data };
}

export class Trainer {
  readonly session: TrainingSession;
  readonly inference: Inference;
  /** Completed epochs. */
  epoch = 0;
  /** Steps already done in the current (unfinished) epoch, when resuming mid-epoch. */
  stepInEpoch = 0;
  private readonly train: Dataset;
  private readonly test: Dataset | null;

  constructor(readonly device: GPUDevice, readonly config: TrainerConfig, train: Dataset, test: Dataset | null) {
    const c = config;
    if (!Number.isInteger(c.epochs) || c.epochs <= 0) throw new Error(`epochs: expected a positive integer, got ${c.epochs}`);
    if (!Number.isInteger(c.batch) || c.batch <= 0) throw new Error(`batch: expected a positive integer, got ${c.batch}`);
    if (!(['adam', 'adamw', 'sgd'] as const).includes(c.optimizer.type)) throw new Error(`optimizer: unknown optimizer ${JSON.stringify(c.optimizer.type)}; expected adam, adamw or sgd`);
    if (!Number.isFinite(c.optimizer.lr) || c.optimizer.lr < 0) throw new Error(`lr: expected a finite number ≥ 0, got ${c.optimizer.lr}`);
    if (!(['none', 'static', 'dynamic'] as const).includes(c.binarize)) throw new Error(`binarize: unknown mode ${JSON.stringify(c.binarize)}; expected none, static or dynamic`);
    if (!Number.isInteger(c.logEvery) || c.logEvery <= 0) throw new Error(`logEvery: expected a positive integer, got ${c.logEvery}`);
    validateDataset(train, { unitRange: c.spec.likelihood.type === 'bernoulli' });
    if (test) validateDataset(test, { unitRange: c.spec.likelihood.type === 'bernoulli' });
    if (train.count < c.batch) throw new Error(`${train.name}: ${train.count} samples is fewer than the batch size ${c.batch}; use a smaller --batch`);
    const D = c.spec.input.reduce((a, b) => a * b, 1);
    if (sampleSize(train) !== D) throw new Error(`${train.name}: samples of shape [${train.shape.join(', ')}] do not fit the model input [${c.spec.input.join(', ')}]`);
    this.train = c.binarize === 'static' ? binarizeStatic(train) : train;
    this.test = test && (c.binarize === 'none' ? test : binarizeStatic(test));
    this.session = new TrainingSession(device, {
      spec: c.spec,
      batch: c.batch,
      optimizer: c.optimizer,
      loss: { beta: c.beta, freeBits: c.freeBits, latentL2: c.latentL2, seed: c.seed },
      dynamicBinarize: c.binarize === 'dynamic',
    });
    try {
      this.session.setParams(initParams(this.session.graph, c.seed));
      this.session.attachData(this.train);
      this.inference = new Inference(device, c.spec, this.session.params, Math.min(500, Math.max(c.batch, 64)));
    } catch (e) {
      this.session.destroy();
      throw e;
    }
  }

  get stepsPerEpoch(): number {
    return this.session.stepsPerEpoch;
  }

  get totalSteps(): number {
    return this.stepsPerEpoch * this.config.epochs;
  }

  knobs(step: number): { beta: number; lr: number } {
    const c = this.config;
    return { beta: klWeight(c.klSchedule, c.beta, step, this.totalSteps), lr: learningRate(c.lrSchedule, c.optimizer.lr, step, this.totalSteps) };
  }

  /**
   * Trains until `config.epochs` epochs are done (continuing from `this.epoch`),
   * or until `signal` is aborted: the current step finishes and the loop returns
   * after emitting nothing more. Returns whether all epochs completed.
   */
  async run(onEvent: (e: TrainEvent) => void | Promise<void>, signal?: AbortSignal): Promise<boolean> {
    const c = this.config;
    const S = this.stepsPerEpoch;
    const p = this.session.program;
    while (this.epoch < c.epochs) {
      const epoch = this.epoch + 1;
      const t0 = performance.now();
      this.session.setOrder(permutation(this.train.count, (c.seed * 7919 + epoch) >>> 0));
      p.resetStats();
      const sums = { loss: 0, recon: 0, kl: 0, objective: 0, count: 0 };
      let windowStart = performance.now();
      let windowSteps = 0;
      let knobs = this.knobs(this.session.step);
      const first = this.stepInEpoch;
      for (let i = first; i < S; i++) {
        if (signal?.aborted) return false;
        knobs = this.knobs(this.session.step);
        this.session.runStep(knobs, i);
        this.stepInEpoch = i + 1;
        windowSteps++;
        if (windowSteps === c.logEvery || i === S - 1) {
          const st = await p.readStats();
          p.resetStats();
          const klPerDim = Array.from(await p.read(this.session.graph.loss.klDim));
          const n = Math.max(1, st.count);
          sums.recon += st.recon;
          sums.kl += st.kl;
          sums.objective += st.loss;
          sums.count += st.count;
          const now = performance.now();
          await onEvent({
            type: 'step', step: this.session.step, epoch, stepInEpoch: i + 1, stepsPerEpoch: S, totalSteps: this.totalSteps,
            beta: knobs.beta, lr: knobs.lr, loss: (st.recon + st.kl) / n, recon: st.recon / n, kl: st.kl / n, objective: st.loss / n, klPerDim,
            samplesPerSecond: (windowSteps * c.batch) / ((now - windowStart) / 1000),
          });
          windowStart = performance.now();
          windowSteps = 0;
        }
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      const n = Math.max(1, sums.count);
      const test = this.test ? await this.inference.evaluate(this.test, c.seed + epoch) : null;
      const ctl = await this.session.readControl();
      this.epoch = epoch;
      this.stepInEpoch = 0;
      await onEvent({
        type: 'epoch', epoch, step: this.session.step, beta: knobs.beta, lr: knobs.lr,
        train: { loss: (sums.recon + sums.kl) / n, recon: sums.recon / n, kl: sums.kl / n, objective: sums.objective / n },
        test, samplesPerSecond: ((S - first) * c.batch) / trainSeconds, seconds: (performance.now() - t0) / 1000, skippedSteps: ctl.skips,
      });
    }
    return true;
  }

  destroy(): void {
    this.inference.destroy();
    this.session.destroy();
  }
}
