/**
 * webgpu-vae: variational autoencoders trained and run on the GPU with WebGPU.
 * The trainer API; standalone kernels are at `webgpu-vae/kernels`.
 */
export { requestGpu, type GpuHandle, WebGPUUnavailableError } from './gpu/device.ts';
export { mlpPreset, convPreset, parseModelSpec, ModelSpecError, type ModelSpec, type LayerSpec, type LikelihoodSpec } from './model/spec.ts';
export { TrainingSession, initParams, type OptimizerSettings, type SessionOptions, type StateDict } from './train/session.ts';
export {
  Trainer, NonFiniteError, DeviceLostError,
  type TrainerConfig, type TrainerOptions, type TrainingState, type TrainEvent, type StepEvent, type EpochEvent, type NonFiniteEvent, type DeviceLostEvent,
} from './train/trainer.ts';
export { ModelTooLargeError, checkPlanFits } from './graph/limits.ts';
export { parseKlSchedule, parseLrSchedule, klWeight, learningRate } from './train/schedules.ts';
export { Inference, type DatasetEvaluation } from './eval/inference.ts';
export { iwNll, iwLogLikelihood } from './eval/iw.ts';
export { readSafetensors, writeSafetensors } from './io/safetensors.ts';
export type { Dataset } from './data/dataset.ts';
export { encodeModelFile, decodeModelFile, ModelFileError, SPEC_METADATA_KEY } from './io/model-file.ts';
export { ScheduleError, type KlSchedule, type LrSchedule } from './train/schedules.ts';
export { parseObjective, checkObjectiveSettings, ObjectiveError, type Objective } from './graph/objective.ts';
export { bufferStats, type BufferStats } from './gpu/buffers.ts';
export { releaseWhenDone } from './gpu/release.ts';
