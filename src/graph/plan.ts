/**
 * The memory plan: every temporary tensor gets a byte offset in one arena,
 * chosen from the tensors' lifetimes in the schedule so that tensors whose
 * lifetimes do not overlap share memory. Offsets are aligned for binding.
 */
import { numel, nodeInputs, nodeOutputs, type Graph } from './ir.ts';

/** Every device allows storage-buffer binding offsets aligned to 256 bytes. */
export const BINDING_ALIGN = 256;

export interface MemoryPlan {
  /** Byte offset in the arena of each planned tensor (by storage tensor id). */
  readonly offsets: ReadonlyMap<number, number>;
  /** Bytes of each planned tensor (rounded up to the alignment). */
  readonly sizes: ReadonlyMap<number, number>;
  /** Arena size in bytes. */
  readonly arenaBytes: number;
  /** Sum of the planned tensors' sizes: the arena size without reuse. */
  readonly naiveBytes: number;
  /** [first node writing, last node reading] per planned tensor. */
  readonly lifetimes: ReadonlyMap<number, readonly [number, number]>;
}

export const align = (n: number, a = BINDING_ALIGN): number => Math.ceil(n / a) * a;

/** Plans the arena for all tensors of role 'temp' (views share their source). */
export function planMemory(g: Graph): MemoryPlan {
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
  for (const [s, [first]] of life) {
    const writers = g.nodes.findIndex((n) => nodeOutputs(n).some((t) => g.storageOf(t) === s));
    if (writers < 0 || writers > first) throw new Error(`memory plan: ${g.tensors[s]!.name} is read before it is written`);
  }
  const sizes = new Map<number, number>();
  for (const s of life.keys()) sizes.set(s, align(numel(g.tensors[s]!.shape) * 4));
  // Free list of [offset, size] holes below `top`, kept sorted by offset.
  const free: [number, number][] = [];
  let top = 0;
  const offsets = new Map<number, number>();
  const byStart = [...life.entries()].sort((a, b) => a[1][0] - b[1][0] || sizes.get(b[0])! - sizes.get(a[0])!);
  const byEnd = [...life.entries()].sort((a, b) => a[1][1] - b[1][1]);
  let endPtr = 0;
  const release = (s: number) => {
    const off = offsets.get(s)!;
    free.push([off, sizes.get(s)!]);
    free.sort((a, b) => a[0] - b[0]);
    for (let i = 0; i + 1 < free.length; ) {
      if (free[i]![0] + free[i]![1] === free[i + 1]![0]) {
        free[i]![1] += free[i + 1]![1];
        free.splice(i + 1, 1);
      } else i++;
    }
    const last = free[free.length - 1];
    if (last && last[0] + last[1] === top) {
      top = last[0];
      free.pop();
    }
  };
  for (const [s, [start]] of byStart) {
    // A tensor is released after the last node that reads it: an output never
    // shares memory with an input of the same node.
    while (endPtr < byEnd.length && byEnd[endPtr]![1][1] < start) {
      const done = byEnd[endPtr++]![0];
      if (offsets.has(done)) release(done);
    }
    const size = sizes.get(s)!;
    let best = -1;
    for (let i = 0; i < free.length; i++) {
      if (free[i]![1] >= size && (best < 0 || free[i]![1] < free[best]![1])) best = i;
    }
    if (best >= 0) {
      const hole = free[best]!;
      offsets.set(s, hole[0]);
      hole[0] += size;
      hole[1] -= size;
      if (hole[1] === 0) free.splice(best, 1);
    } else {
      offsets.set(s, top);
      top += size;
    }
  }
  let arenaBytes = 0;
  for (const [s, off] of offsets) arenaBytes = Math.max(arenaBytes, off + sizes.get(s)!);
  let naiveBytes = 0;
  for (const v of sizes.values()) naiveBytes += v;
  return { offsets, sizes, arenaBytes, naiveBytes, lifetimes: life };
}
