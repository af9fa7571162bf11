/**
 * A float64 CPU reference of one training step of a ModelSpec: forward
 * through the layers, the loss, and the gradient of every parameter, written
 * layer by layer from the kernel references in src/ref (independent of the
 * graph IR and of the GPU). Used to check the compiled GPU step.
 */
import { actForward, actGrad } from '../ref/activation.ts';
import { conv2dBackwardRef, conv2dRef, convTranspose2dBackwardRef, convTranspose2dRef } from '../ref/conv.ts';
import { elboKlRef, elboReconRef, latentBackwardRef } from '../ref/elbo.ts';
import { matmulBackwardRef, matmulRef } from '../ref/matmul.ts';
import type { LayerSpec, ModelSpec } from './spec.ts';

export interface ReferenceLoss {
  readonly beta: number;
  readonly freeBits: number;
  readonly latentL2: number;
}

export interface ReferenceResult {
  /** Batch means: objective, reconstruction, KL. */
  readonly loss: number;
  readonly recon: number;
  readonly kl: number;
  readonly mu: Float64Array;
  readonly logvar: Float64Array;
  readonly z: Float64Array;
  readonly logits: Float64Array;
  /** Gradient of the objective w.r.t. each parameter, by state_dict name. */
  readonly grads: Map<string, Float64Array<ArrayBufferLike>>;
}

type Shape = number[];
type F64 = Float64Array<ArrayBufferLike>;

interface Tape {
  readonly layer: LayerSpec;
  readonly x: Float64Array;
  readonly inShape: Shape;
  readonly outShape: Shape;
}

function convOpts(l: Extract<LayerSpec, { type: 'conv2d' | 'conv_transpose2d' }>, B: number, s: Shape) {
  return {
    batch: B, inChannels: s[0]!, outChannels: l.out, inH: s[1]!, inW: s[2]!, kernel: l.kernel,
    stride: l.stride ?? 1, padding: l.padding ?? 0, dilation: l.dilation ?? 1,
    ...(l.type === 'conv_transpose2d' ? { outputPadding: l.outputPadding ?? 0 } : {}),
    activation: l.activation ?? 'identity',
  };
}

function p(params: ReadonlyMap<string, Float64Array>, name: string): Float64Array {
  const v = params.get(name);
  if (!v) throw new Error(`reference: no parameter '${name}'`);
  return v;
}

function forwardLayer(l: LayerSpec, x: Float64Array, s: Shape, B: number, params: ReadonlyMap<string, Float64Array>): [Float64Array, Shape] {
  switch (l.type) {
    case 'dense': {
      const I = s.reduce((a, b) => a * b, 1);
      const y = matmulRef(x, p(params, `${l.name}.weight`), p(params, `${l.name}.bias`), { m: B, n: l.out, k: I, transB: true, activation: l.activation ?? 'identity' });
      return [y, [l.out]];
    }
    case 'conv2d': {
      const o = convOpts(l, B, s);
      const y = conv2dRef(x, p(params, `${l.name}.weight`), p(params, `${l.name}.bias`), o);
      const hw = y.length / B / l.out;
      const oh = Math.floor((s[1]! + 2 * o.padding - o.dilation * (l.kernel - 1) - 1) / o.stride) + 1;
      return [y, [l.out, oh, hw / oh]];
    }
    case 'conv_transpose2d': {
      const o = convOpts(l, B, s);
      const y = convTranspose2dRef(x, p(params, `${l.name}.weight`), p(params, `${l.name}.bias`), o);
      const oh = (s[1]! - 1) * o.stride - 2 * o.padding + o.dilation * (l.kernel - 1) + (o.outputPadding ?? 0) + 1;
      return [y, [l.out, oh, y.length / B / l.out / oh]];
    }
    case 'activation':
      return [x.map((v) => actForward(l.activation, v)), s];
    case 'flatten':
      return [x, [s.reduce((a, b) => a * b, 1)]];
    case 'reshape':
      return [x, [...l.shape]];
  }
}

