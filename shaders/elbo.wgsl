// The VAE loss, fused with the start of its backward pass (in the manner of
// llm.c's fused classifier): reconstruction negative log-likelihood and its
// gradient w.r.t. the decoder output in one kernel, then the KL term, the
// latent L2 penalty and the batch statistics in another.
// requires: activation_fns.wgsl
//
// Shapes (row-major, f32): logits, x, dlogits, dlog_sigma: (B, D); log_sigma: (B, D) or (D);
// recon, kl, total: (B); mu, logvar, z: (B, J); kl_dim: (J); stats: (8).
// Names ending in _in are read-only views of another entry point's output
// (recon_in is recon, written by the reconstruction entry points).
//
// Reconstruction, one workgroup of WG (64, or 16 on CPU adapters) per sample
// b (any D; the loop strides over features, then a tree reduction in
// workgroup memory sums the sample's NLL). Writes recon[b] (not scaled) and
// the gradient of s·recon[b] with s = grad_scale (1/B for a batch-mean loss):
//   elbo_recon_bernoulli    logits l, targets x in [0, 1]:
//     recon = Σ_d max(l,0) − l·x + log1p(exp(−|l|)),  dlogits = (sigmoid(l) − x)·s
//   elbo_recon_bernoulli4   the same for D a multiple of 4, four features per step
//                           (logits4, x4, dlogits4: the tensors viewed as vec4)
//   elbo_recon_gaussian     mean μ = logits, log σ = fixed_log_sigma, or learned:
//                           log_sigma[b,d] when learned_sigma = 1, log_sigma[d] (one per
//                           feature, shared by the batch) when learned_sigma = 2:
//     recon = Σ_d ½((x−μ)/σ)² + log σ + ½ log 2π
//     dlogits = (μ − x)/σ²·s,  dlog_sigma = (1 − ((x−μ)/σ)²)·s  (learned only)
//   elbo_recon_categorical  D = G·V: G groups of V logits, x one-hot or soft per group:
//     recon = −Σ_g Σ_v x_v·log_softmax(l_g)_v,  dlogits = (softmax(l_g)_v·Σ_v x_v − x_v)·s
//     log_softmax is (l − max) − log Σ exp(l − max). Groups of V ≥ 128 are
//     reduced by the whole workgroup one after another; smaller groups are
//     taken one per invocation.
// Stable for logits up to ±1e4 (no exp of a positive number).
// Dispatch: grid1d(B, 1) workgroups; sample b = wg.x + wg.y·num_workgroups.x.
//
// elbo_kl: one workgroup of WG for the whole batch (the latent is small).
//   kl_bj    = ½(μ² + exp(lv) − 1 − lv)   (exp(lv) − 1 − lv by series near 0)
//   kl[b]    = Σ_j kl_bj
//   kl_dim[j] = (1/B) Σ_b kl_bj
//   total[b] = recon_in[b] + β·kl[b] + γ·||z_b||²    (no free bits: per-sample loss)
//   Free bits (Kingma et al. 2016), λ = free_bits > 0: the objective's KL is
//   Σ_j max(λ, kl_dim[j]); dimension j is inactive (no KL gradient) when
//   kl_dim[j] < λ. λ ≤ 0 disables it. z is read only when has_z = 1 (else
//   ||z||² = 0 and γ must be 0).
//   stats (batch means), with accumulate = 1 added to the running sums
//   already in the buffer (the caller zeroes it, or makes the first call
//   with accumulate = 0):
//     [0] loss          recon + β·kl_objective + γ·l2    (the training objective)
//     [1] recon         (1/B) Σ_b recon[b]
//     [2] kl            (1/B) Σ_b kl[b]
//     [3] kl_objective  Σ_j max(λ, kl_dim[j])  (= kl when λ ≤ 0)
//     [4] l2            (1/B) Σ_b ||z_b||²
//     [5] elbo          −(recon + kl)  (the plain ELBO estimate, β = 1, γ = 0)
//     [6] active_dims   number of j with kl_dim[j] ≥ λ (J when λ ≤ 0)
//     [7] count         1 (accumulate = 0) or count + 1: calls summed so far
//   Dispatch: (1, 1, 1).
// The gradients of the KL and L2 terms are applied with the reparameterization's
// backward (reparameterize.wgsl, latent_backward), which reads kl_dim.
//
// Range: exp(logvar) overflows f32 beyond logvar ≈ 88 and is not clamped;
// |logvar| ≤ 20 is comfortably safe. σ = exp(log σ) is not clamped either.

