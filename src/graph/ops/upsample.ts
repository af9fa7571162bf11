/**
 * `upsample_nearest2d`: nn.Upsample(scale_factor=s, mode='nearest') on
 * (B, C, H, W) maps, s a positive integer (default 2), for decoders that
 * upsample then convolve. Backward (`upsample_nearest2d_backward`): the
 * gradient summed over each s×s block.
 */
import { upsampleNearest2d, upsampleNearest2dBackward } from '../../kernels/upsample.ts';
import { upsampleNearest2dBackwardRef, upsampleNearest2dRef } from '../../ref/upsample.ts';
import { ModelSpecError } from '../errors.ts';
import type { LayerDef, OpDef } from '../op.ts';
import { positiveInt } from './fields.ts';
import { gradLabel } from './labels.ts';

export interface UpsampleLayer {
  readonly type: 'upsample_nearest2d';
  readonly name?: string;
  readonly inputs?: readonly string[];
  /** The factor on both spatial axes (default 2). */
  readonly scale?: number;
}

interface UpsampleAttrs {
  readonly batch: number;
  readonly channels: number;
  readonly inH: number;
  readonly inW: number;
  readonly scale: number;
  /** The layer's name (or place), for labels. */
  readonly layer: string;
}

function refSizes(a: UpsampleAttrs) {
  return { planes: a.batch * a.channels, h: a.inH, w: a.inW, scale: a.scale };
}

function refOptions(a: UpsampleAttrs) {
  return { batch: a.batch, channels: a.channels, inH: a.inH, inW: a.inW, scale: a.scale };
}

/** Elements of the upsampled map. */
function outputCount(a: UpsampleAttrs): number {
  return a.batch * a.channels * a.inH * a.inW * a.scale * a.scale;
}

export const upsampleBackwardOp: OpDef<UpsampleAttrs> = {
  name: 'upsample_nearest2d_backward',
  compile(c, n) {
    return [{ call: upsampleNearest2dBackward(c.device, { dy: c.at(n.ins.dy!), dx: c.at(n.outs.dx!) }, { ...refOptions(n.attrs), accumulate: n.accumulate }) }];
  },
  // One addition per element of dy.
  cost: (_g, n) => ({ flops: outputCount(n.attrs) }),
  reference(r, n) {
    r.write(n, 'dx', upsampleNearest2dBackwardRef(r.get(n.ins.dy!), refSizes(n.attrs)));
  },
};

export const upsampleOp: OpDef<UpsampleAttrs> = {
  name: 'upsample_nearest2d',
  compile(c, n) {
    return [{ call: upsampleNearest2d(c.device, { x: c.at(n.ins.x!), y: c.at(n.outs.y!) }, refOptions(n.attrs)) }];
  },
  backward(c, n) {
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const dx = c.write(n.ins.x!);
    if (dx) c.add({ op: upsampleBackwardOp, ins: { dy: c.get(y) }, outs: { dx: dx.d }, attrs: n.attrs, label: gradLabel(n.attrs.layer, `dX = dY summed over ${n.attrs.scale}×${n.attrs.scale} blocks`, upsampleBackwardOp), accumulate: dx.accumulate });
  },
  // A copy: no arithmetic.
  cost: () => ({ flops: 0 }),
  reference(r, n) {
    r.write(n, 'y', upsampleNearest2dRef(r.get(n.ins.x!), refSizes(n.attrs)));
  },
};

export const upsampleLayer: LayerDef<UpsampleLayer> = {
  type: 'upsample_nearest2d',
  fields: ['scale'],
  arity: 1,
  hasParams: false,
  parse: (raw, path) => ({ scale: positiveInt(raw.scale ?? 2, `${path}.scale`) }),
  build(b, l, [x], where) {
    const s = b.graph.shape(x!);
    const label = l.name ?? where;
    if (s.length !== 4) {
      throw new ModelSpecError(`${where} (upsample_nearest2d${l.name ? ` '${l.name}'` : ''}): input has shape [${s.join(', ')}]; expected [batch, channels, height, width] (add a reshape layer before it)`);
    }
    const [batch, channels, inH, inW] = s as [number, number, number, number];
    const scale = l.scale ?? 2;
    const y = b.temp(`${label}.up`, [batch, channels, inH * scale, inW * scale]);
    b.add({ op: upsampleOp, ins: { x: x! }, outs: { y }, attrs: { batch, channels, inH, inW, scale, layer: label }, label: `${label} forward (nearest ×${scale})` });
    return y;
  },
};
