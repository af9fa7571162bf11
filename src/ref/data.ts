/** CPU reference of shaders/data.wgsl: batch gathering with optional dynamic binarization. */
import { philoxBlock, philoxUniform } from './philox.ts';

const INV_255 = Math.fround(1 / 255);

export interface GatherRefOptions {
  readonly batch: number;
  readonly features: number;
  readonly start?: number;
  readonly binarize?: boolean;
  readonly seed?: number;
  readonly step?: number;
  readonly stream?: number;
}

export function gatherRef(data: Uint8Array | Float32Array, order: ArrayLike<number>, o: GatherRefOptions): Float32Array {
  const { batch: B, features: D } = o;
  const out = new Float32Array(B * D);
  const key = { seed: o.seed ?? 0, step: o.step ?? 0, stream: o.stream ?? 1 };
  for (let b = 0; b < B; b++) {
    const s = order[(o.start ?? 0) + b]!;
    for (let d = 0; d < D; d++) {
      const raw = data[s * D + d]!;
      const i = b * D + d;
      if (!o.binarize) {
        out[i] = data instanceof Uint8Array ? Math.fround(raw * INV_255) : raw;
        continue;
      }
      // u ≤ v, exactly: for bytes v = raw/255 compared in rationals, as the shader does in integers.
      const u = philoxUniform(philoxBlock(key, i >> 2)[i & 3]!);
      out[i] = (data instanceof Uint8Array ? u * 255 <= raw : u <= raw) ? 1 : 0;
    }
  }
  return out;
}