struct Params {
  batch: u32,
  features: u32,
  groups: u32,
  grad_scale: f32,
  fixed_log_sigma: f32,
  learned_sigma: u32,
  latent: u32,
  beta: f32,
  gamma: f32,
  free_bits: f32,
  has_z: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> log_sigma: array<f32>;
@group(0) @binding(3) var<storage, read> recon_in: array<f32>;
@group(0) @binding(4) var<storage, read> mu: array<f32>;
@group(0) @binding(5) var<storage, read> logvar: array<f32>;
@group(0) @binding(6) var<storage, read> z: array<f32>;
@group(0) @binding(7) var<storage, read> logits4: array<vec4f>;
@group(0) @binding(8) var<storage, read> x4: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> recon: array<f32>;
@group(0) @binding(10) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(11) var<storage, read_write> dlog_sigma: array<f32>;
@group(0) @binding(12) var<storage, read_write> kl_dim: array<f32>;
@group(0) @binding(13) var<storage, read_write> kl: array<f32>;
@group(0) @binding(14) var<storage, read_write> total: array<f32>;
@group(0) @binding(15) var<storage, read_write> stats: array<f32>;
@group(0) @binding(16) var<storage, read_write> dlogits4: array<vec4f>;
@group(0) @binding(17) var<uniform> params: Params;
// logits4, x4 and dlogits4 are logits, x and dlogits viewed as vec4, for elbo_recon_bernoulli4.

// Invocations per workgroup (a power of two, 4 to 64): every barrier of the
// trees below costs a fiber switch per SIMD group on CPU adapters, so
// src/kernels/elbo.ts picks 4 there (one SIMD group) and 64 on GPUs.
override WG: u32 = 64u;
const HALF_LOG_2PI: f32 = 0.91893853320467274;
const NEG_MAX: f32 = -3.40282346e38;
const COOPERATIVE_V: u32 = 128u;

var<workgroup> red_a: array<f32, 64>;
var<workgroup> red_b: array<f32, 64>;
var<workgroup> red_c: array<f32, 64>;

// Workgroup sum of one value per invocation; every invocation gets the total.
// Must be called in uniform control flow.
fn workgroup_sum(tid: u32, v: f32) -> f32 {
  red_a[tid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) { red_a[tid] += red_a[tid + s]; }
    workgroupBarrier();
  }
  let total_sum = red_a[0];
  workgroupBarrier();
  return total_sum;
}

// Merges two partial softmax normalizers (max m, Σ exp(l − m)).
fn merge_lse(ma: f32, sa: f32, mb: f32, sb: f32) -> vec2f {
  let m = max(ma, mb);
  return vec2f(m, sa * exp(ma - m) + sb * exp(mb - m));
}

// Workgroup reduction of (max, Σ exp(l − max), Σ x); every invocation gets it.
fn workgroup_lse(tid: u32, m: f32, s: f32, sx: f32) -> vec3f {
  red_a[tid] = m;
  red_b[tid] = s;
  red_c[tid] = sx;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (tid < k) {
      let r = merge_lse(red_a[tid], red_b[tid], red_a[tid + k], red_b[tid + k]);
      red_a[tid] = r.x;
      red_b[tid] = r.y;
      red_c[tid] += red_c[tid + k];
    }
    workgroupBarrier();
  }
  let out = vec3f(red_a[0], red_b[0], red_c[0]);
  workgroupBarrier();
  return out;
}

fn sample_of(wg: vec3u, nwg: vec3u) -> u32 {
  return wg.x + wg.y * nwg.x;
}

