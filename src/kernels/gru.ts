/**
 * One GRU layer over a sequence (nn.GRU, batch_first, gate order r, z, n) on
 * the caller's buffers, forward and backpropagation through time, as kernel
 * calls to record in one pass: the input projection of every step is one
 * matmul (gi = x·W_ihᵀ + b_ih), then one dispatch per time step
 * (shaders/gru.wgsl: h·W_hhᵀ + b_hh, the gates and h' fused). Nothing is read
 * back between steps. The backward runs the steps in reverse, then the
 * weight gradients as matmul and sum_axes kernels over all steps at once.
 * Float64 reference: src/ref/gru.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { kernelProfile } from '../gpu/profile.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';
import { matmul } from './matmul.ts';
import { sumAxes } from './reduce.ts';

/** The block of batch rows × hidden units each invocation of gru.wgsl takes (its ROWS and UNITS). */
const ROWS = 4;
const UNITS = 4;

/**
 * Quads of rows an invocation of gru_vec4.wgsl takes (its ROW_QUADS): 4 (16
 * rows) under the `cpu` profile, where each load of W_hh then serves four
 * times the multiply-adds (the step kernels ran at under 1 GFLOP/s with 4
 * rows on SwiftShader), 1 on GPUs, which would spend registers and
 * parallelism on it. Results are the same either way (each row's sums run
 * in the same order).
 */
export function gruRowQuads(device: GPUDevice): number {
  return kernelProfile(device) === 'cpu' ? 4 : 1;
}

/**
 * Quads of hidden units an invocation of gru_vec4.wgsl's backward entries
 * takes (its UNIT_QUADS): 2 under the `cpu` profile (each load of dgh serves
 * two quads of weights), 1 on GPUs. The same sums in the same order either way.
 */
export function gruUnitQuads(device: GPUDevice): number {
  return kernelProfile(device) === 'cpu' ? 2 : 1;
}

export interface GruRecurrenceOptions {
  /** B: sequences. */
  readonly batch: number;
  /** T: time steps. */
  readonly steps: number;
  /** H: hidden units. */
  readonly hidden: number;
}

export interface GruOptions extends GruRecurrenceOptions {
  /** I: features of each input step. */
  readonly input: number;
}

export interface GruRecurrenceBuffers {
  /** gi: (B, T, 3H), the input projections x·W_ihᵀ + b_ih. */
  readonly gi: BufferArg;
  /** h0: (B, H), the initial state; omitted: zeros. */
  readonly h0?: BufferArg;
  /** weightHh: (3H, H); biasHh: (3H). */
  readonly weightHh: BufferArg;
  readonly biasHh: BufferArg;
  /** hs: (B, T, H), every step's state (the layer's output). */
  readonly hs: BufferArg;
  /** gates: (B, T, 4H), saved for the backward (r, z, n and W_hn·h + b_hn). */
  readonly gates: BufferArg;
  /** hprev: (B, T, H), the state each step starts from (h0, h_0, ..., h_{T−2}), saved for the backward. */
  readonly hprev: BufferArg;
}

export interface GruRecurrenceGradBuffers {
  /** dhs: (B, T, H), the gradient of every step's output. */
  readonly dhs: BufferArg;
  /** gates, hprev, weightHh as the forward used them. */
  readonly gates: BufferArg;
  readonly hprev: BufferArg;
  readonly weightHh: BufferArg;
  /** dgi: (B, T, 3H), written: the gradient of the input projections. */
  readonly dgi: BufferArg;
  /** dgh: (B, T, 3H), written: the gradient of W_hh·h + b_hh at every step. */
  readonly dgh: BufferArg;
  /** dcarry: (2, B, H) scratch. */
  readonly dcarry: BufferArg;
  /** dh0: (B, H), written (or added into); omitted when the initial state needs no gradient. */
  readonly dh0?: BufferArg;
}

export interface GruBuffers extends Omit<GruRecurrenceBuffers, 'gi'> {
  /** x: (B, T, I). */
  readonly x: BufferArg;
  /** weightIh: (3H, I); biasIh: (3H). */
  readonly weightIh: BufferArg;
  readonly biasIh: BufferArg;
  /** gi: (B, T, 3H) scratch: the input projections. */
  readonly gi: BufferArg;
}

