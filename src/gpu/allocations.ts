/**
 * Counts the GPU objects a piece of work creates (buffers, bind groups,
 * pipelines, shader modules, query sets, textures), by wrapping the device's
 * factory methods while it runs. Benchmarks and tests use it to show that a
 * compiled step allocates nothing once warmed up. Command encoders are not
 * counted: WebGPU needs a new one for every submit.
 */

export const COUNTED_FACTORIES = [
  'createBuffer',
  'createBindGroup',
  'createBindGroupLayout',
  'createPipelineLayout',
  'createComputePipeline',
  'createComputePipelineAsync',
  'createShaderModule',
  'createQuerySet',
  'createTexture',
  'createSampler',
] as const;

export type AllocationCounts = Record<(typeof COUNTED_FACTORIES)[number], number>;

/** Total of the counts. */
export function totalAllocations(c: AllocationCounts): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}

/** Runs `work` and returns what it created on `device` (calls made while it is pending, for async work). */
export async function countAllocations(device: GPUDevice, work: () => unknown): Promise<{ counts: AllocationCounts; total: number }> {
  const counts = Object.fromEntries(COUNTED_FACTORIES.map((k) => [k, 0])) as AllocationCounts;
  const dev = device as unknown as Record<string, unknown>;
  const saved: [string, boolean, unknown][] = [];
  for (const k of COUNTED_FACTORIES) {
    const original = dev[k];
    if (typeof original !== 'function') continue;
    saved.push([k, Object.prototype.hasOwnProperty.call(dev, k), original]);
    dev[k] = function (this: unknown, ...args: unknown[]) {
      counts[k]++;
      return (original as (...a: unknown[]) => unknown).apply(device, args);
    };
  }
  try {
    await work();
  } finally {
    for (const [k, own, original] of saved) {
      if (own) dev[k] = original;
      else delete dev[k];
    }
  }
  return { counts, total: totalAllocations(counts) };
}
