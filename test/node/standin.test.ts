/**
 * Stand-ins (src/gpu/dispatch.ts): on a fresh device under the `cpu` profile,
 * a compiled training step runs at once, its register-blocked matmuls replaced
 * by the quick-to-compile matmul_tile kernel while their own pipelines compile
 * in the background; the steps before and after the switch give exactly the
 * parameters, optimizer state and losses of steps that ran the block kernels
 * throughout, and create no GPU object.
 */
import { after, before, test } from 'node:test';
import { countAllocations } from '../../src/gpu/allocations.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { callsReady, type KernelCall } from '../../src/gpu/dispatch.ts';
import { pipelineCount, pipelinesOf } from '../../src/gpu/pipelines.ts';
import { gpuWait } from '../../src/gpu/wait.ts';
import { mlpPreset } from '../../src/model/presets.ts';
import { initParams, TrainingSession } from '../../src/train/session.ts';
import { expect } from '../support/check.ts';

let gpu: GpuHandle;
before(async () => {
  gpu = await requestGpu({ profile: 'cpu', log: () => {} });
});
after(() => gpu?.device.destroy());

const standingIn = (calls: readonly KernelCall[]) => calls.filter((c) => c.pipeline.label !== `${c.entry.shader}.${c.entry.name}`);

function session(): TrainingSession {
  const spec = mlpPreset();
  const s = new TrainingSession(gpu.device, { spec, batch: 32, optimizer: { type: 'adam', lr: 1e-3 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 5 } });
  s.setParams(initParams(s.graph, 5));
  s.attachData({ name: 'digits', shape: spec.input, count: 96, data: Uint8Array.from({ length: 96 * 784 }, (_, i) => (i * 37 + (i >> 9)) % 256), labels: null });
  s.program.resetStats();
  return s;
}

/** Everything the steps leave behind, by name, as raw bits. */
async function state(s: TrainingSession): Promise<Map<string, Uint32Array>> {
  const { params, optimizer } = await s.readTrainingBlocks();
  const stats = await s.program.readStats();
  const all: [string, ArrayLike<number>][] = [...params, ...[...optimizer].map(([k, v]) => [`optimizer ${k}`, v] as [string, Float32Array]), ['loss, recon, KL, count', [stats.loss, stats.recon, stats.kl, stats.count]]];
  return new Map(all.map(([k, v]) => [k, new Uint32Array(Float32Array.from(v).buffer)]));
}

test('stand-ins: the first steps run while the block kernels compile, with bit-identical results and no GPU object made', { timeout: 900_000 }, async () => {
  const device = gpu.device;
  const knobs = { beta: 1, lr: 1e-3 };
  const a = session();
  let expected: Map<string, Uint32Array>, got: Map<string, Uint32Array>;
  try {
    const calls = a.stepCalls();
    const early = standingIn(calls);
    // matmul_tile for whole products and row ranges, matmul_tile_ksplit for the slices of a product split over K.
    const standsIn = (c: KernelCall) => /\[(blocked|subgroup): K in \d+ slices\]$/.test(c.label)
      ? c.pipeline.label === 'matmul_tile.matmul_tile_ksplit'
      : c.pipeline.label === 'matmul_tile.matmul_tile' && /\[(blocked|subgroup)(: rows \d+-\d+)?\]$/.test(c.label);
    expect(early.length >= 8 && early.every(standsIn), `stand-ins at the first step: ${early.map((c) => `${c.label} → ${c.pipeline.label}`).join('; ')}`);
    const pending = pipelinesOf(device).length - pipelineCount(device);
    expect(pending >= 3, `${pending} pipelines compiling in the background`);
    // Submitted in this task: the background compiles start after it, so these run the stand-ins.
    const first = await countAllocations(device, async () => {
      for (let i = 0; i < 3; i++) a.runStep(knobs, i);
      await gpuWait(() => device.queue.onSubmittedWorkDone());
    });
    // Nothing but the background compiles asked for when the step was compiled, which start meanwhile
    // (each makes its pipeline, and its shader module if no compile before it made that one).
    const background = first.counts.createComputePipelineAsync + first.counts.createShaderModule;
    expect(first.total === background && first.counts.createComputePipelineAsync <= pending && first.counts.createShaderModule <= first.counts.createComputePipelineAsync, `steps on stand-ins created ${JSON.stringify(first.counts)}`);
    await callsReady(calls);
    expect(standingIn(calls).length === 0, `still standing in after every call was ready: ${standingIn(calls).map((c) => c.label).join('; ')}`);
    const later = await countAllocations(device, async () => {
      for (let i = 3; i < 6; i++) a.runStep(knobs, i % 3);
      await gpuWait(() => device.queue.onSubmittedWorkDone());
    });
    expect(later.total === 0, `steps after the switch created ${JSON.stringify(later.counts)}`);
    got = await state(a);
  } finally {
    a.destroy();
  }
  // The same six steps with the block kernels from the start (their pipelines are made now).
  const b = session();
  try {
    expect(standingIn(b.stepCalls()).length === 0, 'a session compiled after the pipelines were made runs no stand-in');
    for (let i = 0; i < 6; i++) b.runStep(knobs, i % 3);
    expected = await state(b);
  } finally {
    b.destroy();
  }
  expect(expected.size === got.size && expected.size >= 11, `${got.size} tensors read, ${expected.size} expected`);
  for (const [name, e] of expected) {
    const g = got.get(name)!;
    const bad = e.findIndex((v, j) => v !== g[j]);
    expect(bad < 0 && e.length === g.length, `${name}: element ${bad} differs between the steps that started on stand-ins and those that did not`);
  }
});
