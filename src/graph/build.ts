/**
 * From a ModelSpec and a batch size to the forward graph: shape inference
 * (with errors that name the layer and both shapes), parameters in PyTorch's
 * layouts and state_dict order, and the loss nodes.
 */
import { GRAD_FROM_OUTPUT, type Activation } from '../kernels/activation-codes.ts';
import { ModelSpecError, type LayerSpec, type ModelSpec } from '../model/spec.ts';
import { Graph, numel, type ConvGeometry } from './ir.ts';

export interface ParamInfo {
  /** state_dict name, e.g. "fc1.weight". */
  readonly name: string;
  readonly tensor: number;
  readonly shape: readonly number[];
  /** PyTorch's default init bound: U(-bound, bound). */
  readonly initBound: number;
}

/** What every compiled graph has: its tensors and nodes, the parameters it reads, its input. */
export interface GraphBase {
  readonly graph: Graph;
  readonly spec: ModelSpec;
  readonly batch: number;
  /** The parameters this graph reads (a subset of the model's, for a part). */
  readonly params: readonly ParamInfo[];
  /** The tensor written by the caller or the data step (role 'input'). */
  readonly input: number;
}

export interface ForwardGraph extends GraphBase {
  /** Batch input (B, ...input). */
  readonly x: number;
  readonly mu: number;
  readonly logvar: number;
  readonly z: number;
  /** Decoder output (likelihood parameters), shaped like x. */
  readonly logits: number;
  /** Set when the loss nodes were added. */
  readonly loss?: { readonly recon: number; readonly dlogits: number; readonly kl: number; readonly total: number; readonly klDim: number; readonly stats: number };
}

export { ELBO_STATS_SIZE as STATS_LENGTH } from '../kernels/elbo.ts';

class Builder {
  readonly g = new Graph();
  readonly params: ParamInfo[] = [];
  private readonly names = new Set<string>();

  constructor(readonly spec: ModelSpec, readonly batch: number) {}

  param(name: string, shape: number[], bound: number, where: string): number {
    if (this.names.has(name)) throw new ModelSpecError(`${where}: parameter name '${name}' is used twice`);
    this.names.add(name);
    const t = this.g.tensor(name, shape, 'param');
    this.params.push({ name, tensor: t, shape, initBound: bound });
    return t;
  }

