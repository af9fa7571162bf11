/**
 * How a causal conv1d is padded, measured: the conv2d window with padding
 * before the row only (what src/kernels/conv1d.ts does) against the explicit
 * alternative, a copy of x into a left-padded buffer (B, C, P + L) and an
 * unpadded conv over it (its input gradient then computed on the padded grid
 * and sliced back), and against a symmetric padding P whose last P outputs
 * would be dropped (more outputs computed, then a slice copy). The variants
 * are timed in turn, round after round (so a change of machine load hits
 * them alike); prints the median GPU milliseconds of each and the median of
 * the per-round ratios, all in one run.
 *
 *   node --import tsx bench/conv1d-causal.ts
 */
import { createBuffer, destroyBuffer, STORAGE, uploadF32 } from '../src/gpu/buffers.ts';
import { requestGpu } from '../src/gpu/device.ts';
import type { KernelCall } from '../src/gpu/dispatch.ts';
import { canTime, timePass, wallTime } from '../src/gpu/timing.ts';
import { concat, concatBackward } from '../src/kernels/concat.ts';
import { conv1d, conv1dBackward, type Conv1dOptions } from '../src/kernels/conv1d.ts';

const ROUNDS = 11;

/** Sequence layers of a text or molecule VAE: (batch, C_in → C_out, length, kernel, dilation). */
const SHAPES = [
  { batch: 64, inChannels: 32, outChannels: 64, length: 120, kernel: 5, dilation: 1 },
  { batch: 64, inChannels: 64, outChannels: 64, length: 120, kernel: 3, dilation: 4 },
  { batch: 32, inChannels: 64, outChannels: 64, length: 256, kernel: 3, dilation: 16 },
] as const;

function rand(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
}

const gpu = await requestGpu({ log: (m) => console.error(m) });
const device = gpu.device;
console.log(`adapter: ${gpu.summary}; ${canTime(device) ? 'GPU timestamps' : 'wall clock'}, ${ROUNDS} interleaved rounds, medians`);
const time = async (calls: KernelCall[]) => (canTime(device) ? timePass(device, calls, 1) : wallTime(device, calls, 1));
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Median time of each pass, and the median per-round ratio of each to the first. */
async function interleaved(passes: KernelCall[][]): Promise<{ ms: number[]; ratio: number[] }> {
  for (const p of passes) await time(p);
  const t: number[][] = passes.map(() => []);
  for (let r = 0; r < ROUNDS; r++) for (const [i, p] of passes.entries()) t[i]!.push(await time(p));
  return { ms: t.map(median), ratio: t.map((ti) => median(ti.map((v, r) => v / t[0]![r]!))) };
}

for (const s of SHAPES) {
  const P = (s.kernel - 1) * s.dilation;
  const B = s.batch, C = s.inChannels, L = s.length;
  const causal: Conv1dOptions = { ...s, causal: true };
  const padded: Conv1dOptions = { ...s, length: L + P };
  const symmetric: Conv1dOptions = { ...s, padding: P };
  const nx = B * C * L, nxp = B * C * (L + P), ny = B * s.outChannels * L, nys = B * s.outChannels * (L + P), nw = s.outChannels * C * s.kernel;
  const x = uploadF32(device, rand(nx)), w = uploadF32(device, rand(nw)), dy = uploadF32(device, rand(ny));
  const xp = createBuffer(device, nxp * 4, STORAGE), zeros = createBuffer(device, B * C * P * 4, STORAGE);
  const y = createBuffer(device, ny * 4, STORAGE), ys = createBuffer(device, nys * 4, STORAGE);
  const dx = createBuffer(device, nx * 4, STORAGE), dxp = createBuffer(device, nxp * 4, STORAGE);
  const all: KernelCall[] = [];
  const keep = <T extends KernelCall | KernelCall[]>(c: T): T => {
    all.push(...(Array.isArray(c) ? c : [c]));
    return c;
  };
  try {
    // (a) the window: padding before the row only.
    const fwdA = [keep(conv1d(device, { x, weight: w, y }, causal))];
    const dxA = keep(conv1dBackward(device, { weight: w, dy, dx }, causal));
    // (b) explicit: rows of x copied after P zeros (the zeros written once, outside the pass), conv without padding;
    // dx computed on the padded grid, then its last L columns copied out.
    const [zeroCopy, padCopy] = keep(concat(device, { xs: [zeros, x], y: xp }, { outer: B * C, sizes: [P, L] }));
    const fwdB = [padCopy!, keep(conv1d(device, { x: xp, weight: w, y }, padded))];
    const dxB = [...keep(conv1dBackward(device, { weight: w, dy, dx: dxp }, padded)), ...keep(concatBackward(device, { dy: dxp, dxs: [null, dx] }, { outer: B * C, sizes: [P, L] }))];
    // (c) symmetric padding P: L + P outputs per row, the first L of them kept (slice copy).
    const fwdC = [keep(conv1d(device, { x, weight: w, y: ys }, symmetric)), ...keep(concatBackward(device, { dy: ys, dxs: [y, null] }, { outer: B * s.outChannels, sizes: [L, P] }))];
    await time([zeroCopy!]);
    const f = await interleaved([fwdA, fwdB, fwdC]);
    const d = await interleaved([dxA, dxB]);
    const flops = 2 * B * s.outChannels * L * C * s.kernel;
    console.log(`conv1d ${B}×${C}→${s.outChannels}, L ${L}, K ${s.kernel}, dilation ${s.dilation} (P = ${P})`);
    console.log(`  forward   window ${f.ms[0]!.toFixed(2)} ms (${(flops / (f.ms[0]! * 1e6)).toFixed(2)} GFLOP/s) | pad copy + conv ${f.ms[1]!.toFixed(2)} ms (×${f.ratio[1]!.toFixed(2)}) | symmetric + slice ${f.ms[2]!.toFixed(2)} ms (×${f.ratio[2]!.toFixed(2)})`);
    console.log(`  dx        window ${d.ms[0]!.toFixed(2)} ms | padded grid + slice ${d.ms[1]!.toFixed(2)} ms (×${d.ratio[1]!.toFixed(2)}); extra memory of the explicit pad: ${((2 * nxp * 4) / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    for (const c of all) c.destroy();
    for (const b of [x, w, dy, xp, zeros, y, ys, dx, dxp]) destroyBuffer(device, b);
  }
}
device.destroy();
process.exit(0);
