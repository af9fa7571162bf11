/**
 * What a training run reports and keeps: the events of the loop (steps,
 * epochs, skipped updates, a lost device), the errors that end it, and the
 * state that continues it (Trainer.snapshot / Trainer.restore).
 */
import type { DatasetEvaluation } from '../eval/inference.ts';

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

/** Updates skipped because the gradient was not finite (reported at the next statistics read). */
export interface NonFiniteEvent {
  readonly type: 'nonfinite';
  /** The first skipped step since the last report, and the last. */
  readonly step: number;
  readonly lastStep: number;
  /** Updates skipped since the last report. */
  readonly skipped: number;
  /** The parameter whose gradient held the first NaN/Inf of `step`, and the element (null: finite values whose squares overflowed). */
  readonly tensor: string | null;
  readonly element: number;
  /** What the trainer does next (TrainerConfig.onNonFinite). */
  readonly action: 'continue' | 'stop';
  readonly message: string;
}

/** The GPU device was lost; training goes on from the last snapshot on a new device. */
export interface DeviceLostEvent {
  readonly type: 'device-lost';
  readonly reason: string;
  readonly message: string;
  /** Steps submitted when the loss was noticed. */
  readonly step: number;
  /** The step of the snapshot training continues from (steps after it are repeated). */
  readonly restoredStep: number;
  readonly epoch: number;
  /** Recoveries so far in this run. */
  readonly recovery: number;
}

export type TrainEvent = StepEvent | EpochEvent | NonFiniteEvent | DeviceLostEvent;

/** Training stopped because a gradient was not finite and TrainerConfig.onNonFinite is 'stop'. */
export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
  constructor(message: string, readonly event: NonFiniteEvent) {
    super(message);
  }
}

/** The device was lost and could not be replaced. */
export class DeviceLostError extends Error {
  override readonly name = 'DeviceLostError';
}

/** Sums of the loss statistics over the steps of the unfinished epoch (the epoch's train loss is their mean). */
export interface LossSums {
  readonly recon: number;
  readonly kl: number;
  readonly objective: number;
  /** Steps summed. */
  readonly count: number;
}

/**
 * Everything needed to continue training exactly where it was: host copies
 * of the GPU state (parameters, optimizer state, the count of skipped
 * updates) and the loop's position with the unfinished epoch's loss sums.
 * Taken by Trainer.snapshot and given to Trainer.restore, on the same device
 * or a new one: the trainer's own recovery from a lost device, `resume` from
 * a checkpoint and the studio's recovery all go through it.
 */
export interface TrainingState {
  readonly params: ReadonlyMap<string, Float32Array>;
  /** Optimizer state blocks by name (see TrainingSession.stateNames). */
  readonly optimizer: ReadonlyMap<string, Float32Array>;
  /** Optimizer steps taken. */
  readonly step: number;
  /** Updates skipped so far for a non-finite gradient. */
  readonly skips: number;
  /** Completed epochs, and steps done in the unfinished one. */
  readonly epoch: number;
  readonly stepInEpoch: number;
  readonly sums: LossSums;
}
