/**
 * The latent variable: `reparameterize` (z = μ + exp(½ log σ²)·ε, ε from the
 * on-GPU Philox stream keyed by the seed and the step; z = μ when not
 * sampling) and its backward, `latent_backward`, which regenerates ε and
 * fuses the reparameterization's backward with the gradients of the KL
 * (β, free bits from the per-dimension KL) and of the latent L2 penalty γ·||z||².
 */
import { latentBackward as latentBackwardKernel } from '../../kernels/elbo.ts';
import { reparameterize as reparameterizeKernel } from '../../kernels/reparameterize.ts';
import { latentBackwardRef } from '../../ref/elbo.ts';
import type { OpDef } from '../op.ts';
import { gradLabel } from './labels.ts';

export interface LatentAttrs {
  /** Plain autoencoder: no KL term (β = 0). */
  readonly autoencoder: boolean;
}

/** Operations per element: μ + exp(½ log σ²)·ε, and the fused backward. */
const FLOPS = { forward: 3, backward: 8 } as const;

function dims(shape: readonly number[]): { batch: number; latent: number } {
  return { batch: shape[0]!, latent: shape[1]! };
}

export const reparameterizeOp: OpDef<LatentAttrs> = {
  name: 'reparameterize',
  compile(c, n) {
    const { batch, latent } = dims(c.graph.shape(n.ins.mu!));
    const call = reparameterizeKernel(c.device, { mu: c.at(n.ins.mu!), logvar: c.at(n.ins.logvar!), z: c.at(n.outs.z!) }, {
      batch, latent, seed: c.loss.seed, step: 0, sample: c.sample,
    });
    return [{ call, onStep: (k) => call.setParams({ step: k.step >>> 0 }) }];
  },
  backward(c, n) {
    const { mu, logvar } = n.ins as { mu: number; logvar: number };
    const z = n.outs.z!;
    if (!c.has(z)) return;
    if (!c.loss) throw new Error('autodiff: the latent backward needs the KL node of the loss');
    const dmu = c.write(mu)!;
    const dlogvar = c.write(logvar)!;
    if (dmu.accumulate !== dlogvar.accumulate) throw new Error('autodiff: μ and log σ² must both be written first by the latent backward, or both later');
    c.add({
      op: latentBackwardOp, ins: { dz: c.get(z), mu, logvar, klDim: c.loss.klDim }, outs: { dmu: dmu.d, dlogvar: dlogvar.d },
      attrs: n.attrs, label: gradLabel('reparameterize', 'dmu, dlogvar, with the KL and L2 terms', latentBackwardOp), accumulate: dmu.accumulate,
    });
  },
  cost: (g, n) => ({ flops: FLOPS.forward * g.shape(n.outs.z!).reduce((a, b) => a * b, 1) }),
  reference(r, n) {
    const mu = r.get(n.ins.mu!), logvar = r.get(n.ins.logvar!);
    const eps = r.eps;
    r.write(n, 'z', mu.map((m, i) => m + Math.exp(0.5 * logvar[i]!) * (eps ? eps[i]! : 0)));
  },
};

export const latentBackwardOp: OpDef<LatentAttrs> = {
  name: 'latent_backward',
  compile(c, n) {
    const { batch, latent } = dims(c.graph.shape(n.ins.mu!));
    const { freeBits, latentL2, seed, beta } = c.loss;
    const klBeta = (b: number) => (n.attrs.autoencoder ? 0 : b);
    const call = latentBackwardKernel(c.device, {
      dz: c.at(n.ins.dz!), mu: c.at(n.ins.mu!), logvar: c.at(n.ins.logvar!), klDim: c.at(n.ins.klDim!), dmu: c.at(n.outs.dmu!), dlogvar: c.at(n.outs.dlogvar!),
    }, { batch, latent, seed, step: 0, sample: c.sample, beta: klBeta(beta), gamma: latentL2, freeBits, gradScale: 1 / batch, accumulate: n.accumulate });
    return [{ call, onStep: (k) => call.setParams({ step: k.step >>> 0, beta: klBeta(k.beta) }) }];
  },
  cost: (g, n) => ({ flops: FLOPS.backward * g.shape(n.ins.mu!).reduce((a, b) => a * b, 1) }),
  reference(r, n) {
    const { batch, latent } = dims(r.graph.shape(n.ins.mu!));
    const { beta, freeBits, latentL2 } = r.loss;
    const g = latentBackwardRef(r.get(n.ins.dz!), r.get(n.ins.mu!), r.get(n.ins.logvar!), r.eps, r.get(n.ins.klDim!), {
      batch, latent, beta: n.attrs.autoencoder ? 0 : beta, gamma: latentL2, freeBits, gradScale: 1 / batch,
    });
    r.write(n, 'dmu', g.dmu);
    r.write(n, 'dlogvar', g.dlogvar);
  },
};
