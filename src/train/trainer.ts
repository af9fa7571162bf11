/**
 * The training loop: epochs of shuffled batches gathered on the GPU, one
 * submit per step, β and learning-rate schedules, loss terms accumulated on
 * the GPU and read back every `logEvery` steps (without draining the queue:
 * the next window's steps are submitted before a window's numbers are
 * awaited), an evaluation of the test set after each epoch, and events for
 * progress bars, logs and checkpoints.
 */
import { inputSize, permutation, validateDataset, type Dataset } from '../data/dataset.ts';
import { Inference } from '../eval/inference.ts';
import { gpuWait } from '../gpu/wait.ts';
import type { ModelSpec } from '../model/spec.ts';
import { checkObjectiveSettings, parseObjective, type Objective } from '../graph/objective.ts';
import type { ElboStats } from '../graph/ops/elbo.ts';
import { klWeight, learningRate, type KlSchedule, type LrSchedule } from './schedules.ts';
import { DeviceLostError, NonFiniteError, type LossSums, type NonFiniteEvent, type TrainEvent, type TrainingState } from './events.ts';
import { initParams, TrainingSession, WINDOW_SLOTS, type NonFiniteSteps, type OptimizerSettings, type StepKnobs, type WindowRead } from './session.ts';

export * from './events.ts';

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
  /** On an update skipped for a non-finite gradient: report it and continue (default), or report it and stop with NonFiniteError. */
  readonly onNonFinite?: 'skip' | 'stop';
  /** 'elbo' (default), 'iwae:K' (the importance-weighted bound of K samples per input) or 'iwae-dreg:K' (with the DReG encoder gradient). */
  readonly objective?: string;
}

export interface TrainerOptions {
  /** Gives a new device when the current one is lost; without it a lost device ends the run with DeviceLostError. */
  readonly deviceFactory?: () => Promise<GPUDevice>;
  /** Steps between host-side snapshots of the parameters and optimizer state, taken at statistics reads (default 200; also at every epoch's end) when a deviceFactory is given. */
  readonly snapshotEvery?: number;
  /** Device losses recovered from in one Trainer before giving up (default 3). */
  readonly maxRecoveries?: number;
  /**
   * Statistics windows whose read may still be pending while the next
   * window's steps are submitted: 1 (default) keeps the GPU's queue fed while
   * a window's numbers come back; 0 waits for each window before the next
   * step (the queue drains at every window; onNonFinite 'stop' always runs
   * this way, so that training stops at the window that saw the skip). The
   * events are the same either way.
   */
  readonly windowsInFlight?: 0 | 1;
}

/** A statistics window queued and not yet reported. */
interface PendingWindow {
  readonly read: Promise<{ window: WindowRead; at: number }>;
  readonly step: number;
  readonly stepInEpoch: number;
  readonly steps: number;
  readonly knobs: StepKnobs;
}

type Sums = { -readonly [K in keyof LossSums]: LossSums[K] };
const zeroSums = (): Sums => ({ recon: 0, kl: 0, objective: 0, count: 0 });

/** Adds a window's statistics to an epoch's sums. */
function addSums(sums: Sums, st: ElboStats): void {
  sums.recon += st.recon;
  sums.kl += st.kl;
  sums.objective += st.loss;
  sums.count += st.count;
}

/** Binarizes bytes by a 0.5 threshold (static binarization). */
export function binarizeStatic(ds: Dataset): Dataset {
  const data = ds.data instanceof Uint8Array ? ds.data.map((v) => (v >= 128 ? 255 : 0)) : ds.data.map((v) => (v >= 0.5 ? 1 : 0));
  return { ...ds, data };
}