  /** Applies `layer` to tensor `x` and returns the output tensor. */
  layer(l: LayerSpec, x: number, where: string): number {
    const g = this.g;
    const s = g.shape(x);
    const B = this.batch;
    const fused = (act: Activation | undefined): { fuse: Activation; after?: Activation } =>
      !act || act === 'identity' ? { fuse: 'identity' } : GRAD_FROM_OUTPUT.has(act) ? { fuse: act } : { fuse: 'identity', after: act };
    switch (l.type) {
      case 'dense': {
        if (s.length !== 2) {
          throw new ModelSpecError(`${where} (dense '${l.name}'): input has shape [${s.join(', ')}]; a dense layer needs [batch, features]: add a flatten layer before it`);
        }
        const fin = s[1]!;
        const bound = 1 / Math.sqrt(fin);
        const w = this.param(`${l.name}.weight`, [l.out, fin], bound, where);
        const b = this.param(`${l.name}.bias`, [l.out], bound, where);
        const { fuse, after } = fused(l.activation);
        const y = g.tensor(`${l.name}.out`, [B, l.out], 'temp');
        g.add({ op: 'dense', x, w, b, y, act: fuse, layer: l.name });
        return after ? this.activation(after, y, l.name) : y;
      }
      case 'conv2d':
      case 'conv_transpose2d': {
        if (s.length !== 4) {
          throw new ModelSpecError(`${where} (${l.type} '${l.name}'): input has shape [${s.join(', ')}]; expected [batch, channels, height, width] (add a reshape layer before it)`);
        }
        const [, cin, h, w] = s as [number, number, number, number];
        const k = l.kernel, stride = l.stride ?? 1, pad = l.padding ?? 0, dil = l.dilation ?? 1;
        const op = l.type === 'conv_transpose2d' ? l.outputPadding ?? 0 : 0;
        let oh: number, ow: number;
        if (l.type === 'conv2d') {
          oh = Math.floor((h + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
          ow = Math.floor((w + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
        } else {
          if (op >= stride && op >= dil) {
            throw new ModelSpecError(`${where} (conv_transpose2d '${l.name}'): outputPadding ${op} must be smaller than stride ${stride} or dilation ${dil}`);
          }
          oh = (h - 1) * stride - 2 * pad + dil * (k - 1) + op + 1;
          ow = (w - 1) * stride - 2 * pad + dil * (k - 1) + op + 1;
        }
        if (oh <= 0 || ow <= 0) {
          throw new ModelSpecError(`${where} (${l.type} '${l.name}'): input ${h}x${w} with kernel ${k}, stride ${stride}, padding ${pad}, dilation ${dil} gives an empty output (${oh}x${ow})`);
        }
        const geom: ConvGeometry = { batch: B, inChannels: cin, outChannels: l.out, inH: h, inW: w, outH: oh, outW: ow, kernel: k, stride, padding: pad, dilation: dil, outputPadding: op };
        // PyTorch computes fan_in from weight dim 1: Cin·k·k for Conv2d, Cout·k·k for ConvTranspose2d.
        const fanIn = (l.type === 'conv2d' ? cin : l.out) * k * k;
        const bound = 1 / Math.sqrt(fanIn);
        const wShape = l.type === 'conv2d' ? [l.out, cin, k, k] : [cin, l.out, k, k];
        const wt = this.param(`${l.name}.weight`, wShape, bound, where);
        const bt = this.param(`${l.name}.bias`, [l.out], bound, where);
        const { fuse, after } = fused(l.activation);
        const y = g.tensor(`${l.name}.out`, [B, l.out, oh, ow], 'temp');
        g.add({ op: l.type, x, w: wt, b: bt, y, act: fuse, geom, layer: l.name });
        return after ? this.activation(after, y, l.name) : y;
      }
      case 'activation':
        return this.activation(l.activation, x, where);
      case 'flatten':
        return g.tensor(`${g.tensors[x]!.name}.flat`, [B, numel(s.slice(1))], 'temp', x);
      case 'reshape': {
        const want = numel(l.shape);
        const have = numel(s.slice(1));
        if (want !== have) {
          throw new ModelSpecError(`${where} (reshape): cannot reshape [${s.slice(1).join(', ')}] (${have} values per sample) to [${l.shape.join(', ')}] (${want})`);
        }
        return g.tensor(`${g.tensors[x]!.name}.view`, [B, ...l.shape], 'temp', x);
      }
    }
  }

  activation(act: Activation, x: number, where: string): number {
    const y = this.g.tensor(`${where}.${act}`, this.g.shape(x), 'temp');
    this.g.add({ op: 'activation', x, y, act });
    return y;
  }
}

/** Builds the forward graph (encoder, heads, reparameterization, decoder) for a batch size. */
export function buildForward(spec: ModelSpec, batch: number): ForwardGraph {
  if (!Number.isInteger(batch) || batch <= 0) throw new ModelSpecError(`batch: expected a positive integer, got ${batch}`);
  const b = new Builder(spec, batch);
  const g = b.g;
  const x = g.tensor('x', [batch, ...spec.input], 'input');
  let h = x;
  spec.encoder.forEach((l, i) => (h = b.layer(l, h, `encoder[${i}]`)));
  const hs = g.shape(h);
  if (hs.length !== 2) {
    throw new ModelSpecError(`encoder: its output has shape [${hs.join(', ')}]; the μ and log σ² heads need [batch, features]: end the encoder with a flatten layer`);
  }
  const mu = b.layer({ type: 'dense', name: spec.heads.mu, out: spec.latent }, h, 'heads.mu');
  const logvar = b.layer({ type: 'dense', name: spec.heads.logvar, out: spec.latent }, h, 'heads.logvar');
  const z = g.tensor('z', [batch, spec.latent], 'temp');
  g.add({ op: 'reparameterize', mu, logvar, z, sample: !spec.autoencoder });
  let y = z;
  spec.decoder.forEach((l, i) => (y = b.layer(l, y, `decoder[${i}]`)));
  const ys = g.shape(y);
  const d = numel(spec.input);
  if (numel(ys.slice(1)) !== d) {
    throw new ModelSpecError(`decoder: its output has shape [${ys.slice(1).join(', ')}] per sample (${numel(ys.slice(1))} values); the input has [${spec.input.join(', ')}] (${d}): the decoder must end at the input's size`);
  }
  if (spec.likelihood.type === 'categorical' && d % spec.likelihood.classes !== 0) {
    throw new ModelSpecError(`likelihood.classes: ${spec.likelihood.classes} does not divide the ${d} features per sample`);
  }
  const logits = ys.length === 1 + spec.input.length && ys.every((v, i) => v === [batch, ...spec.input][i]) ? y : g.tensor('logits', [batch, ...spec.input], 'temp', y);
  for (const t of [mu, logvar, z, logits]) g.outputs.add(t);
  return { graph: g, spec, batch, params: b.params, input: x, x, mu, logvar, z, logits };
}

/** The encoder alone: x (B, ...input) → μ, log σ² (B, J). */
export function buildEncoder(spec: ModelSpec, batch: number): GraphBase & { readonly mu: number; readonly logvar: number } {
  const b = new Builder(spec, batch);
  const x = b.g.tensor('x', [batch, ...spec.input], 'input');
  let h = x;
  spec.encoder.forEach((l, i) => (h = b.layer(l, h, `encoder[${i}]`)));
  const mu = b.layer({ type: 'dense', name: spec.heads.mu, out: spec.latent }, h, 'heads.mu');
  const logvar = b.layer({ type: 'dense', name: spec.heads.logvar, out: spec.latent }, h, 'heads.logvar');
  b.g.outputs.add(mu);
  b.g.outputs.add(logvar);
  return { graph: b.g, spec, batch, params: b.params, input: x, mu, logvar };
}

/** The decoder alone: z (B, J) → the likelihood's parameters (B, ...input). */
export function buildDecoder(spec: ModelSpec, batch: number): GraphBase & { readonly logits: number } {
  const b = new Builder(spec, batch);
  const z = b.g.tensor('z', [batch, spec.latent], 'input');
  let y = z;
  spec.decoder.forEach((l, i) => (y = b.layer(l, y, `decoder[${i}]`)));
  b.g.outputs.add(y);
  return { graph: b.g, spec, batch, params: b.params, input: z, logits: y };
}

const layouts = new WeakMap<ModelSpec, { names: Map<string, number>; total: number }>();

/**
 * Float offset of every parameter of the model in the parameter block, by
 * state_dict name (each aligned to 64 floats so it can be bound on its own),
 * and the block's size. Parts of the model bind the same block.
 */
export function modelLayout(spec: ModelSpec): { names: ReadonlyMap<string, number>; total: number } {
  let l = layouts.get(spec);
  if (!l) {
    const names = new Map<string, number>();
    let pos = 0;
    for (const p of buildForward(spec, 1).params) {
      names.set(p.name, pos);
      pos += Math.ceil(numel(p.shape) / 64) * 64;
    }
    l = { names, total: Math.max(pos, 64) };
    layouts.set(spec, l);
  }
  return l;
}