export interface GruGradBuffers extends GruRecurrenceGradBuffers {
  /** x and weightIh as the forward used them. */
  readonly x: BufferArg;
  readonly weightIh: BufferArg;
  /** The four parameter gradients, written (or added into with accumulate). */
  readonly dweightIh: BufferArg;
  readonly dweightHh: BufferArg;
  readonly dbiasIh: BufferArg;
  readonly dbiasHh: BufferArg;
  /** dx: (B, T, I), written (or added into); omitted when x needs no gradient. */
  readonly dx?: BufferArg;
}

function bufferOf(arg: BufferArg): GPUBuffer {
  return 'mapState' in arg ? arg : arg.buffer;
}

/**
 * WebGPU refuses one buffer bound read-only and writable in one dispatch: say
 * which before it does. (Inputs may share a buffer, e.g. the parameter block.)
 */
function checkDistinct(op: string, reads: Readonly<Record<string, BufferArg | undefined>>, writes: Readonly<Record<string, BufferArg | undefined>>): void {
  const read = new Map<GPUBuffer, string>();
  for (const [name, arg] of Object.entries(reads)) if (arg) read.set(bufferOf(arg), name);
  for (const [name, arg] of Object.entries(writes)) {
    const other = arg ? read.get(bufferOf(arg)) : undefined;
    if (other) throw new Error(`${op}: '${other}' (read) and '${name}' (written) are the same buffer; give the output its own`);
  }
}

function checkShape(op: string, o: GruRecurrenceOptions): void {
  checkSizes(op, { batch: o.batch, steps: o.steps, hidden: o.hidden });
  if (o.batch * o.steps * 4 * o.hidden > 0xffffffff) throw new Error(`${op}: B·T·4H = ${o.batch * o.steps * 4 * o.hidden} exceeds the u32 index range`);
}

/**
 * The step entries of gru_vec4.wgsl (vec4 loads and stores along the hidden
 * axis) when H is a multiple of 4, else gru.wgsl's; the start entries are
 * gru.wgsl's either way.
 */
function stepShader(o: GruRecurrenceOptions, entry: string): { shader: string; entry: string } {
  return o.hidden % 4 === 0 && VEC4_ENTRIES.has(entry) ? { shader: 'gru_vec4', entry: VEC4_ENTRIES.get(entry)! } : { shader: 'gru', entry };
}

const VEC4_ENTRIES = new Map([
  ['gru_recurrence_step', 'gru_recurrence_step4'],
  ['gru_recurrence_backward_step', 'gru_recurrence_backward_step4'],
  ['gru_backward_h0', 'gru_backward_h0_4'],
]);

/** The entries of gru_vec4.wgsl that take UNIT_QUADS unit quads per invocation (the backward's). */
const UNIT_QUAD_ENTRIES = new Set(['gru_recurrence_backward_step4', 'gru_backward_h0_4']);

function stepCall(device: GPUDevice, name: string, label: string, buffers: Record<string, BufferArg>, o: GruRecurrenceOptions, t: number, accumulate = false): KernelCall {
  const { shader, entry } = stepShader(o, name);
  const vec4 = shader === 'gru_vec4';
  const unitEntry = UNIT_QUAD_ENTRIES.has(entry);
  const rowQuads = vec4 ? gruRowQuads(device) : 1;
  const unitQuads = unitEntry ? gruUnitQuads(device) : 1;
  return makeCall(device, {
    shader, entry, label,
    buffers,
    params: { batch: o.batch, steps: o.steps, hidden: o.hidden, t, accumulate: accumulate ? 1 : 0 },
    ...(vec4 ? { constants: unitEntry ? { ROW_QUADS: rowQuads, UNIT_QUADS: unitQuads } : { ROW_QUADS: rowQuads } } : {}),
    workgroups: grid1d(device, Math.ceil(o.batch / (ROWS * rowQuads)) * Math.ceil(o.hidden / (UNITS * unitQuads)), invocationsPerGroup(shader, entry)),
  });
}

