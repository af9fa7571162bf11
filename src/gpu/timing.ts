/**
 * GPU time of individual dispatches with timestamp queries (when the device
 * has 'timestamp-query'), for profiles and benchmarks. Each waits until the
 * calls dispatch their own pipelines (not stand-ins) before timing.
 */
import { callsReady, encodeCalls, type KernelCall } from '../gpu/dispatch.ts';
import { gpuWait } from './wait.ts';

/** True when the device can time passes. */
export function canTime(device: GPUDevice): boolean {
  return device.features.has('timestamp-query');
}

/**
 * Runs each call in its own compute pass with begin/end timestamps, `reps`
 * times, and returns the median GPU milliseconds of each call.
 */
export async function timeCalls(device: GPUDevice, calls: readonly KernelCall[], reps = 3): Promise<number[]> {
  if (!canTime(device)) throw new Error("timeCalls: this device has no 'timestamp-query' feature");
  await callsReady(calls);
  const n = calls.length;
  const qs = device.createQuerySet({ type: 'timestamp', count: 2 * n });
  const resolve = device.createBuffer({ size: 16 * n, usage: 0x0200 | 0x0004 }); // QUERY_RESOLVE | COPY_SRC
  const read = device.createBuffer({ size: 16 * n, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
  const samples: number[][] = calls.map(() => []);
  try {
    for (let r = 0; r < reps; r++) {
      const enc = device.createCommandEncoder({ label: 'timing' });
      calls.forEach((c, i) => {
        const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        pass.setPipeline(c.pipeline);
        pass.setBindGroup(0, c.bindGroup);
        pass.dispatchWorkgroups(...c.workgroups);
        pass.end();
      });
      enc.resolveQuerySet(qs, 0, 2 * n, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
      device.queue.submit([enc.finish()]);
      await gpuWait(() => read.mapAsync(0x0001));
      const t = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      for (let i = 0; i < n; i++) samples[i]!.push(Number(t[2 * i + 1]! - t[2 * i]!) / 1e6);
    }
  } finally {
    qs.destroy();
    resolve.destroy();
    read.destroy();
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
}

/** Wall-clock milliseconds of `reps` submits of the calls in one pass each, after one warm-up. */
export async function wallTime(device: GPUDevice, calls: readonly KernelCall[], reps = 5): Promise<number> {
  await callsReady(calls);
  const run = () => {
    const enc = device.createCommandEncoder();
    encodeCalls(enc, calls);
    device.queue.submit([enc.finish()]);
  };
  run();
  await gpuWait(() => device.queue.onSubmittedWorkDone());
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) run();
  await gpuWait(() => device.queue.onSubmittedWorkDone());
  return (performance.now() - t0) / reps;
}

/**
 * GPU milliseconds of the calls recorded into one compute pass (as a step
 * runs them), between the pass's begin and end timestamps: the median of `reps`.
 */
export async function timePass(device: GPUDevice, calls: readonly KernelCall[], reps = 3): Promise<number> {
  if (!canTime(device)) throw new Error("timePass: this device has no 'timestamp-query' feature");
  await callsReady(calls);
  const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolve = device.createBuffer({ size: 16, usage: 0x0200 | 0x0004 }); // QUERY_RESOLVE | COPY_SRC
  const read = device.createBuffer({ size: 16, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
  const samples: number[] = [];
  try {
    for (let r = 0; r < reps; r++) {
      const enc = device.createCommandEncoder({ label: 'timing' });
      const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
      for (const c of calls) {
        pass.setPipeline(c.pipeline);
        pass.setBindGroup(0, c.bindGroup);
        pass.dispatchWorkgroups(...c.workgroups);
      }
      pass.end();
      enc.resolveQuerySet(qs, 0, 2, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, read, 0, 16);
      device.queue.submit([enc.finish()]);
      await gpuWait(() => read.mapAsync(0x0001));
      const t = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      samples.push(Number(t[1]! - t[0]!) / 1e6);
    }
  } finally {
    qs.destroy();
    resolve.destroy();
    read.destroy();
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
}
