/**
 * The parameter block and its state_dict mapping: every parameter of the
 * model in one flat block of floats (modelLayout: each tensor at a 64-float
 * aligned offset, so it can be bound on its own, but for pairs bound as one
 * operand; the block a multiple of 4 floats so the optimizer can take four
 * at a time), computed once per model, with the conversions between the
 * block and PyTorch's names and shapes, and between the block and the saved
 * layout of optimizer state (ParamLayout.toSaved).
 */
import { buildForward, modelLayout, type ParamInfo } from '../graph/build.ts';
import { numel } from '../graph/ir.ts';
import type { ModelSpec } from '../graph/spec.ts';

/** Values of the parameters by state_dict name. */
export type StateDict = Map<string, Float32Array>;

export class ParamLayout {
  /** The model's parameters in state_dict order. */
  readonly params: readonly ParamInfo[];
  /** Float offset of each parameter in the block, in `params` order. */
  readonly offsets: readonly number[];
  /** Floats in the block (the padding between tensors included). */
  readonly floats: number;

  /**
   * Float offset of each parameter in optimizer.safetensors' blocks, in
   * `params` order: each tensor at a 64-float aligned offset in state_dict
   * order, whatever the block in memory packs together, so saved optimizer
   * state reads back into any layout of the block.
   */
  readonly savedOffsets: readonly number[];
  /** Floats in a saved optimizer state block. */
  readonly savedFloats: number;

  constructor(readonly spec: ModelSpec) {
    this.params = buildForward(spec, 1).params;
    const { names, total } = modelLayout(spec);
    this.offsets = this.params.map((p) => names.get(p.name)!);
    this.floats = Math.ceil(total / 4) * 4;
    let pos = 0;
    this.savedOffsets = this.params.map((p) => {
      const at = pos;
      pos += Math.ceil(numel(p.shape) / 64) * 64;
      return at;
    });
    this.savedFloats = Math.max(pos, 64);
  }

  /** A block of per-parameter values (optimizer state) in the saved layout. */
  toSaved(block: Float32Array): Float32Array<ArrayBuffer> {
    if (block.length !== this.floats) throw new Error(`parameter block: ${block.length} values; this model's block holds ${this.floats}`);
    return this.move(block, this.offsets, this.savedOffsets, this.savedFloats);
  }

  /** A block in the saved layout (optimizer.safetensors) as laid out in memory. */
  fromSaved(saved: Float32Array): Float32Array<ArrayBuffer> {
    if (saved.length !== this.savedFloats) throw new Error(`saved parameter block: ${saved.length} values; this model's saved block holds ${this.savedFloats}`);
    return this.move(saved, this.savedOffsets, this.offsets, this.floats);
  }

  private move(src: Float32Array, from: readonly number[], to: readonly number[], floats: number): Float32Array<ArrayBuffer> {
    const out = new Float32Array(floats);
    this.params.forEach((p, i) => out.set(src.subarray(from[i]!, from[i]! + numel(p.shape)), to[i]!));
    return out;
  }

  /** The block holding `values` (every parameter must be given with its exact size, and nothing else). */
  pack(values: ReadonlyMap<string, ArrayLike<number>>): Float32Array<ArrayBuffer> {
    const block = new Float32Array(this.floats);
    this.params.forEach((p, i) => {
      const v = values.get(p.name);
      const n = numel(p.shape);
      if (!v) throw new Error(`parameters: '${p.name}' [${p.shape.join(', ')}] is missing`);
      if (v.length !== n) throw new Error(`parameters: '${p.name}' has ${v.length} values; the model's shape [${p.shape.join(', ')}] needs ${n}`);
      for (let j = 0; j < n; j++) block[this.offsets[i]! + j] = v[j]!;
    });
    for (const k of values.keys()) {
      if (!this.params.some((p) => p.name === k)) throw new Error(`parameters: '${k}' is not a parameter of this model`);
    }
    return block;
  }

  /** The parameters of a block, by state_dict name. */
  unpack(block: Float32Array): StateDict {
    const out: StateDict = new Map();
    this.params.forEach((p, i) => out.set(p.name, block.slice(this.offsets[i]!, this.offsets[i]! + numel(p.shape))));
    return out;
  }

  /** The parameter (state_dict name) and element at a flat index of the block, or null in the padding between tensors. */
  locate(index: number): { tensor: string; element: number } | null {
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      const e = index - this.offsets[i]!;
      if (e >= 0 && e < numel(p.shape)) return { tensor: p.name, element: e };
    }
    return null;
  }
}

/**
 * PyTorch-default parameters from a seeded generator: each parameter from its
 * init (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for most layers, N(0, 1) for an
 * embedding, normals by the Box–Muller transform of the same stream; a
 * constant (a norm's weight 1 and bias 0) draws no random numbers).
 */
export function initParams(tg: { readonly params: readonly ParamInfo[] }, seed: number): StateDict {
  let s = (seed * 2654435761 + 0x6d2b79f5) >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const out: StateDict = new Map();
  for (const p of tg.params) {
    const v = new Float32Array(numel(p.shape));
    const init = p.init;
    for (let i = 0; i < v.length; i++) {
      switch (init.kind) {
        case 'uniform':
          v[i] = (2 * rnd() - 1) * init.bound;
          break;
        case 'normal':
          v[i] = normal() * init.std;
          break;
        case 'constant':
          v[i] = init.value;
          break;
      }
    }
    out.set(p.name, v);
  }
  return out;
}
