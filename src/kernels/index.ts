/**
 * The standalone kernels (`webgpu-vae/kernels`): each takes the caller's
 * GPUDevice and buffers and returns KernelCall(s) to record into the caller's
 * command encoder. Reference: docs/kernels.md.
 */
export { encodeCalls, submitCalls, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
export { ACTIVATIONS, type Activation } from './activation-codes.ts';
export {
  matmul, matmulCalls, matmulBackward, matmulVariant, MATMUL_VARIANTS,
  type MatmulOptions, type MatmulBuffers, type MatmulGradBuffers, type MatmulShape, type MatmulVariant,
} from './matmul.ts';
export { tuneMatmul, matmulTuning, type MatmulTuning, type MatmulTuningEntry, type TuneOptions } from './autotune.ts';
export {
  conv2d, conv2dBackward, conv2dOutputShape,
  type Conv2dOptions, type Conv2dBuffers, type Conv2dGradBuffers, type Pair, type Shape4,
} from './conv2d.ts';
export {
  convTranspose2d, convTranspose2dBackward, convTranspose2dOutputShape,
  type ConvTranspose2dOptions, type ConvTranspose2dBuffers, type ConvTranspose2dGradBuffers,
} from './conv_transpose2d.ts';
export {
  conv1d, conv1dBackward, conv1dOutputLength,
  type Conv1dOptions, type Conv1dBuffers, type Conv1dGradBuffers,
} from './conv1d.ts';
export { upsampleNearest2d, upsampleNearest2dBackward, type UpsampleNearest2dOptions } from './upsample.ts';
export { concat, concatBackward, type ConcatOptions } from './concat.ts';
export {
  activation, activationBackward,
  type ActivationOptions, type ActivationBackwardOptions, type ActivationBuffers, type ActivationGradBuffers,
} from './activation.ts';
export {
  activationBackwardSum,
  type ActivationBackwardSumOptions, type ActivationBackwardSumBuffers, type ActSumSchedule,
} from './act-sum.ts';
export {
  reparameterize, reparameterizeBackward, randomNormal, philoxRaw,
  type PhiloxKey, type RandomOptions, type ReparameterizeOptions, type ReparameterizeBuffers,
  type ReparameterizeBackwardOptions, type ReparameterizeBackwardBuffers,
} from './reparameterize.ts';
export {
  elboRecon, elboKl, latentBackward, ELBO_STATS, ELBO_STATS_SIZE, LIKELIHOODS,
  type Likelihood, type ElboReconOptions, type ElboReconBuffers, type ElboKlOptions, type ElboKlBuffers,
  type LatentBackwardOptions, type LatentBackwardBuffers,
} from './elbo.ts';
export {
  sumAxes, sumSquares, sumSquaresPartials, fill,
  type SumAxesOptions, type SumAxesBuffers, type SumSquaresOptions, type SumSquaresBuffers, type FillOptions,
} from './reduce.ts';
export {
  adam, sgd, clipScale, clipGradNorm, GRAD_CTL_LENGTH,
  type OptimizerCall, type AdamOptions, type AdamBuffers, type SgdOptions, type SgdBuffers,
  type ClipScaleBuffers, type ClipGradNormBuffers,
} from './optim.ts';
export { gather, packBytes, type GatherOptions, type GatherBuffers } from './data.ts';
export { add, addBackward, type AddOptions } from './add.ts';
export { repeat, repeatBackward, transpose, type RepeatOptions, type TransposeOptions } from './layout.ts';
export {
  groupNorm, groupNormBackward, layerNorm, layerNormBackward, NORM_STATS_PER_ROW,
  type GroupNormOptions, type LayerNormOptions, type NormBuffers, type NormGradBuffers,
} from './norm.ts';
export { iwSample, iwAccumulate, type IwOptions } from './iw.ts';
export {
  embedding, embeddingBackward, checkTokenIndices,
  type EmbeddingOptions, type EmbeddingBackwardOptions, type EmbeddingBuffers, type EmbeddingGradBuffers,
} from './embedding.ts';
export {
  gru, gruBackward, gruRecurrence, gruRecurrenceBackward, gruBackwardH0,
  type GruOptions, type GruRecurrenceOptions, type GruBuffers, type GruGradBuffers, type GruRecurrenceBuffers, type GruRecurrenceGradBuffers,
} from './gru.ts';
export { requestGpu, WebGPUUnavailableError, type GpuHandle, type DeviceOptions } from '../gpu/device.ts';
export { ADAPTER_PROFILES, kernelProfile, setKernelProfile, type AdapterProfile, type KernelProfile } from '../gpu/profile.ts';
export { createBuffer, destroyBuffer, uploadF32, uploadU32, readF32, readU32, bufferStats, type BufferStats } from '../gpu/buffers.ts';
export { gpuWait } from '../gpu/wait.ts';
