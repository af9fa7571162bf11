// Gaussian sampling from the Philox stream: raw words, standard normals, and
// the VAE's reparameterization z = μ + exp(½·logvar)·ε with its backward.
// requires: philox.wgsl
//
// Every draw comes from the stream (seed, step, stream) of philox.wgsl;
// element i (flat index, i = b·J + j for a (B, J) tensor) uses word i % 4 of
// block i / 4, so the same (seed, step, stream) gives the same ε in every
// entry point here and in the TypeScript mirror (src/ref/philox.ts).
//
// philox_raw      raw[i] = word (offset + i) of the stream, i < n       (u32)
// random_normal   eps[i] = standard normal (offset + i) of the stream    (f32)
//                 One invocation per element; dispatch grid1d(n, 256).
//
// reparameterize (forward), shapes mu, logvar, z, eps: (B, J) row-major, n = B·J:
//   sample = 1:  ε = normal i of the stream,  z = μ + exp(½·logvar)·ε
//   sample = 0:  z = μ (deterministic: evaluation, plain autoencoder), ε = 0
//   write_eps = 1 also stores ε (tests, debugging); otherwise eps is unused.
//
// latent_backward: the reparameterization's backward, optionally fused with
// the gradients of the KL and latent-L2 terms of the ELBO (elbo.wgsl): the
// graph op latent_backward (latentBackward; reparameterizeBackward is the
// same kernel with β = γ = 0 by default):
//   ε is regenerated from the same (seed, step, stream), not kept in a
//   buffer: a Philox block costs less than a (B, J) round trip through memory
//   and keeps the forward free of saved state. z = μ + σ·ε, σ = exp(½·logvar).
//   g       = dz + s·2γ·z                          (dz: upstream gradient, as given)
//   dmu     = g + s·β·a_j·μ
//   dlogvar = g·½σε + s·β·a_j·½(exp(logvar) − 1)
//   with s = grad_scale, and a_j = 1 unless free bits are on (free_bits = λ > 0)
//   and kl_dim[j] < λ, in which case a_j = 0 (kl_dim: (J), the batch-mean KL
//   per dimension written by elbo.wgsl's elbo_kl; unused when λ ≤ 0).
//   These are the gradients of s·[Σ_b (terms reaching z through dz)
//   + β·Σ_b Σ_j a_j·KL_bj + γ·Σ_b ||z_b||²]; with s = 1/B and λ = 0 this is the
//   batch-mean β-ELBO loss with an L2 penalty. The caller's dz is taken as
//   already scaled (it comes from a decoder whose output gradient carries s).
//   β = γ = 0 gives the bare reparameterization backward (dmu = dz,
//   dlogvar = dz·½σε). With sample = 0, ε = 0 (z = μ).
//   accumulate = 1 adds into dmu and dlogvar (the caller zeroes or initializes them).
//   One invocation per Philox block (4 consecutive elements); dispatch
//   grid1d(ceil(n / 4), 256).
//
// Range: exp(logvar) overflows f32 beyond logvar ≈ 88; no clamp is applied
// (a clamp would silently zero gradients). |logvar| ≤ 20 is comfortably safe.

struct Params {
  n: u32,
  offset: u32,
  latent: u32,
  seed: u32,
  step: u32,
  stream: u32,
  sample: u32,
  write_eps: u32,
  accumulate: u32,
  beta: f32,
  gamma: f32,
  free_bits: f32,
  grad_scale: f32,
}

@group(0) @binding(0) var<storage, read> mu: array<f32>;
@group(0) @binding(1) var<storage, read> logvar: array<f32>;
@group(0) @binding(2) var<storage, read> dz: array<f32>;
@group(0) @binding(3) var<storage, read> kl_dim: array<f32>;
@group(0) @binding(4) var<storage, read_write> raw: array<u32>;
@group(0) @binding(5) var<storage, read_write> eps: array<f32>;
@group(0) @binding(6) var<storage, read_write> z: array<f32>;
@group(0) @binding(7) var<storage, read_write> dmu: array<f32>;
@group(0) @binding(8) var<storage, read_write> dlogvar: array<f32>;
@group(0) @binding(9) var<uniform> params: Params;

const WG: u32 = 256u;

fn thread_index(wg: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(256, 1, 1)
fn philox_raw(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(wg, nwg, lid);
  if (i >= params.n) { return; }
  let e = params.offset + i;
  let w = philox_block(params.seed, params.step, params.stream, e >> 2u);
  raw[i] = w[e & 3u];
}

@compute @workgroup_size(256, 1, 1)
fn random_normal(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(wg, nwg, lid);
  if (i >= params.n) { return; }
  eps[i] = philox_normal(params.seed, params.step, params.stream, params.offset + i);
}

// The four normals of block `blk`, or zeros in deterministic mode.
fn block_eps(blk: u32) -> vec4f {
  if (params.sample == 0u) { return vec4f(0.0); }
  return philox_normals(philox_block(params.seed, params.step, params.stream, blk));
}

@compute @workgroup_size(256, 1, 1)
fn reparameterize(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let blk = thread_index(wg, nwg, lid);
  let i0 = blk * 4u;
  if (i0 >= params.n) { return; }
  let e4 = block_eps(blk);
  for (var l = 0u; l < 4u; l++) {
    let i = i0 + l;
    if (i >= params.n) { break; }
    let e = e4[l];
    z[i] = mu[i] + exp(0.5 * logvar[i]) * e;
    if (params.write_eps != 0u) { eps[i] = e; }
  }
}

@compute @workgroup_size(256, 1, 1)
fn latent_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let blk = thread_index(wg, nwg, lid);
  let i0 = blk * 4u;
  if (i0 >= params.n) { return; }
  let e4 = block_eps(blk);
  let s = params.grad_scale;
  for (var l = 0u; l < 4u; l++) {
    let i = i0 + l;
    if (i >= params.n) { break; }
    let e = e4[l];
    let m = mu[i];
    let lv = logvar[i];
    let sigma = exp(0.5 * lv);
    let zi = m + sigma * e;
    var on = 1.0;
    if (params.free_bits > 0.0 && kl_dim[i % params.latent] < params.free_bits) { on = 0.0; }
    let kl_scale = s * params.beta * on;
    let g = dz[i] + s * 2.0 * params.gamma * zi;
    var dm = g + kl_scale * m;
    var dlv = g * 0.5 * sigma * e + kl_scale * 0.5 * (exp(lv) - 1.0);
    if (params.accumulate != 0u) {
      dm += dmu[i];
      dlv += dlogvar[i];
    }
    dmu[i] = dm;
    dlogvar[i] = dlv;
  }
}
