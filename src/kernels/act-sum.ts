/**
 * A layer's fused activation backward and its bias gradient in one pass
 * (shaders/act_sum.wgsl): dpre = dy ⊙ f′(y) from the saved output y, and
 * out[c] = Σ over (outer, inner) of dpre, the conv layers' `dpre` and `db`.
 * Float64 reference: src/ref/act-sum.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { activationCode, type Activation } from './activation-codes.ts';
import { activationBackward, alphaOf, checkDistinct, checkGradFromOutput } from './activation.ts';
import { checkBuffer, checkSizes, grid1d, vec4Ok } from './kernel.ts';
import { sumAxes, treeWorkgroupSize } from './reduce.ts';
import { kernelProfile } from '../gpu/profile.ts';

export interface ActivationBackwardSumOptions {
  /** Rows before the channel axis (the batch). */
  readonly outer: number;
  /** C: one sum per channel. */
  readonly channels: number;
  /** Elements after the channel axis (pixels of a channel). */
  readonly inner: number;
  /** The layer's activation; its derivative must be a function of the output (GRAD_FROM_OUTPUT). */
  readonly activation: Activation;
  readonly alpha?: number;
  /** Add the sums into out instead of overwriting it (dpre is always overwritten). */
  readonly accumulate?: boolean;
}

export interface ActivationBackwardSumBuffers {
  /** dy: (outer, channels, inner) row-major, the gradient of the layer's output. */
  readonly dy: BufferArg;
  /** y: the layer's output, same shape. */
  readonly y: BufferArg;
  /** dpre: the gradient before the activation, same shape (written). */
  readonly dpre: BufferArg;
  /** out: (channels), the bias gradient. */
  readonly out: BufferArg;
}

/**
 * The shares of shaders/act_sum.wgsl: `elements` (coalesced, any inner) or
 * `rows4` (whole rows as vec4; inner a multiple of 4 and the buffers vec4-aligned).
 */
export type ActSumSchedule = 'elements' | 'rows4';

/**
 * The calls computing dpre = dy ⊙ f′(y) and out[c] = Σ_{o,i} dpre[o, c, i]
 * (or out[c] += ...). Under the `gpu` kernel profile one act_sum pass; under
 * `cpu` one act_sum_rows4 pass when the rows are whole vec4, else
 * activationBackward then sumAxes (measured faster there than act_sum's
 * scalar loads). `schedule` forces one act_sum entry point (tests).
 */
export function activationBackwardSum(device: GPUDevice, bufs: ActivationBackwardSumBuffers, o: ActivationBackwardSumOptions & { readonly schedule?: ActSumSchedule }): KernelCall[] {
  const op = `activationBackwardSum ${o.activation} (${o.outer}, ${o.channels}, ${o.inner}) → (${o.channels})`;
  checkSizes('activationBackwardSum', { outer: o.outer, channels: o.channels, inner: o.inner });
  const total = o.outer * o.channels * o.inner;
  if (total > 0xffffffff) throw new Error(`${op}: ${total} elements exceed the u32 index range`);
  const alpha = alphaOf(o);
  checkGradFromOutput(op, o.activation, alpha);
  checkBuffer(op, 'dy', bufs.dy, total);
  checkBuffer(op, 'y', bufs.y, total);
  checkBuffer(op, 'dpre', bufs.dpre, total);
  checkBuffer(op, 'out', bufs.out, o.channels);
  checkDistinct(op, ['dpre', bufs.dpre], [['dy', bufs.dy], ['y', bufs.y]]);
  checkDistinct(op, ['out', bufs.out], [['dy', bufs.dy], ['y', bufs.y], ['dpre', bufs.dpre]]);
  const rows4Ok = o.inner % 4 === 0 && vec4Ok(total, [bufs.dy, bufs.y, bufs.dpre]);
  if (o.schedule === 'rows4' && !rows4Ok) throw new Error(`${op}: the rows4 schedule needs inner a multiple of 4 and 16-byte aligned buffers`);
  const cpu = kernelProfile(device) === 'cpu';
  const schedule = o.schedule ?? (!cpu ? 'elements' : rows4Ok ? 'rows4' : null);
  if (schedule === null) {
    return [
      activationBackward(device, { y: bufs.y, dy: bufs.dy, dx: bufs.dpre }, { n: total, activation: o.activation, alpha }),
      sumAxes(device, { x: bufs.dpre, out: bufs.out }, { outer: o.outer, channels: o.channels, inner: o.inner, accumulate: o.accumulate }),
    ];
  }
  const rows4 = schedule === 'rows4';
  return [makeCall(device, {
    shader: 'act_sum',
    entry: rows4 ? 'act_sum_rows4' : 'act_sum',
    label: rows4 ? `${op} [rows, vec4]` : op,
    constants: { ACT: activationCode(o.activation), TREE_WG: treeWorkgroupSize(device) },
    buffers: rows4 ? { dy4: bufs.dy, y_saved4: bufs.y, dpre4: bufs.dpre, out: bufs.out } : { dy: bufs.dy, y_saved: bufs.y, dpre: bufs.dpre, out: bufs.out },
    params: { outer: o.outer, channels: o.channels, inner: o.inner, accumulate: o.accumulate ? 1 : 0, alpha },
    // One workgroup per channel.
    workgroups: grid1d(device, o.channels, 1),
  })];
}
