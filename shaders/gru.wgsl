// gru: the recurrence of one GRU layer (nn.GRU, gate order r, z, n), one
// time step per dispatch, forward and backpropagation through time.
// requires: activation_fns.wgsl
//
// The layer's input projection for every step, gi = x·W_ihᵀ + b_ih (B, T, 3H),
// is one matmul before the recurrence; its gradients (dW_ih = dgiᵀ·x,
// db_ih = Σ dgi, dx = dgi·W_ih) and dW_hh = dghᵀ·hprev, db_hh = Σ dgh are
// matmul and sum_axes kernels after it. These entry points do the rest (the
// graph op gru_recurrence is one start and T step dispatches,
// gru_recurrence_backward the T backward steps, then gru_backward_h0):
//
// gru_recurrence_start          hprev[b, 0, :] = h0[b, :]
// gru_recurrence_start_zero     hprev[b, 0, :] = 0   (a layer with no initial state given)
// gru_recurrence_step           for step t, every (b, j):
//                                 gh = W_hh·h + b_hh  (h = hprev[b, t, :] = h_{t−1})
//                                 r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n)
//                                 hs[b, t, j] = h' = (1 − z)·n + z·h[j]
//                                 gates[b, t, :] = (r, z, n, gh_n) at j, j + H, j + 2H, j + 3H
//                                 hprev[b, t + 1, j] = h'   (when t + 1 < T)
// gru_recurrence_backward_step  for step t = T−1 down to 0, every (b, k):
//                                 dh = dhs[b, t, k] + carry(t + 1), where
//                                 carry(s) = z_s·dh_s + Σ_{j<3H} dgh[b, s, j]·W_hh[j, k]  (0 for s = T)
//                                 dn' = dh·(1 − z)·(1 − n²), dz' = dh·(h − n)·z·(1 − z),
//                                 dr' = dn'·gh_n·r·(1 − r)
//                                 dgi[b, t, :] = (dr', dz', dn'), dgh[b, t, :] = (dr', dz', dn'·r)
//                                 dcarry[t mod 2, b, k] = dh
// gru_backward_h0               dh0[b, k] = carry(0) (dh0 += carry(0) with accumulate = 1;
//                               the caller initializes dh0)
//
// Shapes (row-major, f32): gi, dgi, dgh (B, T, 3H); h0, dh0 (B, H);
// weight_hh (3H, H) and bias_hh (3H) as nn.GRU stores them (rows r, z, n);
// hs, hprev, dhs (B, T, H); gates (B, T, 4H); dcarry (2, B, H) scratch.
// A dispatch reads only step t − 1's (forward) or t + 1's (backward) values
// and writes step t's, so the buffers that are both read and written (hs,
// hprev, dgh, dcarry) are bound once, read_write; successive dispatches of a
// compute pass see each other's writes.
//
// Work split: an invocation takes a block of 4 batch rows × 4 hidden units
// (register blocking: per step of a sum it loads 4 values of h or dgh and 12
// (forward) or 4 (backward) weights for 48 or 16 multiply-adds).
// Consecutive invocations take consecutive row groups of the same units, so
// a workgroup's lanes read the same weights (one broadcast load). Every sum
// runs over its index in increasing order, in one invocation: the results do
// not depend on the dispatch geometry.
// Dispatch: 64 invocations per workgroup, grid1d(⌈B/4⌉·⌈H/4⌉, 64), linear
// index (wg.x + wg.y · num_workgroups.x)·64 + local index.

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
const UNITS: u32 = 4u;

// An invocation's block: batch rows b0..b0+3 and hidden units u0..u0+3.
struct Slot {
  b0: u32,
  u0: u32,
  valid: bool,
}

// Consecutive invocations take consecutive row groups of the same units, so
// the weights they read are the same address across a workgroup's lanes.
fn slot_of(wg: vec3u, nwg: vec3u, li: u32) -> Slot {
  let i = (wg.x + wg.y * nwg.x) * WG + li;
  let row_groups = (params.batch + ROWS - 1u) / ROWS;
  let unit_groups = (params.hidden + UNITS - 1u) / UNITS;
  let u = i / row_groups;
  return Slot((i - u * row_groups) * ROWS, u * UNITS, u < unit_groups);
}

