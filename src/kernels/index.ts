/**
 * The standalone kernels: each takes the caller's GPUDevice and buffers and
 * returns KernelCall(s) to record into the caller's command encoder.
 */
export { encodeCalls, submitCalls, grid1d, placeholderBuffer, type BufferArg, type KernelCall } from './kernel.ts';
export { ACTIVATIONS, type Activation } from './activation-codes.ts';
export { matmul, matmulBackward, type MatmulOptions, type MatmulBuffers } from './matmul.ts';
export { conv2d, conv2dBackward, conv2dOutputShape, type Conv2dOptions } from './conv2d.ts';
export { convTranspose2d, convTranspose2dBackward, convTranspose2dOutputShape, type ConvTranspose2dOptions } from './conv_transpose2d.ts';
export { activation, activationBackward } from './activation.ts';
export { reparameterize, reparameterizeBackward, randomNormal, philoxRaw } from './reparameterize.ts';
export { elboRecon, elboKl, latentBackward, ELBO_STATS, ELBO_STATS_SIZE, LIKELIHOODS, type Likelihood } from './elbo.ts';
export { sumAxes, sumSquares, sumSquaresPartials, fill } from './reduce.ts';
export { adam, sgd, clipScale, clipGradNorm, GRAD_CTL_LENGTH, type OptimizerCall } from './optim.ts';
export { gather, packBytes } from './data.ts';
export { iwSample, iwAccumulate } from './iw.ts';
export { requestGpu, type GpuHandle, WebGPUUnavailableError } from '../gpu/device.ts';
export { createBuffer, destroyBuffer, uploadF32, uploadU32, readF32, readU32, bufferStats } from '../gpu/buffers.ts';
