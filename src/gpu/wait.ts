/**
 * Waiting for the GPU without keeping a CPU core busy.
 *
 * dawn.node (the `webgpu` package: WebGPU in Node) settles GPU promises
 * (mapAsync, onSubmittedWorkDone) by polling its device from a chain of
 * setImmediate callbacks for as long as one is pending, so one core stays
 * busy for the whole wait. When the adapter runs on the CPU (SwiftShader),
 * that core is taken from the threads doing the GPU's work: on two cores an
 * mlp training step took 120-130 ms with the busy wait and 74-76 ms without.
 * dawn.node looks `setImmediate` up on the global object at every poll, so
 * while a wait made through `gpuWait` is pending the global defers through a
 * 1 ms timer instead: the polls go on, a millisecond apart. Browsers settle
 * these promises without polling; there `gpuWait` only awaits.
 */

type Immediate = (fn: (...args: unknown[]) => void, ...args: unknown[]) => unknown;
type ClearImmediate = (handle: unknown) => void;
interface TimerGlobals {
  setImmediate?: Immediate;
  clearImmediate?: ClearImmediate;
  process?: { versions?: { node?: string } };
  window?: unknown;
}

const g = globalThis as unknown as TimerGlobals;

/** True in Node (not in a browser, where `window` exists and there is no process.versions.node). */
const IN_NODE = typeof g.window === 'undefined' && typeof g.process?.versions?.node === 'string' && typeof g.setImmediate === 'function';

/** How far apart dawn.node's polls are while a wait is pending (ms). */
export const POLL_INTERVAL_MS = 1;

let pending = 0;
let saved: { set: Immediate; clear: ClearImmediate } | null = null;
const deferred = new WeakSet<object>();

function throttle(): void {
  if (pending++ > 0) return;
  saved = { set: g.setImmediate!, clear: g.clearImmediate! };
  const clear = saved.clear;
  g.setImmediate = (fn, ...args) => {
    const t = setTimeout(fn, POLL_INTERVAL_MS, ...args);
    deferred.add(t as unknown as object);
    return t;
  };
  g.clearImmediate = (h) => (h !== null && typeof h === 'object' && deferred.has(h) ? clearTimeout(h as ReturnType<typeof setTimeout>) : clear(h));
}

function restore(): void {
  if (--pending > 0) return;
  g.setImmediate = saved!.set;
  g.clearImmediate = saved!.clear;
  saved = null;
}

/** True while a wait made through `gpuWait` is pending (and polls are spaced out). */
export function gpuWaitPending(): boolean {
  return pending > 0;
}

/**
 * Starts a GPU operation that returns a promise (`() => buffer.mapAsync(...)`,
 * `() => device.queue.onSubmittedWorkDone()`) and awaits it; in Node, without
 * dawn.node's busy polling. Waits may overlap; the global timers are restored
 * when the last one settles, whether it resolves or rejects.
 */
export async function gpuWait<T>(start: () => Promise<T>): Promise<T> {
  if (!IN_NODE) return start();
  throttle();
  try {
    return await start();
  } finally {
    restore();
  }
}
