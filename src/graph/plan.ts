/**
 * The memory plan: temporaries (activations, their gradients, loss terms)
 * are assigned to a pool of buffers from their lifetimes in the schedule, so
 * that tensors whose lifetimes do not overlap share a buffer. Each tensor
 * gets a whole buffer of its own while it lives: WebGPU forbids binding one
 * buffer both read-only and writable in the same dispatch, whatever the
 * ranges, so packing tensors at offsets of one arena would make a kernel's
 * inputs and outputs collide.
 */
import { numel, nodeInputs, nodeOutputs, type Graph } from './ir.ts';

export interface MemoryPlan {
  /** Buffer (slot) index of each planned tensor, by storage tensor id. */
  readonly slotOf: ReadonlyMap<number, number>;
  /** Size in bytes of each slot buffer. */
  readonly slotBytes: readonly number[];
  /** Sum of the slot sizes. */
  readonly plannedBytes: number;
  /** Sum of the planned tensors' sizes: the memory without reuse. */
  readonly naiveBytes: number;
  /** Bytes of each planned tensor. */
  readonly sizes: ReadonlyMap<number, number>;
  /** [first node writing, last node reading] per planned tensor. */
  readonly lifetimes: ReadonlyMap<number, readonly [number, number]>;
  /**
   * The analytic minimum for this schedule: the largest sum of the sizes of the
   * tensors live at one node (its inputs and outputs included). No assignment
   * of memory can hold the temporaries in less.
   */
  readonly peakBytes: number;
  /** The node where that peak is reached. */
  readonly peakAt: number;
}

/** The largest total size of tensors live at one node, and where (see MemoryPlan.peakBytes). */
export function peakLive(lifetimes: ReadonlyMap<number, readonly [number, number]>, sizes: ReadonlyMap<number, number>): { bytes: number; at: number } {
  const events = new Map<number, number>(); // node index -> change in live bytes
  for (const [t, [start, end]] of lifetimes) {
    const b = sizes.get(t)!;
    events.set(start, (events.get(start) ?? 0) + b);
    events.set(end + 1, (events.get(end + 1) ?? 0) - b);
  }
  let live = 0, bytes = 0, at = -1;
  for (const i of [...events.keys()].sort((a, b) => a - b)) {
    live += events.get(i)!;
    if (live > bytes) {
      bytes = live;
      at = i;
    }
  }
  return { bytes, at };
}

export const align = (n: number, a = 256): number => Math.ceil(n / a) * a;

/** Lifetimes of the storage tensors of role 'temp' (views count for their source). */
export function lifetimes(g: Graph): Map<number, [number, number]> {
  const life = new Map<number, [number, number]>();
  const touch = (t: number, i: number) => {
    const s = g.storageOf(t);
    if (g.tensors[s]!.role !== 'temp') return;
    const l = life.get(s);
    if (l) l[1] = Math.max(l[1], i);
    else life.set(s, [i, i]);
  };
  g.nodes.forEach((n, i) => {
    for (const t of nodeOutputs(n)) touch(t, i);
    for (const t of nodeInputs(n)) touch(t, i);
  });
  const last = g.nodes.length;
  for (const t of g.outputs) {
    const l = life.get(g.storageOf(t));
    if (l) l[1] = last;
  }
  for (const [s, [first]] of life) {
    const writer = g.nodes.findIndex((n) => nodeOutputs(n).some((t) => g.storageOf(t) === s));
    if (writer < 0 || writer > first) throw new Error(`memory plan: ${g.tensors[s]!.name} is read before it is written`);
  }
  return life;
}

/** Plans the buffer pool for all tensors of role 'temp'. */
export function planMemory(g: Graph): MemoryPlan {
  const life = lifetimes(g);
  const sizes = new Map<number, number>();
  for (const s of life.keys()) sizes.set(s, Math.max(16, numel(g.tensors[s]!.shape) * 4));
  const slotBytes: number[] = [];
  const busyUntil: number[] = []; // last node index of the slot's current tenant
  const slotOf = new Map<number, number>();
  const order = [...life.entries()].sort((a, b) => a[1][0] - b[1][0] || sizes.get(b[0])! - sizes.get(a[0])!);
  for (const [s, [start, end]] of order) {
    const need = sizes.get(s)!;
    // A slot is free once its tenant's last reader has run (strictly before this
    // tensor is written: an output never shares with an input of the same node).
    let best = -1;
    let grow = -1;
    for (let i = 0; i < slotBytes.length; i++) {
      if (busyUntil[i]! >= start) continue;
      if (slotBytes[i]! >= need) {
        if (best < 0 || slotBytes[i]! < slotBytes[best]!) best = i;
      } else if (grow < 0 || slotBytes[i]! > slotBytes[grow]!) {
        grow = i;
      }
    }
    let slot = best;
    if (slot < 0 && grow >= 0) {
      slot = grow;
      slotBytes[slot] = need;
    }
    if (slot < 0) {
      slot = slotBytes.length;
      slotBytes.push(need);
      busyUntil.push(-1);
    }
    busyUntil[slot] = end;
    slotOf.set(s, slot);
  }
  let naiveBytes = 0;
  for (const v of sizes.values()) naiveBytes += v;
  const peak = peakLive(life, sizes);
  return { slotOf, slotBytes, plannedBytes: slotBytes.reduce((a, b) => a + b, 0), naiveBytes, sizes, lifetimes: life, peakBytes: peak.bytes, peakAt: peak.at };
}
