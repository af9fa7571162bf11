/**
 * The public API: every name exported by each entry point of the package.
 * test/node/exports.test.ts checks the modules against these lists and that
 * docs/ documents each name; test/browser/package.test.ts checks the installed
 * package's root entry. Adding an export means adding it here and to the docs.
 */

/** `webgpu-vae`: the trainer API. */
export const ROOT_EXPORTS = [
  'DeviceLostError', 'Inference', 'ModelSpecError', 'ModelTooLargeError', 'NonFiniteError', 'Trainer', 'TrainingSession', 'WebGPUUnavailableError',
  'ModelFileError', 'SPEC_METADATA_KEY', 'ScheduleError', 'bufferStats', 'checkPlanFits', 'decodeModelFile', 'encodeModelFile',
  'convPreset', 'initParams', 'iwLogLikelihood', 'iwNll', 'klWeight', 'learningRate', 'mlpPreset',
  'parseKlSchedule', 'parseLrSchedule', 'parseModelSpec', 'readSafetensors', 'releaseWhenDone', 'requestGpu', 'writeSafetensors',
  'parseObjective', 'checkObjectiveSettings', 'ObjectiveError',
] as const;

/** `webgpu-vae/kernels`: the standalone kernels, device and buffer helpers. */
export const KERNEL_EXPORTS = [
  'ACTIVATIONS', 'ADAPTER_PROFILES', 'ELBO_STATS', 'ELBO_STATS_SIZE', 'GRAD_CTL_LENGTH', 'LIKELIHOODS', 'MATMUL_VARIANTS', 'WebGPUUnavailableError',
  'activation', 'activationBackward', 'activationBackwardSum', 'adam', 'add', 'addBackward', 'repeat', 'repeatBackward', 'transpose', 'bufferStats', 'clipGradNorm', 'clipScale',
  'conv2d', 'conv2dBackward', 'conv2dOutputShape', 'convTranspose2d', 'convTranspose2dBackward', 'convTranspose2dOutputShape',
  'concat', 'concatBackward', 'conv1d', 'conv1dBackward', 'conv1dOutputLength', 'upsampleNearest2d', 'upsampleNearest2dBackward',
  'createBuffer', 'destroyBuffer', 'elboKl', 'elboRecon', 'encodeCalls', 'fill', 'gather', 'gpuWait', 'iwAccumulate', 'iwSample', 'kernelProfile',
  'latentBackward', 'matmul', 'matmulBackward', 'matmulCalls', 'matmulTuning', 'matmulVariant', 'packBytes', 'philoxRaw', 'randomNormal',
  'readF32', 'readU32', 'reparameterize', 'reparameterizeBackward', 'requestGpu', 'setKernelProfile', 'sgd', 'submitCalls',
  'groupNorm', 'groupNormBackward', 'layerNorm', 'layerNormBackward', 'NORM_STATS_PER_ROW',
  'sumAxes', 'sumSquares', 'sumSquaresPartials', 'tuneMatmul', 'uploadF32', 'uploadU32',
  'checkTokenIndices', 'embedding', 'embeddingBackward', 'gru', 'gruBackward', 'gruBackwardH0', 'gruRecurrence', 'gruRecurrenceBackward',
] as const;

/** `webgpu-vae/kernels/metadata`: reflection of the WGSL files. */
export const METADATA_EXPORTS = ['kernelMetadata', 'shaderMetadata', 'shaderNames', 'shaderSource'] as const;

/** `webgpu-vae/testing`: the Playwright preset for WebGPU in headless Chromium, and the float64 references (a namespace). */
export const TESTING_EXPORTS = [
  'CHROMIUM_PATH_ENV', 'DEBIAN_CHROMIUM', 'SWIFTSHADER_FLAG', 'WEBGPU_ADAPTER_ENV', 'WEBGPU_CHROMIUM_FLAGS',
  'chromiumExecutable', 'expectClose', 'expectWebGpuAdapter', 'reference', 'serveFolder', 'webgpuLaunchOptions', 'webgpuPreset',
] as const;
