/**
 * The importance-weighted objective (shaders/iwae.wgsl, iw_sample of
 * shaders/iw.wgsl) as graph nodes:
 *
 * - `iwae_sample` (forward): K samples z (B·K, J) per input from μ, log σ²
 *   (B, J) and lw = log p(z) − log q(z|x) per sample; its backward rule adds
 *   `iwae_latent_backward`, which regenerates ε and gives dμ, d log σ² of the
 *   IWAE gradient, or of the DReG estimator (`dreg`).
 * - `iwae_repeat_rows` (forward or loss): a (B, ...) tensor repeated to
 *   (B·K, ...) rows (x for the reconstruction term, the decoder's extra
 *   inputs); inputs only, so it has no backward rule.
 * - `iwae_bound` (loss): the bound L_b, the normalized weights w̃ and the
 *   reconstruction gradient, written unscaled by `elbo_recon`, scaled in place
 *   by w̃ / B (that node's seed is then the objective's gradient).
 * - `iwae_stats` (loss): the statistics (loss = −mean L_b, recon, KL) and
 *   the per-dimension KL the progress events read.
 */
import { iwSample } from '../../kernels/iw.ts';
import { iwaeBound, iwaeLatentBackward, iwaeRepeatRows, iwaeStats } from '../../kernels/iwae.ts';
import { iwaeBoundRef, iwaeLatentBackwardRef, iwaeRepeatRowsRef, iwaeScaleRef, iwaeStatsRef, iwSampleRef } from '../../ref/iwae.ts';
import { numel, type Graph } from '../ir.ts';
import type { OpDef } from '../op.ts';

export interface IwaeAttrs {
  /** K: samples per input. */
  readonly k: number;
  /** The doubly reparameterized estimator for the encoder (Tucker et al. 2019). */
  readonly dreg: boolean;
}

/** The Philox stream of the samples' noise: the reparameterization's, so K = 1 draws the ELBO's ε. */
export const IWAE_STREAM = 0;

/** Operations per element: the sample and its log weight; the per-sample weight and scaling; the backward's sums. */
const FLOPS = { sample: 8, bound: 2, stats: 6, backward: 12 } as const;

function latentDims(g: Graph, mu: number): { batch: number; latent: number } {
  const [batch, latent] = g.shape(mu) as [number, number];
  return { batch, latent };
}

export const iwaeSampleOp: OpDef<IwaeAttrs> = {
  name: 'iwae_sample',
  compile(c, n) {
    const { batch, latent } = latentDims(c.graph, n.ins.mu!);
    const call = iwSample(c.device, { mu: c.at(n.ins.mu!), logvar: c.at(n.ins.logvar!), z: c.at(n.outs.z!), lw: c.at(n.outs.lw!) }, {
      nx: batch, k: n.attrs.k, latent, seed: c.loss.seed, step: 0, stream: IWAE_STREAM,
    });
    return [{ call, onStep: (k) => call.setParams({ step: k.step >>> 0 }) }];
  },
  backward(c, n) {
    const { mu, logvar } = n.ins as { mu: number; logvar: number };
    const z = n.outs.z!;
    if (!c.has(z)) return;
    const weights = c.loss?.weights;
    if (weights === undefined || weights === null) throw new Error('autodiff: the importance-weighted latent backward needs the normalized weights of the iwae_bound loss node');
    const dmu = c.write(mu)!;
    const dlogvar = c.write(logvar)!;
    if (dmu.accumulate || dlogvar.accumulate) throw new Error('autodiff: μ and log σ² must be written first by the importance-weighted latent backward');
    c.add({
      op: iwaeLatentBackwardOp, ins: { dz: c.get(z), weights, mu, logvar }, outs: { dmu: dmu.d, dlogvar: dlogvar.d },
      attrs: n.attrs, label: `latent backward (${n.attrs.dreg ? 'DReG' : 'IWAE'}, K = ${n.attrs.k})`,
    });
  },
  cost: (g, n) => ({ flops: FLOPS.sample * numel(g.shape(n.outs.z!)) }),
  reference(r, n) {
    const { batch, latent } = latentDims(r.graph, n.ins.mu!);
    if (!r.eps || r.eps.length !== batch * n.attrs.k * latent) throw new Error(`reference: iwae_sample needs ε of ${batch * n.attrs.k * latent} values (B·K·J), got ${r.eps?.length ?? 'none'}`);
    const out = iwSampleRef(r.get(n.ins.mu!), r.get(n.ins.logvar!), r.eps, batch, n.attrs.k, latent);
    r.write(n, 'z', out.z);
    r.write(n, 'lw', out.lw);
  },
};

