// gru_vec4: gru.wgsl's recurrence steps for a hidden size that is a
// multiple of 4, every tensor read and written as vec4 along its last axis.
// Same entry semantics, shapes, block split and dispatch as gru.wgsl (which
// keeps h0's start entries and serves every other hidden size); the sums run
// over four indices per load:
// requires: activation_fns.wgsl
//
// gru_recurrence_step4          gh (4 rows × 4 units × 3 gates) += w · hm per
//                               four k: hm = h_{t−1} of the 4 rows at k..k+3
//                               (4 loads), w = W_hh[unit, k..k+3] (12 loads),
//                               192 multiply-adds; then the gates of each row
//                               as a vec4 over the block's units.
// gru_recurrence_backward_step4 carry per four j: Wm = W_hh[j..j+3, the 4
//                               units] (4 loads), dgh[b, t+1, j..j+3] per row
//                               (4 loads), 64 multiply-adds; then the gate
//                               gradients of each row as a vec4 over units.
// gru_backward_h0_4             dh0 = carry(0) (+= with accumulate).
//
// An invocation owns rows b0..b0+3 and units u0..u0+3 (u0 a multiple of 4,
// so each row's 4 units are one aligned vec4 of every tensor); rows past B
// compute on row B − 1 and write nothing. Sums run over their index in
// increasing order within an invocation, four at a time: results do not
// depend on the dispatch geometry.

struct Params {
  batch: u32,
  steps: u32,
  hidden: u32,
  t: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> gi: array<vec4f>;
@group(0) @binding(2) var<storage, read> weight_hh: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias_hh: array<vec4f>;
@group(0) @binding(4) var<storage, read> dhs: array<vec4f>;
@group(0) @binding(5) var<storage, read> gates_in: array<vec4f>;
@group(0) @binding(6) var<storage, read> hprev_in: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> hs: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> gates: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> hprev: array<vec4f>;
@group(0) @binding(10) var<storage, read_write> dgi: array<vec4f>;
@group(0) @binding(11) var<storage, read_write> dgh: array<vec4f>;
@group(0) @binding(12) var<storage, read_write> dcarry: array<vec4f>;
@group(0) @binding(13) var<storage, read_write> dh0: array<vec4f>;
@group(0) @binding(14) var<uniform> params: Params;

const WG: u32 = 64u;
const ROWS: u32 = 4u;

// An invocation's block: batch rows b0..b0+3 and the unit quad q (units 4q..4q+3).
struct Slot {
  b0: u32,
  q: u32,
  valid: bool,
}

// Consecutive invocations take consecutive row groups of the same units (the
// same weights across a workgroup's lanes), as in gru.wgsl.
fn slot_of(wg: vec3u, nwg: vec3u, li: u32) -> Slot {
  let i = (wg.x + wg.y * nwg.x) * WG + li;
  let row_groups = (params.batch + ROWS - 1u) / ROWS;
  let u = i / row_groups;
  return Slot((i - u * row_groups) * ROWS, u, u < params.hidden / 4u);
}

// activation_fns.wgsl's stable_sigmoid and safe_tanh on each component.
fn stable_sigmoid4(v: vec4f) -> vec4f {
  return vec4f(stable_sigmoid(v.x), stable_sigmoid(v.y), stable_sigmoid(v.z), stable_sigmoid(v.w));
}

fn safe_tanh4(v: vec4f) -> vec4f {
  return vec4f(safe_tanh(v.x), safe_tanh(v.y), safe_tanh(v.z), safe_tanh(v.w));
}

// Batch row r of the block, clamped into range.
fn row(s: Slot, r: u32) -> u32 {
  return min(s.b0 + r, params.batch - 1u);
}

// (b, t) → vec4 index of the row's first element in a (B, T, width) tensor (width a multiple of 4).
fn at4(b: u32, t: u32, width: u32) -> u32 {
  return (b * params.steps + t) * (width / 4u);
}

@compute @workgroup_size(64, 1, 1)
fn gru_recurrence_step4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let H4 = H / 4u;
  let t = params.t;
  let base = vec4u(at4(row(s, 0u), t, H), at4(row(s, 1u), t, H), at4(row(s, 2u), t, H), at4(row(s, 3u), t, H));
  // vec4 rows of W_hh for the block's units: gate r rows u, z rows H + u, n rows 2H + u.
  let u0 = 4u * s.q;
  let wr = (vec4u(u0) + vec4u(0u, 1u, 2u, 3u)) * H4;
  let wz = wr + vec4u(H * H4);
  let wn = wz + vec4u(H * H4);
  // Accumulators per gate and unit (r0 = gate r of unit u0), lanes = the 4 rows.
  var r0 = vec4f(0.0); var r1 = vec4f(0.0); var r2 = vec4f(0.0); var r3 = vec4f(0.0);
  var z0 = vec4f(0.0); var z1 = vec4f(0.0); var z2 = vec4f(0.0); var z3 = vec4f(0.0);
  var n0 = vec4f(0.0); var n1 = vec4f(0.0); var n2 = vec4f(0.0); var n3 = vec4f(0.0);
  for (var k = 0u; k < H4; k++) {
    // Column r of hm: row r's h at 4k..4k+3; w · hm is then the 4 rows' dot products with w.
    let hm = mat4x4<f32>(hprev[base.x + k], hprev[base.y + k], hprev[base.z + k], hprev[base.w + k]);
    r0 = weight_hh[wr.x + k] * hm + r0;
    r1 = weight_hh[wr.y + k] * hm + r1;
    r2 = weight_hh[wr.z + k] * hm + r2;
    r3 = weight_hh[wr.w + k] * hm + r3;
    z0 = weight_hh[wz.x + k] * hm + z0;
    z1 = weight_hh[wz.y + k] * hm + z1;
    z2 = weight_hh[wz.z + k] * hm + z2;
    z3 = weight_hh[wz.w + k] * hm + z3;
    n0 = weight_hh[wn.x + k] * hm + n0;
    n1 = weight_hh[wn.y + k] * hm + n1;
    n2 = weight_hh[wn.z + k] * hm + n2;
    n3 = weight_hh[wn.w + k] * hm + n3;
  }
  // Row r of each transposed block: that row's 4 units.
  let ar = transpose(mat4x4<f32>(r0, r1, r2, r3));
  let az = transpose(mat4x4<f32>(z0, z1, z2, z3));
  let an = transpose(mat4x4<f32>(n0, n1, n2, n3));
  let br = bias_hh[s.q];
  let bz = bias_hh[H4 + s.q];
  let bn = bias_hh[2u * H4 + s.q];
  for (var r = 0u; r < ROWS; r++) {
    if (s.b0 + r >= params.batch) {
      continue;
    }
    let b = s.b0 + r;
    let g = at4(b, t, 3u * H) + s.q;
    let ghn = an[r] + bn;
    let rg = stable_sigmoid4(gi[g] + (ar[r] + br));
    let zg = stable_sigmoid4(gi[g + H4] + (az[r] + bz));
    let ng = safe_tanh4(rg * ghn + gi[g + 2u * H4]);
    let hn = (1.0 - zg) * ng + zg * hprev[at4(b, t, H) + s.q];
    hs[at4(b, t, H) + s.q] = hn;
    let sv = at4(b, t, 4u * H) + s.q;
    gates[sv] = rg;
    gates[sv + H4] = zg;
    gates[sv + 2u * H4] = ng;
    gates[sv + 3u * H4] = ghn;
    if (t + 1u < params.steps) {
      hprev[at4(b, t + 1u, H) + s.q] = hn;
    }
  }
}

