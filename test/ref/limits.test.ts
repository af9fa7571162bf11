/**
 * Every entry point of every shader fits WebGPU's default limits (8 storage
 * buffers per stage, 256 invocations per workgroup, 16 KiB of workgroup
 * memory), read from the reflection: at its override defaults, and where an
 * override constant sets the workgroup size, at the value the kernels pass
 * under each kernel profile. The GPU case `limits: …` (test/cases/limits.ts)
 * checks the pipelines actually made on a device the same way.
 */
import { test } from 'node:test';
import { setKernelProfile, type KernelProfile } from '../../src/gpu/profile.ts';
import { normWorkgroupSize } from '../../src/kernels/norm.ts';
import { elboWorkgroupSize } from '../../src/kernels/elbo.ts';
import { sumAxesNarrowWorkgroupSize, treeWorkgroupSize } from '../../src/kernels/reduce.ts';
import { DEFAULT_PIPELINE_LIMITS, pipelineLimitExcess, pipelineUse, shaderInfo, shaderNames, type EntryInfo } from '../../src/shaders/library.ts';
import { expect, expectThrows } from '../support/check.ts';

/** A stand-in device for the functions that only ask its kernel profile. */
function profiled(profile: KernelProfile): GPUDevice {
  const d = {} as GPUDevice;
  setKernelProfile(d, profile);
  return d;
}

/** The value each workgroup-size override gets from the kernels, per shader. */
const OVERRIDE_VALUES: Readonly<Record<string, Readonly<Record<string, (d: GPUDevice) => number>>>> = {
  reduce: { TREE_WG: treeWorkgroupSize },
  reduce_vec4: { TREE_WG: treeWorkgroupSize, NARROW_WG: sumAxesNarrowWorkgroupSize },
  act_sum: { TREE_WG: treeWorkgroupSize },
  elbo: { WG: elboWorkgroupSize },
  norm: { WG: normWorkgroupSize },
};

function entries(): EntryInfo[] {
  return shaderNames().flatMap((n) => [...shaderInfo(n).entries.values()]);
}

test('every entry point fits the WebGPU default limits at its override defaults', () => {
  const all = entries();
  expect(all.length >= 40, `only ${all.length} entry points reflected`);
  const bad = all.map((e) => [e, pipelineLimitExcess(e, {}, DEFAULT_PIPELINE_LIMITS)] as const).filter(([, x]) => x.length);
  expect(bad.length === 0, bad.map(([e, x]) => `${e.shader}.wgsl ${e.name}: ${x.join('; ')}`).join('\n'));
});

for (const profile of ['cpu', 'gpu'] as const) {
  test(`workgroup sizes set by override constants fit the default limits at the values the kernels use (profile ${profile})`, () => {
    const device = profiled(profile);
    let checked = 0;
    for (const e of entries()) {
      const names = e.workgroupOverrides.filter((o): o is string => o !== null);
      if (names.length === 0) continue;
      const constants: Record<string, number> = {};
      for (const o of names) {
        const value = OVERRIDE_VALUES[e.shader]?.[o];
        expect(value !== undefined, `${e.shader}.wgsl ${e.name}: its workgroup size is set by '${o}'; add the kernel function that chooses it to OVERRIDE_VALUES`);
        constants[o] = value!(device);
      }
      const x = pipelineLimitExcess(e, constants, DEFAULT_PIPELINE_LIMITS);
      expect(x.length === 0, `${e.shader}.wgsl ${e.name} with ${JSON.stringify(constants)}: ${x.join('; ')}`);
      checked++;
    }
    // elbo's five entry points, reduce's sum_axes, sum_squares_partial, sum_squares_final, sum_squares_partial4,
    // sum_axes_narrow4, norm's three tree entry points and act_sum's two.
    expect(checked === 15, `${checked} entry points with override-set workgroup sizes`);
  });
}

test('the kernel profiles give the override-set workgroup sizes they document', () => {
  const cpu = profiled('cpu'), gpu = profiled('gpu');
  expect(treeWorkgroupSize(cpu) === 16 && treeWorkgroupSize(gpu) === 256, `tree workgroups ${treeWorkgroupSize(cpu)} / ${treeWorkgroupSize(gpu)}`);
  expect(elboWorkgroupSize(cpu) === 4 && elboWorkgroupSize(gpu) === 64, `ELBO workgroups ${elboWorkgroupSize(cpu)} / ${elboWorkgroupSize(gpu)}`);
  expect(sumAxesNarrowWorkgroupSize(cpu) === 16 && sumAxesNarrowWorkgroupSize(gpu) === 256, `sum_axes_narrow4 workgroups ${sumAxesNarrowWorkgroupSize(cpu)} / ${sumAxesNarrowWorkgroupSize(gpu)}`);
});

test('the limit check reads the workgroup size at the given constants and names each exceeded limit', async () => {
  const sumAxes = shaderInfo('reduce').entries.get('sum_axes')!;
  expect(pipelineUse(sumAxes, { TREE_WG: 16 }).invocations === 16 && pipelineUse(sumAxes).invocations === 256, 'sum_axes invocations at TREE_WG 16 and at the default');
  const x = pipelineLimitExcess(sumAxes, { TREE_WG: 512 }, DEFAULT_PIPELINE_LIMITS);
  expect(x.some((m) => /^invocations per workgroup \(512×1×1\) 512 > maxComputeInvocationsPerWorkgroup 256$/.test(m)), `excess: ${x.join('; ')}`);
  const adam = shaderInfo('optim').entries.get('adam')!;
  const few = pipelineLimitExcess(adam, {}, { ...DEFAULT_PIPELINE_LIMITS, maxStorageBuffersPerShaderStage: 4 });
  expect(few.length === 1 && few[0] === 'storage buffers 5 > maxStorageBuffersPerShaderStage 4', `excess: ${few.join('; ')}`);
  const tiled = shaderInfo('matmul_tiled').entries.get('matmul_tiled')!;
  expect(tiled.workgroupBytes === 8192, `matmul_tiled workgroup memory ${tiled.workgroupBytes}`);
  const small = pipelineLimitExcess(tiled, {}, { ...DEFAULT_PIPELINE_LIMITS, maxComputeWorkgroupStorageSize: 4096 });
  expect(small.length === 1 && small[0] === 'workgroup memory bytes 8192 > maxComputeWorkgroupStorageSize 4096', `excess: ${small.join('; ')}`);
  await expectThrows('a zero workgroup size', () => pipelineUse(sumAxes, { TREE_WG: 0 }), /reduce\.wgsl sum_axes: workgroup size TREE_WG = 0; expected a positive integer/);
});