@compute @workgroup_size(WG, 1, 1)
fn elbo_recon_bernoulli(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) tid: u32) {
  let b = sample_of(wg, nwg);
  if (b >= params.batch) { return; }
  let base = b * params.features;
  var acc = 0.0;
  for (var d = tid; d < params.features; d += WG) {
    let l = logits[base + d];
    let t = x[base + d];
    // One e = exp(−|l|) serves both stable_softplus(−|l|) = log1p(e) and σ(l).
    let e = exp(-abs(l));
    acc += max(l, 0.0) - l * t + log1p_from_exp(e);
    dlogits[base + d] = (sigmoid_from_exp(l, e) - t) * params.grad_scale;
  }
  let sum = workgroup_sum(tid, acc);
  if (tid == 0u) { recon[b] = sum; }
}

@compute @workgroup_size(WG, 1, 1)
fn elbo_recon_bernoulli4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) tid: u32) {
  let b = sample_of(wg, nwg);
  if (b >= params.batch) { return; }
  let dq = params.features / 4u;
  let base = b * dq;
  var acc = vec4f();
  for (var d = tid; d < dq; d += WG) {
    let l = logits4[base + d];
    let t = x4[base + d];
    let e = exp(-abs(l));
    acc += max(l, vec4f()) - l * t + vec4f(log1p_from_exp(e.x), log1p_from_exp(e.y), log1p_from_exp(e.z), log1p_from_exp(e.w));
    let sig = vec4f(sigmoid_from_exp(l.x, e.x), sigmoid_from_exp(l.y, e.y), sigmoid_from_exp(l.z, e.z), sigmoid_from_exp(l.w, e.w));
    dlogits4[base + d] = (sig - t) * params.grad_scale;
  }
  let sum = workgroup_sum(tid, (acc.x + acc.y) + (acc.z + acc.w));
  if (tid == 0u) { recon[b] = sum; }
}

@compute @workgroup_size(WG, 1, 1)
fn elbo_recon_gaussian(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) tid: u32) {
  let b = sample_of(wg, nwg);
  if (b >= params.batch) { return; }
  let base = b * params.features;
  let learned = params.learned_sigma != 0u;
  var acc = 0.0;
  for (var d = tid; d < params.features; d += WG) {
    let i = base + d;
    var ls = params.fixed_log_sigma;
    if (learned) { ls = log_sigma[select(i, d, params.learned_sigma == 2u)]; }
    let inv_sigma = exp(-ls);
    let r = (x[i] - logits[i]) * inv_sigma;
    acc += 0.5 * r * r + ls + HALF_LOG_2PI;
    dlogits[i] = -r * inv_sigma * params.grad_scale;
    if (learned) { dlog_sigma[i] = (1.0 - r * r) * params.grad_scale; }
  }
  let sum = workgroup_sum(tid, acc);
  if (tid == 0u) { recon[b] = sum; }
}

// NLL of one group from its (max, Σ exp(l − max), Σ x); writes the group's gradient
// for the features v0, v0 + dv, ... < V. Returns the part of the NLL those features carry.
fn categorical_group(base: u32, v_count: u32, v0: u32, dv: u32, lse: vec3f) -> f32 {
  let log_s = log(lse.y);
  var nll = 0.0;
  for (var v = v0; v < v_count; v += dv) {
    let i = base + v;
    let t = x[i];
    let lsm = (logits[i] - lse.x) - log_s;
    nll -= t * lsm;
    dlogits[i] = (exp(lsm) * lse.z - t) * params.grad_scale;
  }
  return nll;
}

// Online (max, Σ exp(l − max), Σ x) over features v0, v0 + dv, ... < V of one group.
fn categorical_partial(base: u32, v_count: u32, v0: u32, dv: u32) -> vec3f {
  var m = NEG_MAX;
  var s = 0.0;
  var sx = 0.0;
  for (var v = v0; v < v_count; v += dv) {
    let l = logits[base + v];
    if (l > m) {
      s = s * exp(m - l) + 1.0;
      m = l;
    } else {
      s += exp(l - m);
    }
    sx += x[base + v];
  }
  return vec3f(m, s, sx);
}