// carry(t1) for row r (a vec4 over the block's units k): z_{t1}·dh_{t1} +
// Σ_{j<3H} dgh[b, t1, j]·W_hh[j, k]; zero when t1 = T.
fn carry4(s: Slot, t1: u32) -> array<vec4f, 4> {
  let H = params.hidden;
  let H4 = H / 4u;
  if (t1 >= params.steps) {
    return array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  }
  let base = vec4u(at4(row(s, 0u), t1, 3u * H), at4(row(s, 1u), t1, 3u * H), at4(row(s, 2u), t1, 3u * H), at4(row(s, 3u), t1, 3u * H));
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  for (var j = 0u; j < 3u * H4; j++) {
    // Column q of wm: W_hh row 4j + q at the block's units.
    let w = 4u * j * H4 + s.q;
    let wm = mat4x4<f32>(weight_hh[w], weight_hh[w + H4], weight_hh[w + 2u * H4], weight_hh[w + 3u * H4]);
    a0 = wm * dgh[base.x + j] + a0;
    a1 = wm * dgh[base.y + j] + a1;
    a2 = wm * dgh[base.z + j] + a2;
    a3 = wm * dgh[base.w + j] + a3;
  }
  var acc = array<vec4f, 4>(a0, a1, a2, a3);
  let slot = (t1 % 2u) * params.batch * H4;
  for (var r = 0u; r < ROWS; r++) {
    let b = row(s, r);
    let z = gates_in[at4(b, t1, 4u * H) + H4 + s.q];
    acc[r] = z * dcarry[slot + b * H4 + s.q] + acc[r];
  }
  return acc;
}

@compute @workgroup_size(64, 1, 1)
fn gru_recurrence_backward_step4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                 @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let H4 = H / 4u;
  let t = params.t;
  let cin = carry4(s, t + 1u);
  let slot = (t % 2u) * params.batch * H4;
  for (var r = 0u; r < ROWS; r++) {
    if (s.b0 + r >= params.batch) {
      continue;
    }
    let b = s.b0 + r;
    let dh = dhs[at4(b, t, H) + s.q] + cin[r];
    let sv = at4(b, t, 4u * H) + s.q;
    let rg = gates_in[sv];
    let zg = gates_in[sv + H4];
    let ng = gates_in[sv + 2u * H4];
    let ghn = gates_in[sv + 3u * H4];
    let hp = hprev_in[at4(b, t, H) + s.q];
    let dn = dh * (1.0 - zg) * (1.0 - ng * ng);
    let dz = dh * (hp - ng) * zg * (1.0 - zg);
    let dr = dn * ghn * rg * (1.0 - rg);
    let g = at4(b, t, 3u * H) + s.q;
    dgi[g] = dr;
    dgi[g + H4] = dz;
    dgi[g + 2u * H4] = dn;
    dgh[g] = dr;
    dgh[g + H4] = dz;
    dgh[g + 2u * H4] = dn * rg;
    dcarry[slot + b * H4 + s.q] = dh;
  }
}

@compute @workgroup_size(64, 1, 1)
fn gru_backward_h0_4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li);
  if (!s.valid) {
    return;
  }
  let H4 = params.hidden / 4u;
  let cin = carry4(s, 0u);
  for (var r = 0u; r < ROWS; r++) {
    if (s.b0 + r >= params.batch) {
      continue;
    }
    let i = (s.b0 + r) * H4 + s.q;
    if (params.accumulate != 0u) {
      dh0[i] = dh0[i] + cin[r];
    } else {
      dh0[i] = cin[r];
    }
  }
}
