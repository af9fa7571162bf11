/**
 * Waiting for the GPU in Node (src/gpu/wait.ts): while a `gpuWait` is pending
 * the main thread stays mostly idle instead of running dawn.node's
 * setImmediate polling loop, and the global timers are put back afterwards,
 * also after overlapping waits and after a rejected one.
 */
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createBuffer, destroyBuffer, STORAGE, uploadF32 } from '../../src/gpu/buffers.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { gpuWait, gpuWaitPending } from '../../src/gpu/wait.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { expect } from '../support/check.ts';

let gpu: GpuHandle;
before(async () => {
  gpu = await requestGpu({ log: () => {} });
});
after(() => gpu?.device.destroy());

/** CPU time of the calling (main) thread in ms, from /proc (user + system clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const st = readFileSync('/proc/thread-self/stat', 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

test('gpuWait: the main thread is mostly idle while the GPU works', async () => {
  expect(process.platform === 'linux', `this check reads /proc/thread-self/stat (Linux); platform is ${process.platform}`);
  const device = gpu.device;
  // A product slow enough to measure on any adapter the tests meet: the portable kernel at 1024³,
  // several times over (on SwiftShader each takes a few hundred ms).
  const n = 1024;
  const a = uploadF32(device, Float32Array.from({ length: n * n }, (_, i) => (i % 7) * 0.1));
  const c = createBuffer(device, n * n * 4, STORAGE);
  const calls = [0, 1, 2].map(() => matmul(device, { a, b: a, c }, { m: n, n, k: n, variant: 'direct' }));
  try {
    submitCalls(device, calls);
    const cpu0 = mainThreadCpuMs();
    const t0 = performance.now();
    await gpuWait(() => device.queue.onSubmittedWorkDone());
    const wall = performance.now() - t0;
    const cpu = mainThreadCpuMs() - cpu0;
    expect(wall > 200, `the GPU work took only ${wall.toFixed(0)} ms: too short to measure the main thread's share`);
    // A busy poll keeps the thread near 100% of the wait.
    expect(cpu < 0.3 * wall, `the main thread used ${cpu} ms of CPU during a ${wall.toFixed(0)} ms wait`);
  } finally {
    for (const x of calls) x.destroy();
    destroyBuffer(device, a);
    destroyBuffer(device, c);
  }
});

test('gpuWait: the global setImmediate and clearImmediate are restored after overlapping and rejected waits', async () => {
  const set = globalThis.setImmediate, clear = globalThis.clearImmediate;
  const device = gpu.device;
  let inside: typeof setImmediate | null = null;
  const first = gpuWait(async () => {
    inside = globalThis.setImmediate;
    await device.queue.onSubmittedWorkDone();
  });
  const second = gpuWait(() => device.queue.onSubmittedWorkDone());
  expect(gpuWaitPending(), 'no wait is pending while two are');
  await Promise.all([first, second]);
  expect(inside !== null && inside !== set, 'setImmediate was not replaced during the wait');
  expect(globalThis.setImmediate === set && globalThis.clearImmediate === clear && !gpuWaitPending(), 'the timers were not restored after two overlapping waits');
  // A callback deferred during a wait can still be cancelled, and one left to run runs.
  let ran = 0;
  await gpuWait(async () => {
    const h = setImmediate(() => (ran += 10));
    clearImmediate(h);
    setImmediate(() => (ran += 1));
    await device.queue.onSubmittedWorkDone();
  });
  await new Promise((r) => setTimeout(r, 20));
  expect(ran === 1, `deferred callbacks: expected only the uncancelled one to run (1), got ${ran}`);
  let threw = false;
  try {
    await gpuWait(() => Promise.reject(new Error('mapping failed')));
  } catch (e) {
    threw = (e as Error).message === 'mapping failed';
  }
  expect(threw, 'a rejected wait did not pass its error on');
  expect(globalThis.setImmediate === set && globalThis.clearImmediate === clear && !gpuWaitPending(), 'the timers were not restored after a rejected wait');
});
