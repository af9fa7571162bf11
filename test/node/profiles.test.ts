/**
 * Kernel profiles (src/gpu/profile.ts) end to end: 200 training steps of the
 * mlp and conv presets on real MNIST digits under the `gpu` profile (the
 * kernels a real GPU runs: matmul `direct`, conv `general`, trees of 256,
 * ELBO workgroups of 64) give the losses and parameters of the same run
 * under the `cpu` profile to within float32 summation-order noise; and the
 * profile switch itself: the option, the environment variable, and a name
 * that does not exist, through the API and the command line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { permutation, type Dataset } from '../../src/data/dataset.ts';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { requestGpu } from '../../src/gpu/device.ts';
import { kernelProfile, PROFILE_ENV, type KernelProfile } from '../../src/gpu/profile.ts';
import { convPreset, mlpPreset, type ModelSpec } from '../../src/model/spec.ts';
import { initParams, TrainingSession, type OptimizerSettings } from '../../src/train/session.ts';
import { expect, expectThrows } from '../support/check.ts';

const STEPS = 200;
/**
 * SGD with momentum rather than Adam: Adam divides each update by √v, so a
 * parameter whose gradient is float32 rounding noise (a dead unit: 1e-9
 * instead of 0) moves by ±lr whichever way the noise points. Both profiles
 * then stay equally right but drift apart chaotically (measured: 1.2e-2 in a
 * conv parameter and 1e-4 to 1.6e-3 in the loss by step 200, as much as a
 * ±1-ulp change of the initial parameters gives), which no fixed tolerance
 * describes. With SGD the same noise stays noise. The Adam kernel is the same
 * under both profiles and is checked against its reference by the optim
 * cases under each.
 */
const OPTIMIZER: OptimizerSettings = { type: 'sgd', lr: 1e-4, momentum: 0.9 };
/**
 * Per step, the loss of the gpu-profile run within 1e-5 (relative) of the
 * cpu-profile run's, and every parameter after 200 steps within 1e-5 of it
 * (absolute; parameters are below 2 in size). Float32 sums reduced in another
 * order differ by about 1e-7 relative; measured on SwiftShader over the 200
 * steps: ≤ 1.8e-7 in the loss and ≤ 7.5e-8 in the parameters for both
 * presets, so the tolerance leaves 50× for other adapters and for slow growth
 * over the steps, while a wrong kernel (a wrong element or an ignored term)
 * moves the losses by far more.
 */
const LOSS_RTOL = 1e-5;
const PARAM_ATOL = 1e-5;

interface Run {
  readonly losses: number[];
  readonly params: Map<string, Float32Array>;
  readonly variants: string[];
}

async function train(profile: KernelProfile, spec: ModelSpec, batch: number, data: Dataset): Promise<Run> {
  const gpu = await requestGpu({ profile, log: () => {} });
  const s = new TrainingSession(gpu.device, { spec, batch, optimizer: OPTIMIZER, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 1 } });
  try {
    s.setParams(initParams(s.graph, 1));
    s.attachData(data);
    s.setOrder(permutation(data.count, 7));
    const losses: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      s.program.resetStats();
      s.runStep({ beta: 1, lr: OPTIMIZER.lr }, i % s.stepsPerEpoch);
      const st = await s.program.readStats();
      losses.push(st.recon + st.kl);
    }
    return { losses, params: await s.getParams(), variants: s.matmulChoices.map((c) => c.variant) };
  } finally {
    s.destroy();
    gpu.device.destroy();
  }
}

