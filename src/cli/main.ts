/**
 * webgpu-vae's command line: train, resume, eval, sample, reconstruct,
 * interpolate, score, fid. Errors print one clear line and exit with status 1
 * (2 for a usage error).
 */
import { fidCommand } from './fid.ts';
import { evalCommand, interpolateCommand, reconstructCommand, sampleCommand, scoreCommand } from './inspect.ts';
import { UsageError } from './options.ts';
import { resumeCommand, trainCommand } from './train.ts';
import { exportCommand } from './export.ts';

const COMMANDS: Record<string, { run: (argv: readonly string[]) => Promise<number>; about: string }> = {
  train: { run: trainCommand, about: 'train a VAE (default: the mlp preset on the embedded MNIST digits) and write a run folder' },
  resume: { run: resumeCommand, about: "continue a run from its last checkpoint" },
  eval: { run: evalCommand, about: 'ELBO, reconstruction, KL, IW-NLL, active units of a run on a test set' },
  sample: { run: sampleCommand, about: 'decode samples from the prior into an image grid' },
  reconstruct: { run: reconstructCommand, about: 'test inputs over their reconstructions' },
  interpolate: { run: interpolateCommand, about: 'decode the line between two test inputs in latent space' },
  score: { run: scoreCommand, about: 'per-sample anomaly scores and the AUROC of telling classes apart' },
  export: { run: exportCommand, about: 'a runnable PyTorch project of a run: model, DistributedDataParallel training, data' },
  fid: { run: fidCommand, about: "Fréchet distance of a .npy of samples to a test set, in the dataset classifier's features" },
};

function usage(): string {
  return [
    'usage: webgpu-vae <command> [options]   (webgpu-vae <command> --help for its options)',
    '',
    'Variational autoencoders trained and run on the GPU with WebGPU (Dawn in Node; SwiftShader when there is no GPU).',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(12)} ${v.about}`),
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage());
    return cmd === undefined ? 2 : 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    console.error(`webgpu-vae: unknown command '${cmd}'; expected one of ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    const err = e as Error;
    console.error(`webgpu-vae ${cmd}: ${err.message}`);
    if (process.env.WEBGPU_VAE_DEBUG) console.error(err.stack);
    return e instanceof UsageError ? 2 : 1;
  }
}