export class Trainer {
  /** Completed epochs. */
  epoch = 0;
  /** Steps already done in the current (unfinished) epoch, when resuming mid-epoch. */
  stepInEpoch = 0;
  private readonly train: Dataset;
  private readonly test: Dataset | null;
  private gpu!: { device: GPUDevice; session: TrainingSession; inference: Inference };
  /** Set when the current device's `lost` promise resolves. */
  private lostInfo: { reason: string; message: string } | null = null;
  private snapshotState: TrainingState | null = null;
  private sums: Sums = zeroSums();
  private recoveries = 0;
  /** The last step whose statistics were read (or restored): where a lost device is reported. */
  private readStep = 0;
  /** Statistics windows queued and not yet reported, oldest first. */
  private readonly pending: PendingWindow[] = [];
  /** When the first step this trainer ran finished on the GPU (performance.now() milliseconds; NaN if the wait failed); null before it is submitted. */
  firstStepDone: Promise<number> | null = null;
  /** Devices made by the factory, destroyed with the trainer. */
  private readonly ownedDevices: GPUDevice[] = [];
  /** The training objective (config.objective parsed). */
  readonly objective: Objective;

  constructor(device: GPUDevice, readonly config: TrainerConfig, train: Dataset, test: Dataset | null, readonly options: TrainerOptions = {}) {
    const c = config;
    if (!Number.isInteger(c.epochs) || c.epochs <= 0) throw new Error(`epochs: expected a positive integer, got ${c.epochs}`);
    if (!Number.isInteger(c.batch) || c.batch <= 0) throw new Error(`batch: expected a positive integer, got ${c.batch}`);
    if (!(['adam', 'adamw', 'sgd'] as const).includes(c.optimizer.type)) throw new Error(`optimizer: unknown optimizer ${JSON.stringify(c.optimizer.type)}; expected adam, adamw or sgd`);
    if (!Number.isFinite(c.optimizer.lr) || c.optimizer.lr < 0) throw new Error(`lr: expected a finite number ≥ 0, got ${c.optimizer.lr}`);
    if (!(['none', 'static', 'dynamic'] as const).includes(c.binarize)) throw new Error(`binarize: unknown mode ${JSON.stringify(c.binarize)}; expected none, static or dynamic`);
    if (!Number.isInteger(c.logEvery) || c.logEvery <= 0) throw new Error(`logEvery: expected a positive integer, got ${c.logEvery}`);
    if (c.onNonFinite !== undefined && c.onNonFinite !== 'skip' && c.onNonFinite !== 'stop') throw new Error(`onNonFinite: got ${JSON.stringify(c.onNonFinite)}; expected skip or stop`);
    this.objective = parseObjective(c.objective ?? 'elbo');
    checkObjectiveSettings(this.objective, { beta: c.beta, klScheduleConstant: c.klSchedule.type === 'constant', freeBits: c.freeBits, latentL2: c.latentL2, autoencoder: !!c.spec.autoencoder });
    const every = options.snapshotEvery ?? 200;
    if (!Number.isInteger(every) || every <= 0) throw new Error(`snapshotEvery: expected a positive integer, got ${every}`);
    const ahead = options.windowsInFlight ?? 1;
    if (!Number.isInteger(ahead) || ahead < 0 || ahead >= WINDOW_SLOTS) throw new Error(`windowsInFlight: expected 0 or ${WINDOW_SLOTS - 1}, got ${ahead}`);
    validateDataset(train, { unitRange: c.spec.likelihood.type === 'bernoulli' });
    if (test) validateDataset(test, { unitRange: c.spec.likelihood.type === 'bernoulli' });
    if (train.count < c.batch) throw new Error(`${train.name}: ${train.count} samples is fewer than the batch size ${c.batch}; use a smaller --batch`);
    const D = c.spec.input.reduce((a, b) => a * b, 1);
    if (inputSize(train) !== D) throw new Error(`${train.name}: samples of shape [${train.shape.join(', ')}] do not fit the model input [${c.spec.input.join(', ')}]`);
    this.train = c.binarize === 'static' ? binarizeStatic(train) : train;
    this.test = test && (c.binarize === 'none' ? test : binarizeStatic(test));
    this.build(device);
    this.session.setParams(initParams(this.session.graph, c.seed));
  }

