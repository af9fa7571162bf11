/**
 * The VAE loss, fused with the start of the backward pass: `elbo_recon`
 * (reconstruction NLL per sample and, in the same kernel, the gradient of the
 * batch-mean NLL w.r.t. the decoder output: it seeds autodiff) and `elbo_kl`
 * (KL per sample and per dimension, the totals and the batch statistics,
 * accumulated across steps). The KL and L2 gradients are applied by the
 * latent backward (ops/latent.ts), which reads the per-dimension KL.
 */
import { ELBO_STATS, ELBO_STATS_SIZE } from '../../kernels/elbo-stats.ts';
import { elboKl, elboRecon } from '../../kernels/elbo.ts';
import { elboKlRef, elboReconRef } from '../../ref/elbo.ts';
import { numel } from '../ir.ts';
import type { OpDef } from '../op.ts';
import { sumAxesNode } from './sum-axes.ts';
import type { LikelihoodSpec } from '../spec.ts';

export { ELBO_STATS, ELBO_STATS_SIZE };

/** Operations per element (exp/log count as one): softplus, product, sum and σ(l) − x for the gradient; the KL. */
const FLOPS = { recon: 8, kl: 6 } as const;

export interface ReconAttrs {
  readonly likelihood: LikelihoodSpec;
  /** The gradient of each row's NLL as it is (an importance-weighted bound scales it), not of the batch mean. */
  readonly unscaled?: boolean;
}

function reconOptions(lk: LikelihoodSpec, batch: number, features: number, unscaled = false) {
  const learned = lk.type === 'gaussian' && !!lk.learnSigma;
  return {
    batch, features, likelihood: lk.type, gradScale: unscaled ? 1 : 1 / batch,
    ...(lk.type === 'categorical' ? { groups: features / lk.classes } : {}),
    ...(lk.type === 'gaussian' ? (learned ? { logSigmaPerFeature: true } : { logSigma: lk.logSigma ?? 0 }) : {}),
  };
}

function batchAndFeatures(shape: readonly number[]): { batch: number; features: number } {
  return { batch: shape[0]!, features: numel(shape.slice(1)) };
}

export const elboReconOp: OpDef<ReconAttrs> = {
  name: 'elbo_recon',
  compile(c, n) {
    const { batch, features } = batchAndFeatures(c.graph.shape(n.ins.logits!));
    const lk = n.attrs.likelihood;
    const bufs = {
      logits: c.at(n.ins.logits!), x: c.at(n.ins.x!), recon: c.at(n.outs.recon!), dlogits: c.at(n.outs.dlogits!),
      ...(n.ins.logSigma !== undefined ? { logSigma: c.at(n.ins.logSigma), dlogSigma: c.at(n.outs.dlogSigma!) } : {}),
    };
    return [{ call: elboRecon(c.device, bufs, reconOptions(lk, batch, features, n.attrs.unscaled)), label: n.label }];
  },
  seeds: (n) => [[n.ins.logits!, n.outs.dlogits!]],
  backward(c, n) {
    // A learned log σ per feature: its gradient is the per-element one the kernel wrote, summed over the batch.
    const logSigma = n.ins.logSigma;
    if (logSigma === undefined) return;
    const { batch, features } = batchAndFeatures(c.graph.shape(n.ins.logits!));
    const d = c.write(logSigma)!;
    c.add(sumAxesNode(n.outs.dlogSigma!, d.d, { outer: batch, channels: features, inner: 1 }, 'log_sigma: dlog σ', d.accumulate));
  },
  cost: (g, n) => ({ flops: FLOPS.recon * numel(g.shape(n.ins.logits!)) }),
  reference(r, n) {
    const { batch, features } = batchAndFeatures(r.graph.shape(n.ins.logits!));
    const o = reconOptions(n.attrs.likelihood, batch, features, n.attrs.unscaled);
    // The per-feature log σ as the reference takes it: one per element.
    const logSigma = n.ins.logSigma === undefined ? null : (() => {
      const ls = r.get(n.ins.logSigma!);
      return Float64Array.from({ length: batch * features }, (_, i) => ls[i % features]!);
    })();
    const out = elboReconRef(r.get(n.ins.logits!), r.get(n.ins.x!), o, logSigma);
    r.write(n, 'recon', out.recon);
    r.write(n, 'dlogits', out.dlogits);
    if (out.dlogSigma) r.write(n, 'dlogSigma', out.dlogSigma);
  },
};

export interface KlAttrs {
  /** Plain autoencoder: the KL is reported but not weighted (β = 0). */
  readonly autoencoder: boolean;
}

export const elboKlOp: OpDef<KlAttrs> = {
  name: 'elbo_kl',
  compile(c, n) {
    const [batch, latent] = c.graph.shape(n.ins.mu!) as [number, number];
    const klBeta = (b: number) => (n.attrs.autoencoder ? 0 : b);
    const { beta, latentL2, freeBits } = c.loss;
    const call = elboKl(c.device, {
      recon: c.at(n.ins.recon!), mu: c.at(n.ins.mu!), logvar: c.at(n.ins.logvar!), z: c.at(n.ins.z!),
      klDim: c.at(n.outs.klDim!), kl: c.at(n.outs.kl!), total: c.at(n.outs.total!), stats: c.at(n.outs.stats!),
    }, { batch, latent, beta: klBeta(beta), gamma: latentL2, freeBits, accumulate: true });
    return [{ call, label: 'KL and statistics', onStep: (k) => call.setParams({ beta: klBeta(k.beta) }) }];
  },
  cost: (g, n) => ({ flops: FLOPS.kl * numel(g.shape(n.ins.mu!)) }),
  reference(r, n) {
    const [batch, latent] = r.graph.shape(n.ins.mu!) as [number, number];
    const { beta, latentL2, freeBits } = r.loss;
    const out = elboKlRef(r.get(n.ins.recon!), r.get(n.ins.mu!), r.get(n.ins.logvar!), r.get(n.ins.z!), {
      batch, latent, beta: n.attrs.autoencoder ? 0 : beta, gamma: latentL2, freeBits,
    });
    r.write(n, 'kl', out.kl);
    r.write(n, 'total', out.total);
    r.write(n, 'klDim', out.klDim);
    r.write(n, 'stats', out.stats);
  },
};

export type ElboStats = Record<keyof typeof ELBO_STATS, number>;

/** The statistics by name from the bytes of the statistics tensor. */
export function decodeElboStats(bytes: ArrayBuffer): ElboStats {
  const v = new Float32Array(bytes);
  const out = {} as ElboStats;
  for (const [k, i] of Object.entries(ELBO_STATS) as [keyof typeof ELBO_STATS, number][]) out[k] = v[i]!;
  return out;
}