/** Accumulates dx for the layer's input and writes its parameter gradients into `grads`. */
function backwardLayer(t: Tape, dy: F64, B: number, params: ReadonlyMap<string, Float64Array>, grads: Map<string, F64>): F64 {
  const l = t.layer;
  switch (l.type) {
    case 'dense': {
      const I = t.inShape.reduce((a, b) => a * b, 1);
      const w = p(params, `${l.name}.weight`), b = p(params, `${l.name}.bias`);
      const g = matmulBackwardRef(t.x, w, b, dy, { m: B, n: l.out, k: I, transB: true, activation: l.activation ?? 'identity' });
      grads.set(`${l.name}.weight`, g.db);
      grads.set(`${l.name}.bias`, g.dbias);
      return g.da;
    }
    case 'conv2d': {
      const g = conv2dBackwardRef(t.x, p(params, `${l.name}.weight`), p(params, `${l.name}.bias`), dy, convOpts(l, B, t.inShape));
      grads.set(`${l.name}.weight`, g.dweight);
      grads.set(`${l.name}.bias`, g.dbias);
      return g.dx;
    }
    case 'conv_transpose2d': {
      const g = convTranspose2dBackwardRef(t.x, p(params, `${l.name}.weight`), p(params, `${l.name}.bias`), dy, convOpts(l, B, t.inShape));
      grads.set(`${l.name}.weight`, g.dweight);
      grads.set(`${l.name}.bias`, g.dbias);
      return g.dx;
    }
    case 'activation':
      return dy.map((v, i) => v * actGrad(l.activation, t.x[i]!));
    case 'flatten':
    case 'reshape':
      return dy;
  }
}

/**
 * One step in float64: x is (B, ...input), eps (B, J) the latent noise (ignored
 * for an autoencoder). The objective is the batch mean
 *   recon + β·Σ_j max(λ, klDim_j) + γ·||z||²,
 * as the GPU kernels define it.
 */
export function referenceStep(
  spec: ModelSpec,
  batch: number,
  params: ReadonlyMap<string, Float64Array>,
  x: Float64Array,
  eps: Float64Array,
  loss: ReferenceLoss,
): ReferenceResult {
  const B = batch;
  const J = spec.latent;
  const run = (layers: readonly LayerSpec[], input: Float64Array, shape: Shape, tape: Tape[]): [Float64Array, Shape] => {
    let h = input, s = shape;
    for (const l of layers) {
      const [y, ys] = forwardLayer(l, h, s, B, params);
      tape.push({ layer: l, x: h, inShape: s, outShape: ys });
      h = y;
      s = ys;
    }
    return [h, s];
  };
  const encTape: Tape[] = [];
  const [h, hs] = run(spec.encoder, x, [...spec.input], encTape);
  const muL: LayerSpec = { type: 'dense', name: spec.heads.mu, out: J };
  const lvL: LayerSpec = { type: 'dense', name: spec.heads.logvar, out: J };
  const [mu] = forwardLayer(muL, h, hs, B, params);
  const [logvar] = forwardLayer(lvL, h, hs, B, params);
  const sample = !spec.autoencoder;
  const beta = sample ? loss.beta : 0;
  const e = sample ? eps : new Float64Array(B * J);
  const z = mu.map((m, i) => m + Math.exp(0.5 * logvar[i]!) * e[i]!);
  const decTape: Tape[] = [];
  const [logits] = run(spec.decoder, z, [J], decTape);
  const D = spec.input.reduce((a, b) => a * b, 1);
  const lk = spec.likelihood;
  const rec = elboReconRef(logits, x, {
    batch: B, features: D, likelihood: lk.type, gradScale: 1 / B,
    ...(lk.type === 'categorical' ? { groups: D / lk.classes } : {}),
    ...(lk.type === 'gaussian' ? { logSigma: lk.logSigma ?? 0 } : {}),
  });
  const kl = elboKlRef(rec.recon, mu, logvar, z, { batch: B, latent: J, beta, gamma: loss.latentL2, freeBits: loss.freeBits });
  const grads = new Map<string, F64>();
  let dy: F64 = Float64Array.from(rec.dlogits);
  for (let i = decTape.length - 1; i >= 0; i--) dy = backwardLayer(decTape[i]!, dy, B, params, grads);
  const lat = latentBackwardRef(dy, mu, logvar, e, kl.klDim, { batch: B, latent: J, beta, gamma: loss.latentL2, freeBits: loss.freeBits, gradScale: 1 / B });
  const hTape = (l: LayerSpec): Tape => ({ layer: l, x: h, inShape: hs, outShape: [J] });
  const dh1 = backwardLayer(hTape(muL), lat.dmu, B, params, grads);
  const dh2 = backwardLayer(hTape(lvL), lat.dlogvar, B, params, grads);
  let dh: F64 = dh1.map((v, i) => v + dh2[i]!);
  for (let i = encTape.length - 1; i >= 0; i--) dh = backwardLayer(encTape[i]!, dh, B, params, grads);
  const st = kl.stats;
  return { loss: st[0]!, recon: st[1]!, kl: st[2]!, mu, logvar, z, logits, grads };
}