  /** Compiles the training step and the inference programs on `device` and attaches the data. */
  private build(device: GPUDevice): void {
    const c = this.config;
    const session = new TrainingSession(device, {
      spec: c.spec,
      batch: c.batch,
      optimizer: c.optimizer,
      loss: { beta: c.beta, freeBits: c.freeBits, latentL2: c.latentL2, seed: c.seed, objective: this.objective },
      dynamicBinarize: c.binarize === 'dynamic',
    });
    try {
      session.attachData(this.train);
      const inference = new Inference(device, c.spec, session.params, Math.min(500, Math.max(c.batch, 64)));
      this.gpu = { device, session, inference };
    } catch (e) {
      session.destroy();
      throw e;
    }
    this.lostInfo = null;
    void device.lost.then((info) => {
      if (this.gpu?.device === device) this.lostInfo = { reason: info.reason ?? 'unknown', message: info.message };
    });
  }

  /** The current device (a new one after a recovered loss). */
  get device(): GPUDevice {
    return this.gpu.device;
  }

  get session(): TrainingSession {
    return this.gpu.session;
  }

  get inference(): Inference {
    return this.gpu.inference;
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
   * or until `signal` is aborted: the steps already submitted finish (at
   * most two windows of `logEvery`), and the loop returns after their
   * windows' events. Returns whether all epochs completed. A lost
   * device is replaced through `options.deviceFactory` and training continues
   * from the last host-side snapshot (a 'device-lost' event says so).
   */
  async run(onEvent: (e: TrainEvent) => void | Promise<void>, signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      try {
        if (this.recoverable && this.snapshotState?.step !== this.session.step) this.snapshotState = await this.snapshot();
        while (this.epoch < this.config.epochs) {
          if (!(await this.runEpoch(onEvent, signal))) return false;
        }
        return true;
      } catch (e) {
        if (!(await this.isDeviceLoss(e))) {
          await this.settlePending();
          throw e;
        }
        await this.recover(onEvent);
      }
    }
  }

