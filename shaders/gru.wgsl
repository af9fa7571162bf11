// gru: the recurrence of one GRU layer (nn.GRU, gate order r, z, n), one
// time step per dispatch, forward and backpropagation through time.
// requires: activation_fns.wgsl
//
// The layer's input projection for every step, gi = x·W_ihᵀ + b_ih (B, T, 3H),
// is one matmul before the recurrence; its gradients (dW_ih = dgiᵀ·x,
// db_ih = Σ dgi, dx = dgi·W_ih) and dW_hh = dghᵀ·hprev, db_hh = Σ dgh are
// matmul and sum_axes kernels after it. These entry points do the rest:
//
// gru_start          hprev[b, 0, :] = h0[b, :]
// gru_start_zero     hprev[b, 0, :] = 0   (a layer with no initial state given)
// gru_step_forward   for step t, every (b, j):
//                      gh = W_hh·h + b_hh  (h = hprev[b, t, :] = h_{t−1})
//                      r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n)
//                      hs[b, t, j] = h' = (1 − z)·n + z·h[j]
//                      gates[b, t, :] = (r, z, n, gh_n) at j, j + H, j + 2H, j + 3H
//                      hprev[b, t + 1, j] = h'   (when t + 1 < T)
// gru_step_backward  for step t = T−1 down to 0, every (b, k):
//                      dh = dhs[b, t, k] + carry(t + 1), where
//                      carry(s) = z_s·dh_s + Σ_{j<3H} dgh[b, s, j]·W_hh[j, k]  (0 for s = T)
//                      dn' = dh·(1 − z)·(1 − n²), dz' = dh·(h − n)·z·(1 − z),
//                      dr' = dn'·gh_n·r·(1 − r)
//                      dgi[b, t, :] = (dr', dz', dn'), dgh[b, t, :] = (dr', dz', dn'·r)
//                      dcarry[t mod 2, b, k] = dh
// gru_backward_h0    dh0[b, k] = carry(0) (dh0 += carry(0) with accumulate = 1;
//                    the caller initializes dh0)
//
// Shapes (row-major, f32): gi, dgi, dgh (B, T, 3H); h0, dh0 (B, H);
// weight_hh (3H, H) and bias_hh (3H) as nn.GRU stores them (rows r, z, n);
// hs, hprev, dhs (B, T, H); gates (B, T, 4H); dcarry (2, B, H) scratch.
// A dispatch reads only step t − 1's (forward) or t + 1's (backward) values
// and writes step t's, so the buffers that are both read and written (hs,
// hprev, dgh, dcarry) are bound once, read_write; successive dispatches of a
// compute pass see each other's writes.
//
// Work split: an invocation takes one hidden unit and ROWS = 4 batch rows
// (lanes of vec4 accumulators, so each weight it loads serves 4 rows); the
// forward's invocations of a workgroup take consecutive units j (each reads
// weight rows j, H + j, 2H + j), the backward's consecutive columns k (rows of
// W_hh read in order). Every sum runs over its index in increasing order, in
// one invocation: the results do not depend on the dispatch geometry.
// Dispatch: 64 invocations per workgroup, grid1d(⌈B/4⌉·H, 64), linear index
// (wg.x + wg.y · num_workgroups.x)·64 + local index.

