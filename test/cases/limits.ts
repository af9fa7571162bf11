/**
 * Every pipeline made on the device (by this case's training sessions of the
 * mlp and conv presets with each likelihood, and by every case before it)
 * stays within WebGPU's default limits, read from the reflection at the
 * override constants it was made with: so under each kernel profile, the
 * workgroup sizes the kernels actually choose are checked.
 */
import { pipelinesOf } from '../../src/gpu/pipelines.ts';
import { kernelProfile } from '../../src/gpu/profile.ts';
import { elboWorkgroupSize } from '../../src/kernels/elbo.ts';
import { treeWorkgroupSize } from '../../src/kernels/reduce.ts';
import { convPreset, mlpPreset } from '../../src/model/spec.ts';
import { DEFAULT_PIPELINE_LIMITS, pipelineLimitExcess } from '../../src/shaders/library.ts';
import { TrainingSession } from '../../src/train/session.ts';
import { expect } from '../support/check.ts';
import type { GpuCase } from './types.ts';

export const limitCases: GpuCase[] = [
  {
    name: 'limits: every pipeline made on this device fits the WebGPU default limits at its override constants',
    async run(device) {
      const loss = { beta: 1, freeBits: 0, latentL2: 0, seed: 1 };
      for (const spec of [
        mlpPreset(), mlpPreset({ likelihood: { type: 'gaussian', logSigma: 0 } }), mlpPreset({ likelihood: { type: 'categorical', classes: 4 } }),
        convPreset(), convPreset({ likelihood: { type: 'gaussian', logSigma: 0 } }),
      ]) {
        const s = new TrainingSession(device, { spec, batch: 4, optimizer: { type: 'adam', lr: 1e-3, clipNorm: 1 }, loss, dynamicBinarize: spec.likelihood.type === 'bernoulli' });
        s.destroy();
      }
      const made = pipelinesOf(device);
      const bad = made.map((p) => [p, pipelineLimitExcess(p.entry, p.constants, DEFAULT_PIPELINE_LIMITS)] as const).filter(([, x]) => x.length);
      expect(bad.length === 0, bad.map(([p, x]) => `${p.entry.shader}.wgsl ${p.entry.name} ${JSON.stringify(p.constants)}: ${x.join('; ')}`).join('\n'));
      // The override-sized kernels were made, at the profile's sizes.
      const wgOf = (shader: string, name: string) => made.filter((p) => p.entry.shader === shader && p.entry.name === name);
      const elbo = wgOf('elbo', 'elbo_kl'), tree = wgOf('reduce', 'sum_squares_final');
      expect(elbo.length > 0 && elbo.every((p) => p.constants.WG === elboWorkgroupSize(device)), `elbo_kl pipelines ${JSON.stringify(elbo.map((p) => p.constants))} under the '${kernelProfile(device)}' profile`);
      expect(tree.length > 0 && tree.every((p) => p.constants.TREE_WG === treeWorkgroupSize(device)), `sum_squares_final pipelines ${JSON.stringify(tree.map((p) => p.constants))} under the '${kernelProfile(device)}' profile`);
      const distinct = new Set(made.map((p) => `${p.entry.shader}.${p.entry.name}`)).size;
      expect(distinct >= 15, `pipelines of only ${distinct} entry points were made`);
    },
  },
];
