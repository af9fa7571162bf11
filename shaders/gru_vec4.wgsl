// gru_vec4: gru.wgsl's recurrence steps for a hidden size that is a
// multiple of 4, every tensor read and written as vec4 along its last axis.
// Same entry semantics and shapes as gru.wgsl (which keeps h0's start entries
// and serves every other hidden size); the sums run over four indices per
// load, and an invocation may take 16 rows instead of 4 (ROW_QUADS):
// requires: activation_fns.wgsl
//
// gru_recurrence_step4          per four k, for each quad of 4 rows:
//                               gh (4 rows × 4 units × 3 gates) += w · hm,
//                               hm = h_{t−1} of the 4 rows at k..k+3 (4 loads),
//                               w = W_hh[unit, k..k+3] (12 loads, shared by
//                               the quads): 192 multiply-adds per quad; then
//                               the gates of each row as a vec4 over units.
// gru_recurrence_backward_step4 carry per four j: Wm = W_hh[j..j+3, the 4
//                               units] (4 loads, shared by the quads),
//                               dgh[b, t+1, j..j+3] per row (4 loads a quad),
//                               64 multiply-adds a quad; then the gate
//                               gradients of each row as a vec4 over units.
// gru_backward_h0_4             dh0 = carry(0) (+= with accumulate).
//
// An invocation owns rows b0..b0+ROWS−1 and units u0..u0+3 (u0 a multiple of
// 4, so each row's 4 units are one aligned vec4 of every tensor); rows past B
// compute on row B − 1 and write nothing. Sums run over their index in
// increasing order within an invocation, four at a time, each row's on its
// own: results do not depend on ROWS or the dispatch geometry.
// Dispatch: 64 invocations per workgroup, grid1d(⌈B/ROWS⌉·H/4, 64).

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
// Rows an invocation takes, in quads of 4: 1 (4 rows: portable, few
// registers) or 4 (16 rows: the weights each load brings serve four times
// the multiply-adds, for adapters that run an invocation on a CPU thread,
// where every load is a per-lane gather). Set by src/kernels/gru.ts from the
// kernel profile; the other quads fold away when it is 1.
override ROW_QUADS: u32 = 1u;
override ROWS: u32 = 4u * ROW_QUADS;

// An invocation's block: batch rows b0..b0+ROWS−1 and the unit quad q (units 4q..4q+3).
struct Slot {
  b0: u32,
  q: u32,
  valid: bool,
}

