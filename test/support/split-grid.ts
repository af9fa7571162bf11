/**
 * Runs kernel calls with each dispatch folded into a 2-D grid of workgroups,
 * (ceil(x / 2), 2, z) instead of (x, 1, z): the indexing
 * wg.x + wg.y·num_workgroups.x that grid1d switches to above 65,535
 * workgroups, driven at a test's size. Shaders must bound-check the
 * (at most one) extra workgroup.
 */
export function submitSplitGrid(device: GPUDevice, calls: readonly { readonly label: string; readonly pipeline: GPUComputePipeline; readonly bindGroup: GPUBindGroup; readonly workgroups: readonly [number, number, number] }[]): void {
  const enc = device.createCommandEncoder({ label: 'split grid' });
  const pass = enc.beginComputePass({ label: 'split grid' });
  for (const c of calls) {
    const [x, y, z] = c.workgroups;
    if (y !== 1 || x < 2) throw new Error(`${c.label}: ${c.workgroups.join('x')} workgroups cannot be folded into two rows (needs x ≥ 2, y = 1)`);
    pass.setPipeline(c.pipeline);
    pass.setBindGroup(0, c.bindGroup);
    pass.dispatchWorkgroups(Math.ceil(x / 2), 2, z);
  }
  pass.end();
  device.queue.submit([enc.finish()]);
}