/**
 * The forward recurrence over precomputed input projections: T + 1 calls
 * (h0 into hprev, then one per step), to record in order in one pass.
 */
export function gruRecurrence(device: GPUDevice, bufs: GruRecurrenceBuffers, o: GruRecurrenceOptions): KernelCall[] {
  const { batch: B, steps: T, hidden: H } = o;
  const op = `gruRecurrence (B=${B}, T=${T}, H=${H})`;
  checkShape(op, o);
  checkBuffer(op, 'gi', bufs.gi, B * T * 3 * H);
  if (bufs.h0) checkBuffer(op, 'h0', bufs.h0, B * H);
  checkBuffer(op, 'weightHh', bufs.weightHh, 3 * H * H);
  checkBuffer(op, 'biasHh', bufs.biasHh, 3 * H);
  checkBuffer(op, 'hs', bufs.hs, B * T * H);
  checkBuffer(op, 'gates', bufs.gates, B * T * 4 * H);
  checkBuffer(op, 'hprev', bufs.hprev, B * T * H);
  checkDistinct(op, { gi: bufs.gi, h0: bufs.h0, weightHh: bufs.weightHh, biasHh: bufs.biasHh }, { hs: bufs.hs, gates: bufs.gates, hprev: bufs.hprev });
  const calls = [
    bufs.h0
      ? stepCall(device, 'gru_recurrence_start', `${op}: h0`, { h0: bufs.h0, hprev: bufs.hprev }, o, 0)
      : stepCall(device, 'gru_recurrence_start_zero', `${op}: h0 = 0`, { hprev: bufs.hprev }, o, 0),
  ];
  const step = { gi: bufs.gi, weight_hh: bufs.weightHh, bias_hh: bufs.biasHh, hs: bufs.hs, gates: bufs.gates, hprev: bufs.hprev };
  for (let t = 0; t < T; t++) calls.push(stepCall(device, 'gru_recurrence_step', `${op}: step ${t}`, step, o, t));
  return calls;
}

/**
 * Backpropagation through time of the recurrence: one call per step from
 * T − 1 down to 0, then dh0 when it is asked for.
 */
export function gruRecurrenceBackward(device: GPUDevice, bufs: GruRecurrenceGradBuffers, o: GruRecurrenceOptions & { readonly accumulate?: boolean }): KernelCall[] {
  const { batch: B, steps: T, hidden: H } = o;
  const op = `gruRecurrenceBackward (B=${B}, T=${T}, H=${H})`;
  checkShape(op, o);
  checkBuffer(op, 'dhs', bufs.dhs, B * T * H);
  checkBuffer(op, 'gates', bufs.gates, B * T * 4 * H);
  checkBuffer(op, 'hprev', bufs.hprev, B * T * H);
  checkBuffer(op, 'weightHh', bufs.weightHh, 3 * H * H);
  checkBuffer(op, 'dgi', bufs.dgi, B * T * 3 * H);
  checkBuffer(op, 'dgh', bufs.dgh, B * T * 3 * H);
  checkBuffer(op, 'dcarry', bufs.dcarry, 2 * B * H);
  checkDistinct(op, { dhs: bufs.dhs, gates: bufs.gates, hprev: bufs.hprev, weightHh: bufs.weightHh }, { dgi: bufs.dgi, dgh: bufs.dgh, dcarry: bufs.dcarry, dh0: bufs.dh0 });
  const step = { dhs: bufs.dhs, gates_in: bufs.gates, hprev_in: bufs.hprev, weight_hh: bufs.weightHh, dgi: bufs.dgi, dgh: bufs.dgh, dcarry: bufs.dcarry };
  const calls: KernelCall[] = [];
  for (let t = T - 1; t >= 0; t--) calls.push(stepCall(device, 'gru_recurrence_backward_step', `${op}: step ${t}`, step, o, t));
  if (bufs.dh0) calls.push(gruBackwardH0(device, { ...bufs, dh0: bufs.dh0 }, o));
  return calls;
}

/**
 * dh0 = z_0 ⊙ dh_0 + dgh_0·W_hh (or dh0 += that with accumulate), from what
 * the backward steps left in gates, dgh and dcarry: one call, recorded after
 * gruRecurrenceBackward's steps (which call it themselves when given dh0).
 */
