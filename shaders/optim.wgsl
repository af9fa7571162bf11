// optim: fused in-place optimizer updates over a flat parameter block, and the
// global-norm clip factor, with PyTorch's semantics (torch.optim.Adam, AdamW,
// SGD; torch.nn.utils.clip_grad_norm_).
// requires: optim_params.wgsl
//
// Shapes: param, grad, m, v: (n) flat f32, the same element order in each.
// grad_scale (read) and grad_ctl (read_write) are the same 4-float control
// block, written by clip_scale and read by the updates:
//   [0] scale  multiplier applied to every gradient element before the update
//   [1] norm   sqrt(ss), the global gradient norm before clipping
//   [2] skip   1.0 when ss is not finite (NaN or ±Inf), else 0.0
//   [3] skips  running count of skipped steps (clip_scale adds [2] each call)
//
// Every update first forms  g = grad[i] · s,  s = grad_scale[0] when
// has_grad_scale = 1, else s = 1. With skip_check = 1 the whole dispatch leaves
// param and state untouched when grad_scale[2] ≠ 0 (a gradient with NaN or
// Inf is dropped, as torch.cuda.amp.GradScaler drops such steps).
//
// adam, one step of torch.optim.Adam (weight_decay = l2; AdamW when decay ≠ 1):
//   p  = p · decay                         decay = 1 − lr·wd (AdamW), 1 for Adam
//   g  = g + l2 · p_old                    l2 = wd (Adam), 0 for AdamW
//   m  = β1·m + (1 − β1)·g
//   v  = β2·v + (1 − β2)·g²
//   p  = p − step_size · m / (sqrt(v) / bc2_sqrt + eps)
//   with step_size = lr / (1 − β1^t) and bc2_sqrt = sqrt(1 − β2^t) computed in
//   float64 on the CPU for step t (1-based) and passed as uniforms, exactly as
//   PyTorch computes them in Python floats. No amsgrad, no maximize.
//
// sgd, one step of torch.optim.SGD with momentum μ ≠ 0 (the momentum buffer is bound as m):
//   g  = g + wd · p
//   m  = g on the first step (first_step = 1), μ·m + (1 − dampening)·g afterwards
//   g  = g + μ·m with nesterov = 1, g = m otherwise
//   p  = p − lr · g
// sgd_plain (momentum 0, no buffer):  p = p − lr · (g + wd · p)
//
// clip_scale: from ss = ss_in[0] (a sum of squares, reduce.wgsl) writes
//   grad_ctl[0] = min(1, max_norm / (sqrt(ss) + 1e-6)), or 1 when max_norm ≤ 0
//   (no clipping), and [1] norm, [2] skip, [3] += skip as above. A
//   non-finite ss gives scale 0 and skip 1 (tested by its exponent bits, which
//   no compiler may assume away). One invocation; dispatch (1, 1, 1).
//
// Work split of the updates: as activations.wgsl, a workgroup of 256
// invocations covers 1024 consecutive elements, 4 per invocation with stride
// 256; dispatch grid1d(n, 1024).

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read> grad_scale: array<f32>;
@group(0) @binding(2) var<storage, read> ss_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> param: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_ctl: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn grad_multiplier() -> f32 {
  if (params.has_grad_scale != 0u) { return grad_scale[0]; }
  return 1.0;
}

fn step_skipped() -> bool {
  return params.skip_check != 0u && grad_scale[2] != 0.0;
}

@compute @workgroup_size(256, 1, 1)
fn adam(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  if (step_skipped()) { return; }
  let s = grad_multiplier();
  let base = (wg.x + wg.y * nwg.x) * (WG * PER_THREAD) + li;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i >= params.n) { continue; }
    let p_old = param[i];
    let g = grad[i] * s + params.l2 * p_old;
    let mi = params.beta1 * m[i] + params.one_minus_beta1 * g;
    let vi = params.beta2 * v[i] + params.one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    let denom = sqrt(vi) / params.bc2_sqrt + params.eps;
    param[i] = p_old * params.decay - params.step_size * mi / denom;
  }
}

@compute @workgroup_size(256, 1, 1)
fn sgd(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
       @builtin(local_invocation_index) li: u32) {
  if (step_skipped()) { return; }
  let s = grad_multiplier();
  let base = (wg.x + wg.y * nwg.x) * (WG * PER_THREAD) + li;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i >= params.n) { continue; }
    let p = param[i];
    let d = grad[i] * s + params.l2 * p;
    var b = d;
    if (params.first_step == 0u) {
      b = params.momentum * m[i] + params.one_minus_dampening * d;
    }
    m[i] = b;
    param[i] = p - params.lr * select(b, d + params.momentum * b, params.nesterov != 0u);
  }
}

// SGD without momentum: no momentum buffer is bound.
@compute @workgroup_size(256, 1, 1)
fn sgd_plain(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  if (step_skipped()) { return; }
  let s = grad_multiplier();
  let base = (wg.x + wg.y * nwg.x) * (WG * PER_THREAD) + li;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i >= params.n) { continue; }
    let p = param[i];
    param[i] = p - params.lr * (grad[i] * s + params.l2 * p);
  }
}

@compute @workgroup_size(1, 1, 1)
fn clip_scale() {
  let ss = ss_in[0];
  let norm = sqrt(ss);
  let finite = (bitcast<u32>(ss) & 0x7f800000u) != 0x7f800000u;
  var scale = 1.0;
  if (params.max_norm > 0.0) {
    scale = min(1.0, params.max_norm / (norm + 1e-6));
  }
  var skip = 0.0;
  if (!finite) {
    scale = 0.0;
    skip = 1.0;
  }
  grad_ctl[0] = scale;
  grad_ctl[1] = norm;
  grad_ctl[2] = skip;
  grad_ctl[3] = grad_ctl[3] + skip;
}