export const iwaeLatentBackwardOp: OpDef<IwaeAttrs> = {
  name: 'iwae_latent_backward',
  compile(c, n) {
    const { batch, latent } = latentDims(c.graph, n.ins.mu!);
    const call = iwaeLatentBackward(c.device, {
      dz: c.at(n.ins.dz!), weights: c.at(n.ins.weights!), mu: c.at(n.ins.mu!), logvar: c.at(n.ins.logvar!), dmu: c.at(n.outs.dmu!), dlogvar: c.at(n.outs.dlogvar!),
    }, { batch, k: n.attrs.k, latent, seed: c.loss.seed, step: 0, stream: IWAE_STREAM, dreg: n.attrs.dreg });
    return [{ call, onStep: (k) => call.setParams({ step: k.step >>> 0 }) }];
  },
  cost: (g, n) => ({ flops: FLOPS.backward * numel(g.shape(n.ins.dz!)) }),
  reference(r, n) {
    const { batch, latent } = latentDims(r.graph, n.ins.mu!);
    const g = iwaeLatentBackwardRef(r.get(n.ins.dz!), r.get(n.ins.weights!), r.get(n.ins.mu!), r.get(n.ins.logvar!), r.eps!, batch, n.attrs.k, latent, n.attrs.dreg);
    r.write(n, 'dmu', g.dmu);
    r.write(n, 'dlogvar', g.dlogvar);
  },
};

export interface RepeatRowsAttrs {
  readonly k: number;
}

function rowsAndFeatures(shape: readonly number[]): { batch: number; features: number } {
  return { batch: shape[0]!, features: numel(shape.slice(1)) };
}

export const iwaeRepeatOp: OpDef<RepeatRowsAttrs> = {
  name: 'iwae_repeat_rows',
  compile(c, n) {
    const { batch, features } = rowsAndFeatures(c.graph.shape(n.ins.x!));
    return [{ call: iwaeRepeatRows(c.device, { x: c.at(n.ins.x!), out: c.at(n.outs.out!) }, { batch, k: n.attrs.k, features }) }];
  },
  cost: () => ({ flops: 0 }),
  reference(r, n) {
    const { batch, features } = rowsAndFeatures(r.graph.shape(n.ins.x!));
    r.write(n, 'out', iwaeRepeatRowsRef(r.get(n.ins.x!), batch, n.attrs.k, features));
  },
};

/**
 * ins: recon (B·K), lw (B·K), and the tensors it scales in place (dlogits,
 * and a learned log σ's per-element gradient dlogSigma), also among its outs
 * with weights (B·K) and bound (B). One bound kernel per scaled tensor (the
 * weights are recomputed, to the same values).
 */
export const iwaeBoundOp: OpDef<RepeatRowsAttrs> = {
  name: 'iwae_bound',
  compile(c, n) {
    const batch = c.graph.shape(n.outs.bound!)[0]!;
    const scaled = ['dlogits', 'dlogSigma'].filter((k) => n.outs[k] !== undefined);
    return scaled.map((name) => {
      const features = numel(c.graph.shape(n.outs[name]!).slice(1));
      const call = iwaeBound(c.device, {
        recon: c.at(n.ins.recon!), lw: c.at(n.ins.lw!), weights: c.at(n.outs.weights!), bound: c.at(n.outs.bound!), dlogits: c.at(n.outs[name]!),
      }, { batch, k: n.attrs.k, features });
      return { call, label: `importance-weighted bound, ${name} scaled by w̃/B` };
    });
  },
  cost: (g, n) => ({ flops: FLOPS.bound * numel(g.shape(n.outs.dlogits!)) }),
  reference(r, n) {
    const batch = r.graph.shape(n.outs.bound!)[0]!;
    const { bound, weights } = iwaeBoundRef(r.get(n.ins.recon!), r.get(n.ins.lw!), batch, n.attrs.k);
    r.write(n, 'bound', bound);
    r.write(n, 'weights', weights);
    for (const name of ['dlogits', 'dlogSigma']) {
      const t = n.outs[name];
      if (t !== undefined) r.write(n, name, iwaeScaleRef(r.get(t), weights, batch, numel(r.graph.shape(t).slice(1))));
    }
  },
};

export const iwaeStatsOp: OpDef<RepeatRowsAttrs> = {
  name: 'iwae_stats',
  compile(c, n) {
    const { batch, latent } = latentDims(c.graph, n.ins.mu!);
    const call = iwaeStats(c.device, {
      bound: c.at(n.ins.bound!), recon: c.at(n.ins.recon!), mu: c.at(n.ins.mu!), logvar: c.at(n.ins.logvar!), klDim: c.at(n.outs.klDim!), stats: c.at(n.outs.stats!),
    }, { batch, k: n.attrs.k, latent });
    return [{ call }];
  },
  cost: (g, n) => ({ flops: FLOPS.stats * numel(g.shape(n.ins.mu!)) + numel(g.shape(n.ins.recon!)) }),
  reference(r, n) {
    const { batch, latent } = latentDims(r.graph, n.ins.mu!);
    const out = iwaeStatsRef(r.get(n.ins.bound!), r.get(n.ins.recon!), r.get(n.ins.mu!), r.get(n.ins.logvar!), batch, latent);
    r.write(n, 'klDim', out.klDim);
    r.write(n, 'stats', out.stats);
  },
};