// Batch row r of the block, clamped into range (rows past B compute on row B − 1 and write nothing).
fn row(s: Slot, r: u32) -> u32 {
  return min(s.b0 + r, params.batch - 1u);
}

// Unit c of the block, clamped the same way.
fn unit(s: Slot, c: u32) -> u32 {
  return min(s.u0 + c, params.hidden - 1u);
}

fn live(s: Slot, r: u32, c: u32) -> bool {
  return s.b0 + r < params.batch && s.u0 + c < params.hidden;
}

// (b, t) → flat index of the row's first element in a (B, T, width) tensor.
fn at(b: u32, t: u32, width: u32) -> u32 {
  return (b * params.steps + t) * width;
}

@compute @workgroup_size(64, 1, 1)
fn gru_recurrence_start(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  for (var r = 0u; r < ROWS; r++) {
    for (var c = 0u; c < UNITS; c++) {
      if (live(s, r, c)) {
        let b = s.b0 + r;
        hprev[at(b, 0u, H) + s.u0 + c] = h0[b * H + s.u0 + c];
      }
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn gru_recurrence_start_zero(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                             @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  for (var r = 0u; r < ROWS; r++) {
    for (var c = 0u; c < UNITS; c++) {
      if (live(s, r, c)) {
        hprev[at(s.b0 + r, 0u, H) + s.u0 + c] = 0.0;
      }
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn gru_recurrence_step(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let t = params.t;
  let base = vec4u(at(row(s, 0u), t, H), at(row(s, 1u), t, H), at(row(s, 2u), t, H), at(row(s, 3u), t, H));
  // Weight rows of the block's units: r at j·H, z at (H + j)·H, n at (2H + j)·H.
  let wr = vec4u(unit(s, 0u), unit(s, 1u), unit(s, 2u), unit(s, 3u)) * H;
  let wz = wr + vec4u(H * H);
  let wn = wz + vec4u(H * H);
  // Accumulators per gate and unit (r0 = gate r of unit u0), lanes = the 4
  // rows; written out rather than as arrays indexed in the loop, which
  // SwiftShader keeps in memory.
  var r0 = vec4f(0.0); var r1 = vec4f(0.0); var r2 = vec4f(0.0); var r3 = vec4f(0.0);
  var z0 = vec4f(0.0); var z1 = vec4f(0.0); var z2 = vec4f(0.0); var z3 = vec4f(0.0);
  var n0 = vec4f(0.0); var n1 = vec4f(0.0); var n2 = vec4f(0.0); var n3 = vec4f(0.0);
  for (var k = 0u; k < H; k++) {
    let h = vec4f(hprev[base.x + k], hprev[base.y + k], hprev[base.z + k], hprev[base.w + k]);
    r0 = weight_hh[wr.x + k] * h + r0;
    r1 = weight_hh[wr.y + k] * h + r1;
    r2 = weight_hh[wr.z + k] * h + r2;
    r3 = weight_hh[wr.w + k] * h + r3;
    z0 = weight_hh[wz.x + k] * h + z0;
    z1 = weight_hh[wz.y + k] * h + z1;
    z2 = weight_hh[wz.z + k] * h + z2;
    z3 = weight_hh[wz.w + k] * h + z3;
    n0 = weight_hh[wn.x + k] * h + n0;
    n1 = weight_hh[wn.y + k] * h + n1;
    n2 = weight_hh[wn.z + k] * h + n2;
    n3 = weight_hh[wn.w + k] * h + n3;
  }
  let ar = array<vec4f, 4>(r0, r1, r2, r3);
  let az = array<vec4f, 4>(z0, z1, z2, z3);
  let an = array<vec4f, 4>(n0, n1, n2, n3);
  for (var c = 0u; c < UNITS; c++) {
    let j = unit(s, c);
    let hj = vec4f(hprev[base.x + j], hprev[base.y + j], hprev[base.z + j], hprev[base.w + j]);
    let br = bias_hh[j];
    let bz = bias_hh[H + j];
    let bn = bias_hh[2u * H + j];
    for (var r = 0u; r < ROWS; r++) {
      if (!live(s, r, c)) {
        continue;
      }
      let b = s.b0 + r;
      let g = at(b, t, 3u * H);
      let ghn = an[c][r] + bn;
      let rg = stable_sigmoid(gi[g + j] + (ar[c][r] + br));
      let zg = stable_sigmoid(gi[g + H + j] + (az[c][r] + bz));
      let ng = safe_tanh(rg * ghn + gi[g + 2u * H + j]);
      let hn = (1.0 - zg) * ng + zg * hj[r];
      hs[at(b, t, H) + j] = hn;
      let sv = at(b, t, 4u * H);
      gates[sv + j] = rg;
      gates[sv + H + j] = zg;
      gates[sv + 2u * H + j] = ng;
      gates[sv + 3u * H + j] = ghn;
      if (t + 1u < params.steps) {
        hprev[at(b, t + 1u, H) + j] = hn;
      }
    }
  }
}

// carry(t1)[c][r] = z_{t1}·dh_{t1} + Σ_{j<3H} dgh[b, t1, j]·W_hh[j, k] for the
// block's units k (c) and rows b (r); zero when t1 = T (nothing comes after
// the last step).
fn carry(s: Slot, t1: u32) -> array<vec4f, 4> {
  let H = params.hidden;
  if (t1 >= params.steps) {
    return array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  }
  let base = vec4u(at(row(s, 0u), t1, 3u * H), at(row(s, 1u), t1, 3u * H), at(row(s, 2u), t1, 3u * H), at(row(s, 3u), t1, 3u * H));
  let ks = vec4u(unit(s, 0u), unit(s, 1u), unit(s, 2u), unit(s, 3u));
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  for (var j = 0u; j < 3u * H; j++) {
    let d = vec4f(dgh[base.x + j], dgh[base.y + j], dgh[base.z + j], dgh[base.w + j]);
    let w = ks + vec4u(j * H);
    a0 = weight_hh[w.x] * d + a0;
    a1 = weight_hh[w.y] * d + a1;
    a2 = weight_hh[w.z] * d + a2;
    a3 = weight_hh[w.w] * d + a3;
  }
  var acc = array<vec4f, 4>(a0, a1, a2, a3);
  let slot = (t1 % 2u) * params.batch * H;
  for (var c = 0u; c < UNITS; c++) {
    let k = ks[c];
    for (var r = 0u; r < ROWS; r++) {
      let b = row(s, r);
      let z = gates_in[at(b, t1, 4u * H) + H + k];
      acc[c][r] = z * dcarry[slot + b * H + k] + acc[c][r];
    }
  }
  return acc;
}

@compute @workgroup_size(64, 1, 1)
fn gru_recurrence_backward_step(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let t = params.t;
  let cin = carry(s, t + 1u);
  let slot = (t % 2u) * params.batch * H;
  for (var c = 0u; c < UNITS; c++) {
    for (var r = 0u; r < ROWS; r++) {
      if (!live(s, r, c)) {
        continue;
      }
      let b = s.b0 + r;
      let k = s.u0 + c;
      let dh = dhs[at(b, t, H) + k] + cin[c][r];
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
}

@compute @workgroup_size(64, 1, 1)
fn gru_backward_h0(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let cin = carry(s, 0u);
  for (var c = 0u; c < UNITS; c++) {
    for (var r = 0u; r < ROWS; r++) {
      if (!live(s, r, c)) {
        continue;
      }
      let i = (s.b0 + r) * H + s.u0 + c;
      if (params.accumulate != 0u) {
        dh0[i] = dh0[i] + cin[c][r];
      } else {
        dh0[i] = cin[c][r];
      }
    }
  }
}