export function gruBackwardH0(
  device: GPUDevice,
  bufs: Pick<GruRecurrenceGradBuffers, 'gates' | 'weightHh' | 'dgh' | 'dcarry'> & { readonly dh0: BufferArg },
  o: GruRecurrenceOptions & { readonly accumulate?: boolean },
): KernelCall {
  const { batch: B, steps: T, hidden: H } = o;
  const op = `gruBackwardH0 (B=${B}, T=${T}, H=${H}${o.accumulate ? ', accumulate' : ''})`;
  checkShape(op, o);
  checkBuffer(op, 'gates', bufs.gates, B * T * 4 * H);
  checkBuffer(op, 'weightHh', bufs.weightHh, 3 * H * H);
  checkBuffer(op, 'dgh', bufs.dgh, B * T * 3 * H);
  checkBuffer(op, 'dcarry', bufs.dcarry, 2 * B * H);
  checkBuffer(op, 'dh0', bufs.dh0, B * H);
  checkDistinct(op, { gates: bufs.gates, weightHh: bufs.weightHh }, { dgh: bufs.dgh, dcarry: bufs.dcarry, dh0: bufs.dh0 });
  const b = { gates_in: bufs.gates, weight_hh: bufs.weightHh, dgh: bufs.dgh, dcarry: bufs.dcarry, dh0: bufs.dh0 };
  return stepCall(device, 'gru_backward_h0', op, b, o, 0, o.accumulate);
}

/** The whole layer: gi = x·W_ihᵀ + b_ih (one matmul), then the recurrence; hs (B, T, H) holds every step's state. */
export function gru(device: GPUDevice, bufs: GruBuffers, o: GruOptions): KernelCall[] {
  const { batch: B, steps: T, hidden: H, input: I } = o;
  checkSizes(`gru (B=${B}, T=${T}, I=${I}, H=${H})`, { batch: B, steps: T, input: I, hidden: H });
  const proj = matmul(device, { a: bufs.x, b: bufs.weightIh, bias: bufs.biasIh, c: bufs.gi }, { m: B * T, n: 3 * H, k: I, transB: true });
  const { x: _x, weightIh: _w, biasIh: _b, ...rest } = bufs;
  return [proj, ...gruRecurrence(device, rest, o)];
}

/**
 * The whole layer's backward: the recurrence's steps in reverse, then
 * dW_hh = dghᵀ·hprev, db_hh = Σ dgh, dW_ih = dgiᵀ·x, db_ih = Σ dgi and
 * dx = dgi·W_ih over all steps at once. With accumulate, every gradient is
 * added into its buffer (the caller initializes them).
 */
export function gruBackward(device: GPUDevice, bufs: GruGradBuffers, o: GruOptions & { readonly accumulate?: boolean }): KernelCall[] {
  const { batch: B, steps: T, hidden: H, input: I } = o;
  const op = `gruBackward (B=${B}, T=${T}, I=${I}, H=${H})`;
  checkSizes(op, { batch: B, steps: T, input: I, hidden: H });
  const accumulate = !!o.accumulate;
  const rows = B * T, G = 3 * H;
  return [
    ...gruRecurrenceBackward(device, bufs, o),
    matmul(device, { a: bufs.dgh, b: bufs.hprev, c: bufs.dweightHh }, { m: G, n: H, k: rows, transA: true, accumulate }),
    sumAxes(device, { x: bufs.dgh, out: bufs.dbiasHh }, { outer: rows, channels: G, inner: 1, accumulate }),
    matmul(device, { a: bufs.dgi, b: bufs.x, c: bufs.dweightIh }, { m: G, n: I, k: rows, transA: true, accumulate }),
    sumAxes(device, { x: bufs.dgi, out: bufs.dbiasIh }, { outer: rows, channels: G, inner: 1, accumulate }),
    ...(bufs.dx ? [matmul(device, { a: bufs.dgi, b: bufs.weightIh, c: bufs.dx }, { m: rows, n: I, k: G, accumulate })] : []),
  ];
}