@compute @workgroup_size(WG, 1, 1)
fn elbo_recon_categorical(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                          @builtin(local_invocation_index) tid: u32) {
  let b = sample_of(wg, nwg);
  if (b >= params.batch) { return; }
  let groups = params.groups;
  let v_count = params.features / groups;
  let base = b * params.features;
  var acc = 0.0;
  if (v_count >= COOPERATIVE_V) {
    for (var g = 0u; g < groups; g++) {
      let gb = base + g * v_count;
      let p = categorical_partial(gb, v_count, tid, WG);
      let lse = workgroup_lse(tid, p.x, p.y, p.z);
      acc += categorical_group(gb, v_count, tid, WG, lse);
    }
  } else {
    for (var g = tid; g < groups; g += WG) {
      let gb = base + g * v_count;
      acc += categorical_group(gb, v_count, 0u, 1u, categorical_partial(gb, v_count, 0u, 1u));
    }
  }
  let sum = workgroup_sum(tid, acc);
  if (tid == 0u) { recon[b] = sum; }
}

// exp(v) − 1 − v without cancellation near 0 (Taylor series for |v| < 0.5).
fn exp_m1_minus(v: f32) -> f32 {
  if (abs(v) < 0.5) {
    let p = 1.0 + v / 3.0 * (1.0 + v / 4.0 * (1.0 + v / 5.0 * (1.0 + v / 6.0 * (1.0 + v / 7.0 * (1.0 + v / 8.0)))));
    return 0.5 * v * v * p;
  }
  return exp(v) - 1.0 - v;
}

fn kl_term(i: u32) -> f32 {
  let m = mu[i];
  return 0.5 * (m * m + exp_m1_minus(logvar[i]));
}

@compute @workgroup_size(WG, 1, 1)
fn elbo_kl(@builtin(local_invocation_index) tid: u32) {
  let batch = params.batch;
  let latent = params.latent;
  let fb = params.free_bits;
  var sum_recon = 0.0;
  var sum_kl = 0.0;
  var sum_l2 = 0.0;
  for (var b = tid; b < batch; b += WG) {
    var k = 0.0;
    var q = 0.0;
    for (var j = 0u; j < latent; j++) {
      let i = b * latent + j;
      k += kl_term(i);
      if (params.has_z != 0u) { q += z[i] * z[i]; }
    }
    let r = recon_in[b];
    kl[b] = k;
    total[b] = r + params.beta * k + params.gamma * q;
    sum_recon += r;
    sum_kl += k;
    sum_l2 += q;
  }
  var sum_obj = 0.0;
  var n_active = 0.0;
  for (var j = tid; j < latent; j += WG) {
    var k = 0.0;
    for (var b = 0u; b < batch; b++) { k += kl_term(b * latent + j); }
    k /= f32(batch);
    kl_dim[j] = k;
    if (fb > 0.0 && k < fb) {
      sum_obj += fb;
    } else {
      sum_obj += k;
      n_active += 1.0;
    }
  }
  let inv_b = 1.0 / f32(batch);
  let recon_mean = workgroup_sum(tid, sum_recon) * inv_b;
  let kl_mean = workgroup_sum(tid, sum_kl) * inv_b;
  let l2_mean = workgroup_sum(tid, sum_l2) * inv_b;
  let kl_obj = workgroup_sum(tid, sum_obj);
  let active_dims = workgroup_sum(tid, n_active);
  if (tid == 0u) {
    var v: array<f32, 8>;
    v[0] = recon_mean + params.beta * kl_obj + params.gamma * l2_mean;
    v[1] = recon_mean;
    v[2] = kl_mean;
    v[3] = kl_obj;
    v[4] = l2_mean;
    v[5] = -(recon_mean + kl_mean);
    v[6] = active_dims;
    v[7] = 1.0;
    for (var i = 0u; i < 8u; i++) {
      if (params.accumulate != 0u) {
        stats[i] = stats[i] + v[i];
      } else {
        stats[i] = v[i];
      }
    }
  }
}
