/**
 * Concatenation along axis 1 (the features of (B, F) rows, the channels of
 * (B, C, H, W) maps) on the caller's buffers, one dispatch per input, and
 * its backward, the split: each input's slice of the gradient, written or
 * added. Formulas and dispatch: shaders/concat.wgsl; float64 reference:
 * src/ref/concat.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';

/** Elements each invocation of concat.wgsl copies (its PER_THREAD). */
const PER_INVOCATION = 4;

export interface ConcatOptions {
  /** Rows (the batch, B). */
  readonly outer: number;
  /** Values per row of each input: F_i, or C_i·H·W for maps; y has Σ sizes per row. */
  readonly sizes: readonly number[];
}

function elementsPerGroup(entry: string): number {
  return invocationsPerGroup('concat', entry) * PER_INVOCATION;
}

function resolve(o: ConcatOptions, given: number): { what: string; total: number; offsets: number[] } {
  const what = `concat(outer ${o.outer}, sizes [${o.sizes.join(', ')}])`;
  if (o.sizes.length === 0) throw new Error(`${what}: no inputs; expected at least one size`);
  checkSizes(what, { outer: o.outer, ...Object.fromEntries(o.sizes.map((s, i) => [`sizes[${i}]`, s])) });
  if (given !== o.sizes.length) throw new Error(`${what}: ${given} buffers for ${o.sizes.length} sizes; expected one per input`);
  const offsets: number[] = [];
  let total = 0;
  for (const s of o.sizes) {
    offsets.push(total);
    total += s;
  }
  return { what, total, offsets };
}

function destroyAll(calls: readonly KernelCall[]): void {
  for (const c of calls) c.destroy();
}

/** y (outer, Σ sizes) = [x_0 | x_1 | …] row by row, x_i (outer, sizes[i]): one call per input. */
export function concat(device: GPUDevice, bufs: { readonly xs: readonly BufferArg[]; readonly y: BufferArg }, o: ConcatOptions): KernelCall[] {
  const r = resolve(o, bufs.xs.length);
  checkBuffer(r.what, 'y', bufs.y, o.outer * r.total);
  bufs.xs.forEach((x, i) => checkBuffer(r.what, `xs[${i}]`, x, o.outer * o.sizes[i]!));
  const calls: KernelCall[] = [];
  try {
    bufs.xs.forEach((x, i) => {
      const inner = o.sizes[i]!;
      calls.push(makeCall(device, {
        shader: 'concat', entry: 'concat_forward', label: `${r.what}: input ${i}`,
        buffers: { x, y: bufs.y },
        params: { outer: o.outer, inner, total: r.total, offset: r.offsets[i]!, accumulate: 0 },
        workgroups: grid1d(device, o.outer * inner, elementsPerGroup('concat_forward')),
      }));
    });
  } catch (e) {
    destroyAll(calls);
    throw e;
  }
  return calls;
}

/**
 * The split: dxs[i] (outer, sizes[i]) = the columns of dy (outer, Σ sizes)
 * that input i filled, or += them with `accumulate` (the caller initializes
 * those dx). One call per dx given; null skips an input that needs no gradient.
 */
export function concatBackward(device: GPUDevice, bufs: { readonly dy: BufferArg; readonly dxs: readonly (BufferArg | null)[] }, o: ConcatOptions & { readonly accumulate?: boolean }): KernelCall[] {
  const r = resolve(o, bufs.dxs.length);
  const what = `${r.what} backward${o.accumulate ? ' (accumulate)' : ''}`;
  if (bufs.dxs.every((d) => d === null)) throw new Error(`${what}: no gradient asked for (every dx is null)`);
  checkBuffer(what, 'dy', bufs.dy, o.outer * r.total);
  bufs.dxs.forEach((dx, i) => {
    if (dx) checkBuffer(what, `dxs[${i}]`, dx, o.outer * o.sizes[i]!);
  });
  const calls: KernelCall[] = [];
  try {
    bufs.dxs.forEach((dx, i) => {
      if (!dx) return;
      const inner = o.sizes[i]!;
      calls.push(makeCall(device, {
        shader: 'concat', entry: 'concat_backward', label: `${what}: input ${i}`,
        buffers: { dy: bufs.dy, dx },
        params: { outer: o.outer, inner, total: r.total, offset: r.offsets[i]!, accumulate: o.accumulate ? 1 : 0 },
        workgroups: grid1d(device, o.outer * inner, elementsPerGroup('concat_backward')),
      }));
    });
  } catch (e) {
    destroyAll(calls);
    throw e;
  }
  return calls;
}