struct Params {
  batch: u32,
  steps: u32,
  hidden: u32,
  t: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> gi: array<f32>;
@group(0) @binding(1) var<storage, read> h0: array<f32>;
@group(0) @binding(2) var<storage, read> weight_hh: array<f32>;
@group(0) @binding(3) var<storage, read> bias_hh: array<f32>;
@group(0) @binding(4) var<storage, read> dhs: array<f32>;
@group(0) @binding(5) var<storage, read> gates_in: array<f32>;
@group(0) @binding(6) var<storage, read> hprev_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> hs: array<f32>;
@group(0) @binding(8) var<storage, read_write> gates: array<f32>;
@group(0) @binding(9) var<storage, read_write> hprev: array<f32>;
@group(0) @binding(10) var<storage, read_write> dgi: array<f32>;
@group(0) @binding(11) var<storage, read_write> dgh: array<f32>;
@group(0) @binding(12) var<storage, read_write> dcarry: array<f32>;
@group(0) @binding(13) var<storage, read_write> dh0: array<f32>;
@group(0) @binding(14) var<uniform> params: Params;

const WG: u32 = 64u;
const ROWS: u32 = 4u;

struct Slot {
  unit: u32,  // j (forward) or k (backward)
  b0: u32,    // first batch row
  valid: bool,
}

fn slot_of(wg: vec3u, nwg: vec3u, li: u32) -> Slot {
  let i = (wg.x + wg.y * nwg.x) * WG + li;
  let H = params.hidden;
  let groups = (params.batch + ROWS - 1u) / ROWS;
  let g = i / H;
  return Slot(i - g * H, g * ROWS, g < groups);
}

// Batch row of lane r, clamped into range (lanes past B compute on row B − 1 and write nothing).
fn row(s: Slot, r: u32) -> u32 {
  return min(s.b0 + r, params.batch - 1u);
}

fn live(s: Slot, r: u32) -> bool {
  return s.b0 + r < params.batch;
}

// (b, t) → flat index of the row's first element in a (B, T, width) tensor.
fn at(b: u32, t: u32, width: u32) -> u32 {
  return (b * params.steps + t) * width;
}

@compute @workgroup_size(64, 1, 1)
fn gru_start(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  for (var r = 0u; r < ROWS; r++) {
    if (live(s, r)) {
      let b = s.b0 + r;
      hprev[at(b, 0u, H) + s.unit] = h0[b * H + s.unit];
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn gru_start_zero(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  for (var r = 0u; r < ROWS; r++) {
    if (live(s, r)) {
      hprev[at(s.b0 + r, 0u, H) + s.unit] = 0.0;
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn gru_step_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let t = params.t;
  let j = s.unit;
  let base = vec4u(at(row(s, 0u), t, H), at(row(s, 1u), t, H), at(row(s, 2u), t, H), at(row(s, 3u), t, H));
  var ar = vec4f(bias_hh[j]);
  var az = vec4f(bias_hh[H + j]);
  var an = vec4f(bias_hh[2u * H + j]);
  let wr = j * H;
  let wz = (H + j) * H;
  let wn = (2u * H + j) * H;
  for (var k = 0u; k < H; k++) {
    let h = vec4f(hprev[base.x + k], hprev[base.y + k], hprev[base.z + k], hprev[base.w + k]);
    ar = weight_hh[wr + k] * h + ar;
    az = weight_hh[wz + k] * h + az;
    an = weight_hh[wn + k] * h + an;
  }
  let hj = vec4f(hprev[base.x + j], hprev[base.y + j], hprev[base.z + j], hprev[base.w + j]);
  for (var r = 0u; r < ROWS; r++) {
    if (!live(s, r)) {
      continue;
    }
    let b = s.b0 + r;
    let g = at(b, t, 3u * H);
    let rg = stable_sigmoid(gi[g + j] + ar[r]);
    let zg = stable_sigmoid(gi[g + H + j] + az[r]);
    let ng = safe_tanh(rg * an[r] + gi[g + 2u * H + j]);
    let hn = (1.0 - zg) * ng + zg * hj[r];
    hs[at(b, t, H) + j] = hn;
    let sv = at(b, t, 4u * H);
    gates[sv + j] = rg;
    gates[sv + H + j] = zg;
    gates[sv + 2u * H + j] = ng;
    gates[sv + 3u * H + j] = an[r];
    if (t + 1u < params.steps) {
      hprev[at(b, t + 1u, H) + j] = hn;
    }
  }
}

// carry(t1) = z_{t1}·dh_{t1} + Σ_{j<3H} dgh[b, t1, j]·W_hh[j, k] for the four
// rows of the slot; zero when t1 = T (nothing comes after the last step).
fn carry(s: Slot, t1: u32) -> vec4f {
  let H = params.hidden;
  let k = s.unit;
  if (t1 >= params.steps) {
    return vec4f(0.0);
  }
  let base = vec4u(at(row(s, 0u), t1, 3u * H), at(row(s, 1u), t1, 3u * H), at(row(s, 2u), t1, 3u * H), at(row(s, 3u), t1, 3u * H));
  var acc = vec4f(0.0);
  for (var j = 0u; j < 3u * H; j++) {
    let d = vec4f(dgh[base.x + j], dgh[base.y + j], dgh[base.z + j], dgh[base.w + j]);
    acc = weight_hh[j * H + k] * d + acc;
  }
  let slot = (t1 % 2u) * params.batch * H;
  var out = vec4f(0.0);
  for (var r = 0u; r < ROWS; r++) {
    let b = row(s, r);
    let z = gates_in[at(b, t1, 4u * H) + H + k];
    out[r] = z * dcarry[slot + b * H + k] + acc[r];
  }
  return out;
}

@compute @workgroup_size(64, 1, 1)
fn gru_step_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let t = params.t;
  let k = s.unit;
  let c = carry(s, t + 1u);
  let slot = (t % 2u) * params.batch * H;
  for (var r = 0u; r < ROWS; r++) {
    if (!live(s, r)) {
      continue;
    }
    let b = s.b0 + r;
    let dh = dhs[at(b, t, H) + k] + c[r];
    let sv = at(b, t, 4u * H);
    let rg = gates_in[sv + k];
    let zg = gates_in[sv + H + k];
    let ng = gates_in[sv + 2u * H + k];
    let ghn = gates_in[sv + 3u * H + k];
    let hp = hprev_in[at(b, t, H) + k];
    let dn = dh * (1.0 - zg) * (1.0 - ng * ng);
    let dz = dh * (hp - ng) * zg * (1.0 - zg);
    let dr = dn * ghn * rg * (1.0 - rg);
    let g = at(b, t, 3u * H);
    dgi[g + k] = dr;
    dgi[g + H + k] = dz;
    dgi[g + 2u * H + k] = dn;
    dgh[g + k] = dr;
    dgh[g + H + k] = dz;
    dgh[g + 2u * H + k] = dn * rg;
    dcarry[slot + b * H + k] = dh;
  }
}

@compute @workgroup_size(64, 1, 1)
fn gru_backward_h0(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let c = carry(s, 0u);
  for (var r = 0u; r < ROWS; r++) {
    if (!live(s, r)) {
      continue;
    }
    let i = (s.b0 + r) * H + s.unit;
    if (params.accumulate != 0u) {
      dh0[i] = dh0[i] + c[r];
    } else {
      dh0[i] = c[r];
    }
  }
}
