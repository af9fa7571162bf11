// The importance-weighted bound as a training objective (Burda et al. 2016,
// "Importance Weighted Autoencoders"), fused with the start of its backward
// pass, and the doubly reparameterized encoder gradient (Tucker et al. 2019).
// For input b and its K samples z_bk = μ_b + σ_b ⊙ ε_bk (iw_sample in iw.wgsl
// draws them and lw_bk = Σ_j ½(ε² + log σ² − z²)):
//     log w_bk = lw_bk − recon_bk          (recon: −log p(x_b | z_bk), elbo.wgsl with grad_scale 1)
//     L_b      = log (1/K) Σ_k exp(log w_bk)          the bound; the objective is −(1/B) Σ_b L_b
//     w̃_bk    = exp(log w_bk − max_k) / Σ_k exp(...)  the normalized weights
// The gradient of the objective is Σ_k w̃_bk ∇(−log w_bk) / B.
// requires: philox.wgsl
//
// iwae_repeat_rows   x (B, D) → out (B·K, D): row r of out is row r / K of x.
//                    One invocation per element; grid1d(B·K·D, 256).
// iwae_bound         recon (B·K), lw (B·K) → weights (B·K) = w̃, bound (B) = L_b,
//                    and dlogits (B·K, D), written by the reconstruction kernel
//                    unscaled, scaled in place by w̃_bk / B. One workgroup of 64
//                    per input b (K weights by a loop, then the K·D gradient
//                    values); grid1d(B, 1).
// iwae_stats         bound (B), recon (B·K), mu, logvar (B, J) → kl_dim (J)
//                    and stats (8, the layout of elbo.wgsl's), added to the
//                    sums already there: [0] loss = −mean L_b, [1] recon = mean
//                    recon_bk, [2] kl = mean KL(q(z|x_b) ‖ p(z)), [3] = kl,
//                    [4] 0, [5] −(recon + kl), [6] J, [7] count + 1. One
//                    workgroup; (1, 1, 1).
// iwae_latent_backward  dz (B·K, J) (the decoder's backward of the scaled
//                    dlogits: w̃/B · ∂recon/∂z), weights, mu, logvar → dmu,
//                    dlogvar (B, J), ε regenerated from the stream of iw_sample:
//       IWAE:  g = dz + (w̃/B)·z,                    dmu = Σ_k g,  dlogvar = Σ_k g·½σε − ½/B
//       DReG:  g = w̃·dz + (w̃²/B)·(z − ε/σ),         dmu = Σ_k g,  dlogvar = Σ_k g·½σε
//                    (dreg = 1). One invocation per (b, j); grid1d(B·J, 64).
// Shapes are row-major f32; row r = b·K + k holds sample k of input b.

struct Params {
  batch: u32,
  k: u32,
  features: u32,
  latent: u32,
  seed: u32,
  step: u32,
  stream: u32,
  dreg: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> recon_in: array<f32>;
@group(0) @binding(2) var<storage, read> lw: array<f32>;
@group(0) @binding(3) var<storage, read> bound_in: array<f32>;
@group(0) @binding(4) var<storage, read> dz: array<f32>;
@group(0) @binding(5) var<storage, read> weights_in: array<f32>;
@group(0) @binding(6) var<storage, read> mu: array<f32>;
@group(0) @binding(7) var<storage, read> logvar: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;
@group(0) @binding(9) var<storage, read_write> weights: array<f32>;
@group(0) @binding(10) var<storage, read_write> bound: array<f32>;
@group(0) @binding(11) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(12) var<storage, read_write> kl_dim: array<f32>;
@group(0) @binding(13) var<storage, read_write> stats: array<f32>;
@group(0) @binding(14) var<storage, read_write> dmu: array<f32>;
@group(0) @binding(15) var<storage, read_write> dlogvar: array<f32>;
@group(0) @binding(16) var<uniform> params: Params;

fn flat_index(wg: vec3u, nwg: vec3u, lid: u32, size: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * size + lid;
}

@compute @workgroup_size(256, 1, 1)
fn iwae_repeat_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wg, nwg, lid, 256u);
  let D = params.features;
  if (i >= params.batch * params.k * D) { return; }
  let r = i / D;
  out[i] = x[(r / params.k) * D + (i - r * D)];
}

@compute @workgroup_size(64, 1, 1)
fn iwae_bound(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let b = wg.x + wg.y * nwg.x;
  if (b >= params.batch) { return; }
  let K = params.k;
  let base = b * K;
  if (lid == 0u) {
    var m = -3.0e38;
    for (var k = 0u; k < K; k++) { m = max(m, lw[base + k] - recon_in[base + k]); }
    var s = 0.0;
    for (var k = 0u; k < K; k++) { s += exp(lw[base + k] - recon_in[base + k] - m); }
    for (var k = 0u; k < K; k++) { weights[base + k] = exp(lw[base + k] - recon_in[base + k] - m) / s; }
    bound[b] = m + log(s) - log(f32(K));
  }
  // The weights were written to storage by invocation 0: make them visible to the others.
  storageBarrier();
  let D = params.features;
  let inv_b = 1.0 / f32(params.batch);
  for (var i = lid; i < K * D; i += 64u) {
    let r = base + i / D;
    dlogits[base * D + i] = dlogits[base * D + i] * weights[r] * inv_b;
  }
}

@compute @workgroup_size(1, 1, 1)
fn iwae_stats() {
  let B = params.batch;
  let K = params.k;
  let J = params.latent;
  var sum_bound = 0.0;
  for (var b = 0u; b < B; b++) { sum_bound += bound_in[b]; }
  var sum_recon = 0.0;
  for (var r = 0u; r < B * K; r++) { sum_recon += recon_in[r]; }
  var sum_kl = 0.0;
  for (var j = 0u; j < J; j++) {
    var d = 0.0;
    for (var b = 0u; b < B; b++) {
      let m = mu[b * J + j];
      let lv = logvar[b * J + j];
      d += 0.5 * (m * m + exp(lv) - 1.0 - lv);
    }
    kl_dim[j] = d / f32(B);
    sum_kl += d;
  }
  let loss = -sum_bound / f32(B);
  let recon = sum_recon / f32(B * K);
  let kl = sum_kl / f32(B);
  stats[0] += loss;
  stats[1] += recon;
  stats[2] += kl;
  stats[3] += kl;
  stats[5] += -(recon + kl);
  stats[6] += f32(J);
  stats[7] += 1.0;
}

@compute @workgroup_size(64, 1, 1)
fn iwae_latent_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wg, nwg, lid, 64u);
  let J = params.latent;
  if (i >= params.batch * J) { return; }
  let b = i / J;
  let j = i - b * J;
  let K = params.k;
  let m = mu[i];
  let lv = logvar[i];
  let sigma = exp(0.5 * lv);
  let inv_b = 1.0 / f32(params.batch);
  var gm = 0.0;
  var gl = 0.0;
  for (var k = 0u; k < K; k++) {
    let r = b * K + k;
    let e = philox_normal(params.seed, params.step, params.stream, r * J + j);
    let z = m + sigma * e;
    let w = weights_in[r];
    var g: f32;
    if (params.dreg != 0u) {
      g = w * dz[r * J + j] + w * w * inv_b * (z - e / sigma);
    } else {
      g = dz[r * J + j] + w * inv_b * z;
    }
    gm += g;
    gl += g * 0.5 * sigma * e;
  }
  if (params.dreg == 0u) { gl -= 0.5 * inv_b; }
  dmu[i] = gm;
  dlogvar[i] = gl;
}