for (const [name, spec, batch] of [['mlp', mlpPreset(), 8], ['conv', convPreset(), 2]] as const) {
  test(`${name} preset: ${STEPS} steps on MNIST under the gpu profile match the cpu profile's losses and parameters (float32 noise)`, { timeout: 900_000 }, async () => {
    const { train: digits } = await loadMnistNode();
    const cpu = await train('cpu', spec, batch, digits);
    const gpu = await train('gpu', spec, batch, digits);
    // The two runs took different kernels.
    expect(gpu.variants.every((v) => v === 'direct') && cpu.variants.some((v) => v !== 'direct'), `matmul variants: cpu ${cpu.variants.join(',')}; gpu ${gpu.variants.join(',')}`);
    expect(cpu.losses[STEPS - 1]! < 0.75 * cpu.losses[0]!, `the cpu-profile run did not train: loss ${cpu.losses[0]} -> ${cpu.losses[STEPS - 1]}`);
    let worst = 0, at = 0;
    for (let i = 0; i < STEPS; i++) {
      const e = Math.abs(gpu.losses[i]! - cpu.losses[i]!) / Math.abs(cpu.losses[i]!);
      if (!(e <= worst)) [worst, at] = [e, i];
    }
    console.log(`# ${name}: loss ${cpu.losses[0]!.toFixed(2)} -> ${cpu.losses[STEPS - 1]!.toFixed(2)}; worst relative loss difference between profiles ${worst.toExponential(2)} at step ${at + 1}`);
    expect(worst <= LOSS_RTOL, `${name}: step ${at + 1}: loss ${gpu.losses[at]} under the gpu profile, ${cpu.losses[at]} under cpu: relative difference ${worst.toExponential(2)} above ${LOSS_RTOL}`);
    let pw = 0, pwhere = '';
    for (const [k, v] of cpu.params) {
      const w = gpu.params.get(k)!;
      for (let i = 0; i < v.length; i++) {
        const d = Math.abs(v[i]! - w[i]!);
        if (!(d <= pw)) [pw, pwhere] = [d, `${k}[${i}]: gpu ${w[i]}, cpu ${v[i]}`];
      }
    }
    console.log(`# ${name}: worst parameter difference after ${STEPS} steps ${pw.toExponential(2)}`);
    expect(pw <= PARAM_ATOL, `${name}: after ${STEPS} steps ${pwhere}: difference ${pw.toExponential(2)} above ${PARAM_ATOL}`);
  });
}

test('the profile switch: the requestGpu option, WEBGPU_VAE_ADAPTER_PROFILE, and one-line errors for names that do not exist', { timeout: 300_000 }, async () => {
  const saved = process.env[PROFILE_ENV];
  try {
    delete process.env[PROFILE_ENV];
    const auto = await requestGpu({ log: () => {} });
    expect(!auto.profileForced && auto.profile === (auto.isSoftware ? 'cpu' : 'gpu') && kernelProfile(auto.device) === auto.profile, `auto: ${auto.profile} on ${auto.summary}`);
    auto.device.destroy();
    process.env[PROFILE_ENV] = auto.isSoftware ? 'gpu' : 'cpu';
    const env = await requestGpu({ log: () => {} });
    expect(env.profileForced && env.profile === process.env[PROFILE_ENV] && kernelProfile(env.device) === env.profile && env.summary.endsWith(`kernel profile '${env.profile}' (forced)`), `from the environment: ${env.profile}, ${env.summary}`);
    env.device.destroy();
    const opt = await requestGpu({ profile: 'auto', log: () => {} });
    expect(!opt.profileForced && opt.profile === auto.profile, `the option wins over the environment: ${opt.profile}`);
    opt.device.destroy();
    await expectThrows('an unknown option value', () => requestGpu({ profile: 'fast' as never }), /^requestGpu profile: "fast" is not an adapter profile; expected one of gpu, cpu, auto$/);
    process.env[PROFILE_ENV] = 'GPU';
    await expectThrows('an unknown environment value', () => requestGpu({ log: () => {} }), /^WEBGPU_VAE_ADAPTER_PROFILE: "GPU" is not an adapter profile; expected one of gpu, cpu, auto$/);
  } finally {
    if (saved === undefined) delete process.env[PROFILE_ENV];
    else process.env[PROFILE_ENV] = saved;
  }
  // The command line: exit 1 and the same one line on stderr, before anything is trained.
  const bin = new URL('../../bin/webgpu-vae.mjs', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-profile-'));
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'train', '--epochs', '1', '--out', join(dir, 'run')], { env: { ...process.env, [PROFILE_ENV]: 'warp' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
  expect(r.code === 1 && r.stderr.trim() === 'webgpu-vae train: WEBGPU_VAE_ADAPTER_PROFILE: "warp" is not an adapter profile; expected one of gpu, cpu, auto', `exit ${r.code}, stderr: ${r.stderr}`);
});
