// Importance-weighted log-likelihood (Burda et al. 2016): for each input x_i
// and K samples z_ik = μ_i + σ_i ε_ik from q(z|x_i),
//     log p(x_i) ≈ log (1/K) Σ_k exp(w_ik),
//     w_ik = log p(x_i|z_ik) + log p(z_ik) − log q(z_ik|x_i)
//          = −recon_ik + Σ_j ½(ε_ikj² + logvar_ij − z_ikj²)
// (the ½ log 2π terms of p(z) and q(z|x) cancel). K may be large (thousands):
// the samples are taken in chunks of `k` per input, decoded by the caller,
// and folded into a running log-sum-exp per input.
// requires: philox.wgsl
//
// iw_sample: mu, logvar (Nx, J) → z (Nx·k, J), lw (Nx·k). Row r = i·k + c is
//   sample c of input i; ε of element (r, j) is normal r·J + j of the Philox
//   stream (seed, step, stream), so each chunk (step) draws fresh noise.
//   lw[r] = Σ_j ½(ε² + logvar − z²). One invocation per row; grid1d(Nx·k, 64).
// iw_accumulate: recon (Nx·k) (−log p(x|z) per row, from elbo.wgsl), lw (Nx·k)
//   → state (Nx, 2) = [m, s] with log Σ exp(w) = m + log s so far:
//   m' = max(m, max_c w), s' = s·exp(m − m') + Σ_c exp(w_c − m').
//   first = 1 starts the sums. One invocation per input; grid1d(Nx, 64).

struct Params {
  nx: u32,
  k: u32,
  latent: u32,
  seed: u32,
  step: u32,
  stream: u32,
  first: u32,
}

@group(0) @binding(0) var<storage, read> mu: array<f32>;
@group(0) @binding(1) var<storage, read> logvar: array<f32>;
@group(0) @binding(2) var<storage, read> recon_in: array<f32>;
@group(0) @binding(3) var<storage, read> lw_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> z: array<f32>;
@group(0) @binding(5) var<storage, read_write> lw: array<f32>;
@group(0) @binding(6) var<storage, read_write> state: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

fn iw_index(wg: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 64u + lid;
}

@compute @workgroup_size(64, 1, 1)
fn iw_sample(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let r = iw_index(wg, nwg, lid);
  if (r >= params.nx * params.k) { return; }
  let i = r / params.k;
  let J = params.latent;
  var acc = 0.0;
  for (var j = 0u; j < J; j++) {
    let e = philox_normal(params.seed, params.step, params.stream, r * J + j);
    let lv = logvar[i * J + j];
    let zz = mu[i * J + j] + exp(0.5 * lv) * e;
    z[r * J + j] = zz;
    acc += 0.5 * (e * e + lv - zz * zz);
  }
  lw[r] = acc;
}

@compute @workgroup_size(64, 1, 1)
fn iw_accumulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let i = iw_index(wg, nwg, lid);
  if (i >= params.nx) { return; }
  let base = i * params.k;
  var m = -3.0e38;
  for (var c = 0u; c < params.k; c++) { m = max(m, lw_in[base + c] - recon_in[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < params.k; c++) { s += exp(lw_in[base + c] - recon_in[base + c] - m); }
  if (params.first == 0u) {
    let m0 = state[2u * i];
    let s0 = state[2u * i + 1u];
    let mm = max(m, m0);
    s = s * exp(m - mm) + s0 * exp(m0 - mm);
    m = mm;
  }
  state[2u * i] = m;
  state[2u * i + 1u] = s;
}
