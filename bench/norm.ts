/**
 * Benchmarks of the normalization kernels at the shapes the presets use:
 * group norm of (64, 32, 14, 14) and (64, 64, 7, 7) in 8 groups (the
 * resconv preset's residual blocks at batch 64) and layer norm of (128, 400)
 * (a dense layer at batch 128), forward, dx, and dweight with dbias, in GB/s
 * of compulsory traffic (x and y once forward; x, dy and dx once for dx; x
 * and dy once for the parameter gradients). Each group norm also runs at the
 * next workgroup size up (16 on CPU adapters, whose default is 4; 64 on GPUs,
 * whose default is 256), so the per-adapter choice (src/kernels/norm.ts) can
 * be read as a ratio within one run.
 */
import { createBuffer, destroyBuffer, STORAGE, uploadF32 } from '../src/gpu/buffers.ts';
import type { KernelCall } from '../src/gpu/dispatch.ts';
import { canTime, timeCalls, wallTime } from '../src/gpu/timing.ts';
import { groupNorm, groupNormBackward, layerNorm, layerNormBackward, normWorkgroupSize } from '../src/kernels/norm.ts';
import { entriesOf, type KernelResult } from './suite.ts';

async function time(device: GPUDevice, call: KernelCall, reps: number): Promise<number> {
  if (canTime(device)) return (await timeCalls(device, [call], reps))[0]!;
  return wallTime(device, [call], reps);
}

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.5 + 0.1;
  return a;
}

type NormCase =
  | { readonly name: string; readonly kind: 'group'; readonly o: { batch: number; channels: number; groups: number; spatial: number } }
  | { readonly name: string; readonly kind: 'layer'; readonly o: { rows: number; size: number } };

const CASES: readonly NormCase[] = [
  { name: 'group norm (64, 32, 14, 14) G=8', kind: 'group', o: { batch: 64, channels: 32, groups: 8, spatial: 196 } },
  { name: 'group norm (64, 64, 7, 7) G=8', kind: 'group', o: { batch: 64, channels: 64, groups: 8, spatial: 49 } },
  { name: 'layer norm (128, 400)', kind: 'layer', o: { rows: 128, size: 400 } },
];

/** Times each case at the device's default workgroup size and, unless `quick`, at the other size too. */
export async function benchNorm(device: GPUDevice, reps = 3, opts: { quick?: boolean } = {}): Promise<KernelResult[]> {
  const out: KernelResult[] = [];
  const dflt = normWorkgroupSize(device);
  for (const c of CASES) {
    const n = c.kind === 'group' ? c.o.batch * c.o.channels * c.o.spatial : c.o.rows * c.o.size;
    const rows = c.kind === 'group' ? c.o.batch * c.o.groups : c.o.rows;
    const P = c.kind === 'group' ? c.o.channels : c.o.size;
    const x = uploadF32(device, rand(n)), dy = uploadF32(device, rand(n).reverse()), w = uploadF32(device, rand(P)), b = uploadF32(device, rand(P));
    const y = createBuffer(device, n * 4, STORAGE), stats = createBuffer(device, rows * 8, STORAGE), dx = createBuffer(device, n * 4, STORAGE);
    const dw = createBuffer(device, P * 4, STORAGE), db = createBuffer(device, P * 4, STORAGE);
    try {
      for (const wg of c.kind === 'group' && !opts.quick ? [dflt, dflt === 4 ? 16 : 64] : [dflt]) {
        const tag = wg === dflt ? `(default wg ${wg})` : `[wg ${wg}]`;
        const fb = { x, weight: w, bias: b, y, stats };
        const fwd = c.kind === 'group' ? groupNorm(device, fb, { ...c.o, workgroupSize: wg }) : layerNorm(device, fb, { ...c.o, workgroupSize: wg });
        const bb = (g: { dx?: GPUBuffer; dweight?: GPUBuffer; dbias?: GPUBuffer }) => ({ x, stats, dy, weight: w, ...g });
        const [gx] = c.kind === 'group' ? groupNormBackward(device, bb({ dx }), { ...c.o, workgroupSize: wg }) : layerNormBackward(device, bb({ dx }), { ...c.o, workgroupSize: wg });
        const [gp] = c.kind === 'group' ? groupNormBackward(device, bb({ dweight: dw, dbias: db }), { ...c.o, workgroupSize: wg }) : layerNormBackward(device, bb({ dweight: dw, dbias: db }), { ...c.o, workgroupSize: wg });
        try {
          for (const [label, call, bytes] of [['forward', fwd, 2 * n * 4], ['dx', gx!, 3 * n * 4], ['dweight, dbias', gp!, 2 * n * 4]] as const) {
            const ms = await time(device, call, reps);
            out.push({ name: `${c.name} ${label} ${tag}`, kernel: `${entriesOf([call])} (workgroup ${wg})`, why: wg === dflt ? 'default' : 'named', ms, rate: bytes / (ms * 1e6), unit: 'GB/s' });
          }
        } finally {
          for (const k of [fwd, gx!, gp!]) k.destroy();
        }
      }
    } finally {
      for (const buf of [x, dy, w, b, y, stats, dx, dw, db]) destroyBuffer(device, buf);
    }
  }
  return out;
}