// The block of invocation li: consecutive invocations take consecutive row
// groups of the same units (the same weights across a workgroup's lanes), as
// in gru.wgsl. An invocation takes `quads` unit quads (s.q the first; the
// others, s.q + 1…, may be past H/4 and are then skipped by the caller).
fn slot_of(wg: vec3u, nwg: vec3u, li: u32, quads: u32) -> Slot {
  let i = (wg.x + wg.y * nwg.x) * WG + li;
  let row_groups = (params.batch + ROWS - 1u) / ROWS;
  let u = i / row_groups;
  return Slot((i - u * row_groups) * ROWS, u * quads, u * quads < params.hidden / 4u);
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

// The vec4 index of the first element of step t of the block's rows 4·quad..4·quad+3 in a (B, T, width) tensor.
fn quad_rows(s: Slot, quad: u32, t: u32, width: u32) -> vec4u {
  let r = 4u * quad;
  return vec4u(at4(row(s, r), t, width), at4(row(s, r + 1u), t, width), at4(row(s, r + 2u), t, width), at4(row(s, r + 3u), t, width));
}

// The forward's sums for one quad of rows: g[u] gate r, g[4 + u] gate z,
// g[8 + u] gate n of unit u0 + u, lanes = the 4 rows. One step over four k:
// g[i] += w[i] · hm, w[i] = W_hh[that gate's row of the unit, k..k+3], column
// r of hm = row r's h at k..k+3.
fn gate_sums(g: ptr<function, array<vec4f, 12>>, w: ptr<function, array<vec4f, 12>>, hm: mat4x4<f32>) {
  (*g)[0] = (*w)[0] * hm + (*g)[0];
  (*g)[1] = (*w)[1] * hm + (*g)[1];
  (*g)[2] = (*w)[2] * hm + (*g)[2];
  (*g)[3] = (*w)[3] * hm + (*g)[3];
  (*g)[4] = (*w)[4] * hm + (*g)[4];
  (*g)[5] = (*w)[5] * hm + (*g)[5];
  (*g)[6] = (*w)[6] * hm + (*g)[6];
  (*g)[7] = (*w)[7] * hm + (*g)[7];
  (*g)[8] = (*w)[8] * hm + (*g)[8];
  (*g)[9] = (*w)[9] * hm + (*g)[9];
  (*g)[10] = (*w)[10] * hm + (*g)[10];
  (*g)[11] = (*w)[11] * hm + (*g)[11];
}

// h_{t−1} of the quad's 4 rows at k..k+3 (k = 4·kq) as the columns of a matrix.
fn h_quad(base: vec4u, kq: u32) -> mat4x4<f32> {
  return mat4x4<f32>(hprev[base.x + kq], hprev[base.y + kq], hprev[base.z + kq], hprev[base.w + kq]);
}

// The gates and the new state of the quad's rows from its sums.
fn finish_quad(s: Slot, quad: u32, g: ptr<function, array<vec4f, 12>>) {
  let H = params.hidden;
  let H4 = H / 4u;
  let t = params.t;
  // Row r of each transposed block: that row's 4 units.
  let ar = transpose(mat4x4<f32>((*g)[0], (*g)[1], (*g)[2], (*g)[3]));
  let az = transpose(mat4x4<f32>((*g)[4], (*g)[5], (*g)[6], (*g)[7]));
  let an = transpose(mat4x4<f32>((*g)[8], (*g)[9], (*g)[10], (*g)[11]));
  let br = bias_hh[s.q];
  let bz = bias_hh[H4 + s.q];
  let bn = bias_hh[2u * H4 + s.q];
  for (var r = 0u; r < 4u; r++) {
    let b = s.b0 + 4u * quad + r;
    if (b >= params.batch) {
      continue;
    }
    let gi0 = at4(b, t, 3u * H) + s.q;
    let ghn = an[r] + bn;
    let rg = stable_sigmoid4(gi[gi0] + (ar[r] + br));
    let zg = stable_sigmoid4(gi[gi0 + H4] + (az[r] + bz));
    let ng = safe_tanh4(rg * ghn + gi[gi0 + 2u * H4]);
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

@compute @workgroup_size(64, 1, 1)
fn gru_recurrence_step4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li, 1u);
  if (!s.valid) {
    return;
  }
  let H = params.hidden;
  let H4 = H / 4u;
  let t = params.t;
  let base0 = quad_rows(s, 0u, t, H);
  let base1 = quad_rows(s, 1u, t, H);
  let base2 = quad_rows(s, 2u, t, H);
  let base3 = quad_rows(s, 3u, t, H);
  // vec4 rows of W_hh for the block's units: gate r rows u, z rows H + u, n rows 2H + u.
  let u0 = 4u * s.q;
  let wr = (vec4u(u0) + vec4u(0u, 1u, 2u, 3u)) * H4;
  let wz = wr + vec4u(H * H4);
  let wn = wz + vec4u(H * H4);
  var g0: array<vec4f, 12>;
  var g1: array<vec4f, 12>;
  var g2: array<vec4f, 12>;
  var g3: array<vec4f, 12>;
  for (var k = 0u; k < H4; k++) {
    var w = array<vec4f, 12>(weight_hh[wr.x + k], weight_hh[wr.y + k], weight_hh[wr.z + k], weight_hh[wr.w + k],
                             weight_hh[wz.x + k], weight_hh[wz.y + k], weight_hh[wz.z + k], weight_hh[wz.w + k],
                             weight_hh[wn.x + k], weight_hh[wn.y + k], weight_hh[wn.z + k], weight_hh[wn.w + k]);
    gate_sums(&g0, &w, h_quad(base0, k));
    if (ROW_QUADS > 1u) {
      gate_sums(&g1, &w, h_quad(base1, k));
      gate_sums(&g2, &w, h_quad(base2, k));
      gate_sums(&g3, &w, h_quad(base3, k));
    }
  }
  finish_quad(s, 0u, &g0);
  if (ROW_QUADS > 1u) {
    finish_quad(s, 1u, &g1);
    finish_quad(s, 2u, &g2);
    finish_quad(s, 3u, &g3);
  }
}

// Unit quads an invocation of the backward entries takes: 1, or 2 (units
// 4q..4q+7: each load of dgh then serves both quads' weights) under the cpu
// profile. The forward always takes one.
override UNIT_QUADS: u32 = 1u;

// One step over four j of the carry's sums for a quad of rows: a[r] +=
// wm · dgh[row r, t1, j..j+3], column q of wm = W_hh row j + q at the first
// unit quad's units, and c[r] += wm2 · the same for the second.
fn carry_sums(a: ptr<function, array<vec4f, 4>>, c: ptr<function, array<vec4f, 4>>, wm: mat4x4<f32>, wm2: mat4x4<f32>, base: vec4u, jq: u32) {
  let d0 = dgh[base.x + jq];
  let d1 = dgh[base.y + jq];
  let d2 = dgh[base.z + jq];
  let d3 = dgh[base.w + jq];
  (*a)[0] = wm * d0 + (*a)[0];
  (*a)[1] = wm * d1 + (*a)[1];
  (*a)[2] = wm * d2 + (*a)[2];
  (*a)[3] = wm * d3 + (*a)[3];
  if (UNIT_QUADS > 1u) {
    (*c)[0] = wm2 * d0 + (*c)[0];
    (*c)[1] = wm2 * d1 + (*c)[1];
    (*c)[2] = wm2 * d2 + (*c)[2];
    (*c)[3] = wm2 * d3 + (*c)[3];
  }
}

// W_hh rows 4j..4j+3 at the units of quad q as the columns of a matrix.
fn w_rows(j: u32, q: u32) -> mat4x4<f32> {
  let H4 = params.hidden / 4u;
  let w = 4u * j * H4 + q;
  return mat4x4<f32>(weight_hh[w], weight_hh[w + H4], weight_hh[w + 2u * H4], weight_hh[w + 3u * H4]);
}

// Adds z_{t1}·dh_{t1} of unit quad q to each row's sums.
fn add_carried(s: Slot, t1: u32, q: u32, acc: ptr<function, array<vec4f, 16>>) {
  let H = params.hidden;
  let H4 = H / 4u;
  let slot = (t1 % 2u) * params.batch * H4;
  for (var r = 0u; r < ROWS; r++) {
    let b = row(s, r);
    let z = gates_in[at4(b, t1, 4u * H) + H4 + q];
    (*acc)[r] = z * dcarry[slot + b * H4 + q] + (*acc)[r];
  }
}

// carry(t1) for each row r of the block (a vec4 over unit quad s.q in c0 and
// s.q + 1 in c1): z_{t1}·dh_{t1} + Σ_{j<3H} dgh[b, t1, j]·W_hh[j, k]; zero
// when t1 = T.
fn carry_block(s: Slot, t1: u32, c0: ptr<function, array<vec4f, 16>>, c1: ptr<function, array<vec4f, 16>>) {
  let H = params.hidden;
  let H4 = H / 4u;
  if (t1 >= params.steps) {
    return;
  }
  let q2 = min(s.q + 1u, H4 - 1u);
  let base0 = quad_rows(s, 0u, t1, 3u * H);
  let base1 = quad_rows(s, 1u, t1, 3u * H);
  let base2 = quad_rows(s, 2u, t1, 3u * H);
  let base3 = quad_rows(s, 3u, t1, 3u * H);
  var a0: array<vec4f, 4>; var e0: array<vec4f, 4>;
  var a1: array<vec4f, 4>; var e1: array<vec4f, 4>;
  var a2: array<vec4f, 4>; var e2: array<vec4f, 4>;
  var a3: array<vec4f, 4>; var e3: array<vec4f, 4>;
  for (var j = 0u; j < 3u * H4; j++) {
    let wm = w_rows(j, s.q);
    var wm2: mat4x4<f32>;
    if (UNIT_QUADS > 1u) {
      wm2 = w_rows(j, q2);
    }
    carry_sums(&a0, &e0, wm, wm2, base0, j);
    if (ROW_QUADS > 1u) {
      carry_sums(&a1, &e1, wm, wm2, base1, j);
      carry_sums(&a2, &e2, wm, wm2, base2, j);
      carry_sums(&a3, &e3, wm, wm2, base3, j);
    }
  }
  *c0 = array<vec4f, 16>(a0[0], a0[1], a0[2], a0[3], a1[0], a1[1], a1[2], a1[3],
                         a2[0], a2[1], a2[2], a2[3], a3[0], a3[1], a3[2], a3[3]);
  add_carried(s, t1, s.q, c0);
  if (UNIT_QUADS > 1u) {
    *c1 = array<vec4f, 16>(e0[0], e0[1], e0[2], e0[3], e1[0], e1[1], e1[2], e1[3],
                           e2[0], e2[1], e2[2], e2[3], e3[0], e3[1], e3[2], e3[3]);
    add_carried(s, t1, q2, c1);
  }
}

// The gate gradients of step t for the block's rows at unit quad q, from carry(t + 1).
fn backward_quad(s: Slot, q: u32, cin: ptr<function, array<vec4f, 16>>) {
  let H = params.hidden;
  let H4 = H / 4u;
  let t = params.t;
  let slot = (t % 2u) * params.batch * H4;
  for (var r = 0u; r < ROWS; r++) {
    if (s.b0 + r >= params.batch) {
      continue;
    }
    let b = s.b0 + r;
    let dh = dhs[at4(b, t, H) + q] + (*cin)[r];
    let sv = at4(b, t, 4u * H) + q;
    let rg = gates_in[sv];
    let zg = gates_in[sv + H4];
    let ng = gates_in[sv + 2u * H4];
    let ghn = gates_in[sv + 3u * H4];
    let hp = hprev_in[at4(b, t, H) + q];
    let dn = dh * (1.0 - zg) * (1.0 - ng * ng);
    let dz = dh * (hp - ng) * zg * (1.0 - zg);
    let dr = dn * ghn * rg * (1.0 - rg);
    let g = at4(b, t, 3u * H) + q;
    dgi[g] = dr;
    dgi[g + H4] = dz;
    dgi[g + 2u * H4] = dn;
    dgh[g] = dr;
    dgh[g + H4] = dz;
    dgh[g + 2u * H4] = dn * rg;
    dcarry[slot + b * H4 + q] = dh;
  }
}

@compute @workgroup_size(64, 1, 1)
fn gru_recurrence_backward_step4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                 @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li, UNIT_QUADS);
  if (!s.valid) {
    return;
  }
  var c0: array<vec4f, 16>;
  var c1: array<vec4f, 16>;
  carry_block(s, params.t + 1u, &c0, &c1);
  backward_quad(s, s.q, &c0);
  if (UNIT_QUADS > 1u && s.q + 1u < params.hidden / 4u) {
    backward_quad(s, s.q + 1u, &c1);
  }
}

// dh0 = carry(0) at unit quad q (+= with accumulate).
fn h0_quad(s: Slot, q: u32, cin: ptr<function, array<vec4f, 16>>) {
  let H4 = params.hidden / 4u;
  for (var r = 0u; r < ROWS; r++) {
    if (s.b0 + r >= params.batch) {
      continue;
    }
    let i = (s.b0 + r) * H4 + q;
    if (params.accumulate != 0u) {
      dh0[i] = dh0[i] + (*cin)[r];
    } else {
      dh0[i] = (*cin)[r];
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn gru_backward_h0_4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let s = slot_of(wg, nwg, li, UNIT_QUADS);
  if (!s.valid) {
    return;
  }
  var c0: array<vec4f, 16>;
  var c1: array<vec4f, 16>;
  carry_block(s, 0u, &c0, &c1);
  h0_quad(s, s.q, &c0);
  if (UNIT_QUADS > 1u && s.q + 1u < params.hidden / 4u) {
    h0_quad(s, s.q + 1u, &c1);
  }
}