  private async runEpoch(onEvent: (e: TrainEvent) => void | Promise<void>, signal?: AbortSignal): Promise<boolean> {
    const c = this.config;
    const S = this.stepsPerEpoch;
    const s = this.session;
    const epoch = this.epoch + 1;
    const t0 = performance.now();
    s.setOrder(permutation(this.train.count, (c.seed * 7919 + epoch) >>> 0));
    s.program.resetStats();
    let windowSteps = 0;
    let knobs = this.knobs(s.step);
    const first = this.stepInEpoch;
    // A window's read is queued behind its steps (clearing the statistics after its copy) and awaited
    // once the next window's steps are queued too: the GPU has work while the numbers come back.
    const ahead = c.onNonFinite === 'stop' ? 0 : (this.options.windowsInFlight ?? 1);
    const pending = this.pending;
    pending.length = 0;
    const last = { at: t0 };
    const report = async (keep: number) => {
      while (pending.length > keep) await this.reportWindow(pending.shift()!, epoch, last, onEvent);
    };
    for (let i = first; i < S; i++) {
      // An abort is honoured between statistics windows, once the windows queued are reported, so a
      // run continued from here logs the same windows as one never stopped.
      if (signal?.aborted && windowSteps === 0) {
        await report(0);
        return false;
      }
      if (this.lostInfo) throw new DeviceLostError(`GPU device lost (${this.lostInfo.reason})`);
      knobs = this.knobs(s.step);
      s.runStep(knobs, i);
      this.firstStepDone ??= gpuWait(() => this.device.queue.onSubmittedWorkDone()).then(() => performance.now(), () => NaN);
      this.stepInEpoch = i + 1;
      windowSteps++;
      if (windowSteps === c.logEvery || i === S - 1) {
        const read = s.queueWindow({ reset: true }).then((window) => ({ window, at: performance.now() }));
        read.catch(() => {}); // awaited by report; a run ended by a lost device may leave it unawaited
        pending.push({ read, step: s.step, stepInEpoch: i + 1, steps: windowSteps, knobs });
        await report(i === S - 1 ? 0 : ahead);
        if (this.recoverable && s.step - this.snapshotState!.step >= (this.options.snapshotEvery ?? 200) && i < S - 1) {
          await report(0);
          this.snapshotState = await this.snapshot();
        }
        windowSteps = 0;
      }
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const sums = this.sums;
    const n = Math.max(1, sums.count);
    const test = this.test ? await this.inference.evaluate(this.test, c.seed + epoch) : null;
    const ctl = await s.readControl();
    this.epoch = epoch;
    this.stepInEpoch = 0;
    this.sums = zeroSums();
    if (this.recoverable) this.snapshotState = await this.snapshot();
    await onEvent({
      type: 'epoch', epoch, step: s.step, beta: knobs.beta, lr: knobs.lr,
      train: { loss: (sums.recon + sums.kl) / n, recon: sums.recon / n, kl: sums.kl / n, objective: sums.objective / n },
      test, samplesPerSecond: ((S - first) * c.batch) / trainSeconds, seconds: (performance.now() - t0) / 1000, skippedSteps: ctl.skips,
    });
    return true;
  }

  /** Awaits a queued window and reports it: its step event, then what it says of skipped updates. */
  private async reportWindow(w: PendingWindow, epoch: number, last: { at: number }, onEvent: (e: TrainEvent) => void | Promise<void>): Promise<void> {
    const c = this.config;
    const { window: { stats: st, klPerDim: kd, nonFinite }, at } = await w.read;
    // A device lost in an earlier window's handler: nothing read after it is reported.
    if (this.lostInfo) throw new DeviceLostError(`GPU device lost (${this.lostInfo.reason})`);
    const klPerDim = Array.from(kd);
    const n = Math.max(1, st.count);
    addSums(this.sums, st);
    this.readStep = w.step;
    // The rate of a window: its samples over the time since the window before it came back from the GPU.
    const seconds = Math.max(1e-3, at - last.at) / 1000;
    last.at = at;
    await onEvent({
      type: 'step', step: w.step, epoch, stepInEpoch: w.stepInEpoch, stepsPerEpoch: this.stepsPerEpoch, totalSteps: this.totalSteps,
      beta: w.knobs.beta, lr: w.knobs.lr, loss: (st.recon + st.kl) / n, recon: st.recon / n, kl: st.kl / n, objective: st.loss / n, klPerDim,
      samplesPerSecond: (w.steps * c.batch) / seconds,
    });
    if (nonFinite) await this.reportNonFinite(nonFinite, onEvent);
  }

  /**
   * After an error that is not a device loss (an event handler threw): the
   * windows queued and not reported are added to the epoch's sums without
   * events, so the position (every step submitted) and the sums agree.
   */
  private async settlePending(): Promise<void> {
    for (const w of this.pending.splice(0)) {
      const r = await w.read.catch(() => null);
      if (!r) continue;
      addSums(this.sums, r.window.stats);
      this.readStep = w.step;
    }
  }

  private async reportNonFinite(r: NonFiniteSteps, onEvent: (e: TrainEvent) => void | Promise<void>): Promise<void> {
    const stop = this.config.onNonFinite === 'stop';
    const where = r.tensor === null ? 'the gradient norm overflowed (every element finite)' : `the gradient of '${r.tensor}' (element ${r.element}) is NaN or infinite`;
    const range = r.skipped > 1 ? `; ${r.skipped} updates skipped in steps ${r.firstStep}–${r.lastStep}` : '';
    const message = `step ${r.firstStep}: ${where}; the update was skipped${range}${stop ? '; training stopped (on non-finite: stop)' : ''}`;
    const event: NonFiniteEvent = { type: 'nonfinite', step: r.firstStep, lastStep: r.lastStep, skipped: r.skipped, tensor: r.tensor, element: r.element, action: stop ? 'stop' : 'continue', message };
    await onEvent(event);
    if (stop) throw new NonFiniteError(message, event);
  }

  /** Snapshots are taken only when a lost device can be replaced (a device factory was given). */
  private get recoverable(): boolean {
    return this.options.deviceFactory !== undefined;
  }

  /**
   * Copies the parameters, the optimizer state and the loop's position to
   * the host: the position of every step submitted, which from a step
   * event's handler may be a window past the event's (the windows queued and
   * not yet reported are added to the epoch's sums, in the order the loop
   * adds them). Call it between steps (not while `run` is recording one).
   */
  async snapshot(): Promise<TrainingState> {
    const s = this.session;
    const step = s.step, epoch = this.epoch, stepInEpoch = this.stepInEpoch, sums = { ...this.sums };
    const [{ params, optimizer, skips }, ...queued] = await Promise.all([s.readTrainingBlocks(), ...this.pending.map((w) => w.read)]);
    for (const q of queued) addSums(sums, q.window.stats);
    return { params, optimizer, skips, step, epoch, stepInEpoch, sums };
  }

  /** Continues from `state`: parameters, optimizer state, skipped updates, position and the epoch's loss sums. */
  restore(state: TrainingState): void {
    const s = this.session;
    s.setParams(state.params);
    s.setOptimizerState(state.optimizer, state.step);
    s.restoreSkipCount(state.skips);
    this.epoch = state.epoch;
    this.stepInEpoch = state.stepInEpoch;
    this.readStep = state.step;
    this.sums = { ...state.sums };
  }

  /** Whether `e` came from a lost device (waiting briefly for the device's `lost` promise to settle). */
  private async isDeviceLoss(e: unknown): Promise<boolean> {
    if (e instanceof NonFiniteError) return false;
    if (this.lostInfo) return true;
    const device = this.device;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([device.lost, new Promise((r) => (timer = setTimeout(r, 500)))]);
    clearTimeout(timer);
    await Promise.resolve();
    return this.lostInfo !== null;
  }

  /** Replaces the lost device, recompiles, restores the last snapshot and reports it. */
  private async recover(onEvent: (e: TrainEvent) => void | Promise<void>): Promise<void> {
    const info = this.lostInfo ?? { reason: 'unknown', message: '' };
    const lostAt = this.readStep;
    const snap = this.snapshotState;
    const what = `the GPU device was lost at step ${lostAt} (${info.reason}${info.message ? `: ${info.message}` : ''})`;
    if (!this.options.deviceFactory) throw new DeviceLostError(`${what}; no device factory to continue on a new device`);
    if (!snap) throw new DeviceLostError(`${what} before the first snapshot of the parameters; nothing to continue from`);
    if (this.recoveries >= (this.options.maxRecoveries ?? 3)) throw new DeviceLostError(`${what}; giving up after ${this.recoveries} recoveries`);
    this.recoveries++;
    this.pending.length = 0;
    const old = this.gpu;
    old.inference.destroy();
    old.session.destroy();
    let device: GPUDevice;
    try {
      device = await this.options.deviceFactory();
    } catch (e) {
      throw new DeviceLostError(`${what}; no new device: ${(e as Error).message}`);
    }
    this.ownedDevices.push(device);
    this.build(device);
    this.restore(snap);
    await onEvent({ type: 'device-lost', reason: info.reason, message: info.message, step: lostAt, restoredStep: snap.step, epoch: snap.epoch, recovery: this.recoveries });
  }

  destroy(): void {
    this.inference.destroy();
    this.session.destroy();
    for (const d of this.ownedDevices) d.destroy();
    this.ownedDevices.length = 0;
  }
}
