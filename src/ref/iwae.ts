/**
 * Float64 CPU reference of shaders/iwae.wgsl: the importance-weighted bound
 * of K samples per input, its normalized weights and gradient scaling, the
 * statistics, and the encoder-side backward (IWAE, or the doubly
 * reparameterized DReG estimator).
 */
import { ELBO_STATS, ELBO_STATS_SIZE } from '../kernels/elbo-stats.ts';

type Arr = ArrayLike<number>;

/** L_b = log (1/K) Σ_k exp(lw_bk − recon_bk) and w̃_bk = softmax_k(lw_bk − recon_bk), for B inputs of K samples. */
export function iwaeBoundRef(recon: Arr, lw: Arr, batch: number, k: number): { bound: Float64Array; weights: Float64Array } {
  const bound = new Float64Array(batch);
  const weights = new Float64Array(batch * k);
  for (let b = 0; b < batch; b++) {
    let m = -Infinity;
    for (let i = 0; i < k; i++) m = Math.max(m, lw[b * k + i]! - recon[b * k + i]!);
    let s = 0;
    for (let i = 0; i < k; i++) s += Math.exp(lw[b * k + i]! - recon[b * k + i]! - m);
    for (let i = 0; i < k; i++) weights[b * k + i] = Math.exp(lw[b * k + i]! - recon[b * k + i]! - m) / s;
    bound[b] = m + Math.log(s) - Math.log(k);
  }
  return { bound, weights };
}

/** dlogits rows scaled by w̃ / B (the reconstruction kernel's unscaled gradient, of D values per row). */
export function iwaeScaleRef(dlogits: Arr, weights: Arr, batch: number, features: number): Float64Array {
  return Float64Array.from({ length: dlogits.length }, (_, i) => dlogits[i]! * weights[Math.floor(i / features)]! / batch);
}

/** The statistics (ELBO_STATS layout, count 1) and the batch-mean KL per dimension. */
export function iwaeStatsRef(bound: Arr, recon: Arr, mu: Arr, logvar: Arr, batch: number, latent: number): { stats: Float64Array; klDim: Float64Array } {
  const klDim = new Float64Array(latent);
  let kl = 0;
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < latent; j++) {
      const m = mu[b * latent + j]!, lv = logvar[b * latent + j]!;
      const e = 0.5 * (m * m + Math.expm1(lv) - lv);
      klDim[j] += e / batch;
      kl += e / batch;
    }
  }
  let sb = 0, sr = 0;
  for (let b = 0; b < batch; b++) sb += bound[b]!;
  for (let i = 0; i < recon.length; i++) sr += recon[i]!;
  const r = sr / recon.length;
  const stats = new Float64Array(ELBO_STATS_SIZE);
  stats[ELBO_STATS.loss] = -sb / batch;
  stats[ELBO_STATS.recon] = r;
  stats[ELBO_STATS.kl] = kl;
  stats[ELBO_STATS.klObjective] = kl;
  stats[ELBO_STATS.elbo] = -(r + kl);
  stats[ELBO_STATS.activeDims] = latent;
  stats[ELBO_STATS.count] = 1;
  return { stats, klDim };
}

/**
 * dmu, dlogvar (B, J) of the objective −(1/B) Σ_b L_b from dz (B·K, J), the
 * decoder's backward of the scaled dlogits, with ε (B·K, J) the samples' noise.
 * IWAE: g = dz + (w̃/B)·z; DReG: g = w̃·dz + (w̃²/B)(z − ε/σ) (no score term).
 */
export function iwaeLatentBackwardRef(dz: Arr, weights: Arr, mu: Arr, logvar: Arr, eps: Arr, batch: number, k: number, latent: number, dreg: boolean): { dmu: Float64Array; dlogvar: Float64Array } {
  const dmu = new Float64Array(batch * latent);
  const dlogvar = new Float64Array(batch * latent);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < latent; j++) {
      const i = b * latent + j;
      const sigma = Math.exp(0.5 * logvar[i]!);
      let gm = 0, gl = 0;
      for (let s = 0; s < k; s++) {
        const r = b * k + s;
        const e = eps[r * latent + j]!;
        const z = mu[i]! + sigma * e;
        const w = weights[r]!;
        const g = dreg ? w * dz[r * latent + j]! + (w * w / batch) * (z - e / sigma) : dz[r * latent + j]! + (w / batch) * z;
        gm += g;
        gl += g * 0.5 * sigma * e;
      }
      dmu[i] = gm;
      dlogvar[i] = dreg ? gl : gl - 0.5 / batch;
    }
  }
  return { dmu, dlogvar };
}

/**
 * K samples per input (iw_sample in shaders/iw.wgsl): z (B·K, J) = μ_b + σ_b ⊙ ε_r for
 * row r = b·K + k, and lw (B·K) = Σ_j ½(ε² + log σ² − z²) = log p(z) − log q(z|x).
 */
export function iwSampleRef(mu: Arr, logvar: Arr, eps: Arr, batch: number, k: number, latent: number): { z: Float64Array; lw: Float64Array } {
  const z = new Float64Array(batch * k * latent);
  const lw = new Float64Array(batch * k);
  for (let r = 0; r < batch * k; r++) {
    const b = Math.floor(r / k);
    for (let j = 0; j < latent; j++) {
      const i = b * latent + j, e = eps[r * latent + j]!;
      const zz = mu[i]! + Math.exp(0.5 * logvar[i]!) * e;
      z[r * latent + j] = zz;
      lw[r] += 0.5 * (e * e + logvar[i]! - zz * zz);
    }
  }
  return { z, lw };
}

/** out (B·K, D): row r is row floor(r / K) of x (B, D). */
export function iwaeRepeatRowsRef(x: Arr, batch: number, k: number, features: number): Float64Array {
  return Float64Array.from({ length: batch * k * features }, (_, i) => x[Math.floor(Math.floor(i / features) / k) * features + (i % features)]!);
}
