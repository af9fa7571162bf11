// conv_block_weight: the weight gradient of a convolution on conv_block.wgsl's
// 16×32 register blocks (same semantics as conv2d.wgsl's backward weight;
// also conv_transpose2d's, with x and dy swapped), and the gathers of x at a
// block's taps and of dy at a quad of pixels that conv_block_rows.wgsl and
// conv_block_subgroup.wgsl build their weight gradients from.
// requires: conv_block.wgsl
//
// conv2d_backward_weight_block (also conv_transpose2d_backward_weight)
//   dweight[co, ci, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, iy, ix]
//   (+= with accumulate = 1). A workgroup of 8 owns 16 flattened (ci, ky, kx)
//   indices × 32 output channels; its invocations split the N·OH·OW output
//   pixels (invocation s takes the groups of 4 pixels s, s + 8, ...) and add
//   their partial blocks in workgroup memory behind one barrier.
// Uniforms: conv_block.wgsl's (accumulate read from the uniform).
// Dispatch: grid1d(ceil(C_in·KH·KW / 16) · ceil(C_out / 32), 1) workgroups of 8.

const SPLIT: u32 = 8u; // invocations per workgroup

// Partial blocks of the workgroup's invocations: invocation s at [s·128, s·128 + 128).
var<workgroup> partial: array<vec4f, 1024>;

// The workgroup's SPLIT partial blocks added up: every invocation spills its
// 128 vec4 entries (entry e is column e % 4 of acc.m[e / 4]) to `partial`,
// the workgroup meets at one barrier, and invocation li returns entries
// li·16 .. li·16 + 15 summed over the parts. Called in uniform control flow.
fn sum_partials(li: u32, acc: ptr<function, MatmulBlock>) -> array<vec4f, 16> {
  let out = (*acc).m;
  for (var e = 0u; e < 128u; e++) {
    partial[li * 128u + e] = out[e / 4u][e % 4u];
  }
  workgroupBarrier();
  var sums: array<vec4f, 16>;
  for (var i = 0u; i < 16u; i++) {
    var s = vec4f(0.0);
    for (var part = 0u; part < SPLIT; part++) { s += partial[part * 128u + li * 16u + i]; }
    sums[i] = s;
  }
  return sums;
}

// dweight[co, k] = v, or += v with accumulate (k the flattened (ci, ky, kx)).
fn put_dweight(co: u32, k: u32, kcount: u32, v: f32) {
  let idx = co * kcount + k;
  var w = v;
  if (params.accumulate != 0u) { w += dweight[idx]; }
  dweight[idx] = w;
}

// The 16 flattened weight indices k0..k0+15 of a backward-weight block (clamped to
// the last): for index 4i + r, component r of off[i] is its offset in x
// relative to (n, 0, iy0, ix0), sy[i] and sx[i] its row and column shifts.
struct Taps {
  off: array<vec4i, 4>,
  sy: array<vec4i, 4>,
  sx: array<vec4i, 4>,
}

// Column of Ak for one weight index over 4 pixels: x at (row py + sy,
// column pxc + sx, offset pb + off), zero outside x or for dead pixels.
fn gather_tap(pb: vec4i, py: vec4i, pxc: vec4i, alive: vec4<bool>, off: i32, sy: i32, sx: i32) -> vec4f {
  let iy = py + vec4i(sy);
  let ix = pxc + vec4i(sx);
  let ok = alive & (vec4u(iy) < vec4u(params.h)) & (vec4u(ix) < vec4u(params.w));
  return x_at(pb + vec4i(off), ok);
}

fn gather_taps(t: ptr<function, Taps>, i: u32, pb: vec4i, py: vec4i, pxc: vec4i, alive: vec4<bool>) -> mat4x4<f32> {
  let o = (*t).off[i];
  let sy = (*t).sy[i];
  let sx = (*t).sx[i];
  return mat4x4<f32>(
    gather_tap(pb, py, pxc, alive, o.x, sy.x, sx.x),
    gather_tap(pb, py, pxc, alive, o.y, sy.y, sx.y),
    gather_tap(pb, py, pxc, alive, o.z, sy.z, sx.z),
    gather_tap(pb, py, pxc, alive, o.w, sy.w, sx.w));
}

// Bk of 4 pixels (dy offsets of (n, 0, oy, ox) in db) and 4 channels (plane offsets cof).
fn gather_dy(db: vec4u, cof: vec4u) -> mat4x4<f32> {
  let i0 = vec4u(db.x) + cof;
  let i1 = vec4u(db.y) + cof;
  let i2 = vec4u(db.z) + cof;
  let i3 = vec4u(db.w) + cof;
  return mat4x4<f32>(vec4f(dy[i0.x], dy[i0.y], dy[i0.z], dy[i0.w]), vec4f(dy[i1.x], dy[i1.y], dy[i1.z], dy[i1.w]),
                     vec4f(dy[i2.x], dy[i2.y], dy[i2.z], dy[i2.w]), vec4f(dy[i3.x], dy[i3.y], dy[i3.z], dy[i3.w]));
}

// The Taps of flattened weight indices k0..k0+15 (clamped to the last).
fn weight_taps(k0: u32) -> Taps {
  let ksize = params.kh * params.kw;
  let kcount = params.c_in * ksize;
  let hw = params.h * params.w;
  var taps: Taps;
  for (var r = 0u; r < 16u; r++) {
    let k = min(k0 + r, kcount - 1u);
    let ci = k / ksize;
    let tap = k - ci * ksize;
    let ky = tap / params.kw;
    let kx = tap - ky * params.kw;
    let sy = i32(ky * params.dil_h) - i32(params.pad_h);
    let sx = i32(kx * params.dil_w) - i32(params.pad_w);
    taps.off[r / 4u][r % 4u] = i32(ci * hw) + sy * i32(params.w) + sx;
    taps.sy[r / 4u][r % 4u] = sy;
    taps.sx[r / 4u][r % 4u] = sx;
  }
  return taps;
}

// Output pixels 4q..4q+3 of the flattened (n, oy, ox) order (clamped to the
// last, alive where inside): pb, py, pxc are x's offset, row and column of the
// tap with zero shift, db the offset of dy[n, 0, oy, ox].
struct PixelQuad {
  pb: vec4i,
  py: vec4i,
  pxc: vec4i,
  alive: vec4<bool>,
  db: vec4u,
}

fn pixel_quad(q: u32) -> PixelQuad {
  let plane = params.oh * params.ow;
  let total = params.n * plane;
  let t = vec4u(q * 4u) + LANES;
  let tc = min(t, vec4u(total - 1u));
  let n = tc / vec4u(plane);
  let r = tc - n * plane;
  let oy = r / vec4u(params.ow);
  let ox = r - oy * params.ow;
  let py = vec4i(oy * params.stride_h);
  let pxc = vec4i(ox * params.stride_w);
  let pb = vec4i(n) * i32(params.c_in * params.h * params.w) + py * i32(params.w) + pxc;
  // Dead pixels read dy as zero through a zero x (alive masks the gathers of x).
  return PixelQuad(pb, py, pxc, t < vec4u(total), n * (params.c_out * plane) + r);
}

// The four Ak of a backward-weight step: x at the 16 taps for the pixel quad p.
fn gather_ak_taps(t: ptr<function, Taps>, p: PixelQuad) -> array<mat4x4<f32>, 4> {
  return array<mat4x4<f32>, 4>(gather_taps(t, 0u, p.pb, p.py, p.pxc, p.alive), gather_taps(t, 1u, p.pb, p.py, p.pxc, p.alive),
                               gather_taps(t, 2u, p.pb, p.py, p.pxc, p.alive), gather_taps(t, 3u, p.pb, p.py, p.pxc, p.alive));
}

@compute @workgroup_size(8, 1, 1)
fn conv2d_backward_weight_block(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                @builtin(local_invocation_index) li: u32) {
  let ksize = params.kh * params.kw;
  let kcount = params.c_in * ksize;
  let kblocks = (kcount + 15u) / 16u;
  let b = wg.x + wg.y * nwg.x;
  // The whole workgroup leaves together (before the barrier) when past the last block.
  if (b >= kblocks * ((params.c_out + 31u) / 32u)) { return; }
  let cb = b / kblocks;
  let k0 = (b - cb * kblocks) * 16u;
  let co0 = cb * 32u;
  var taps = weight_taps(k0);
  var cof: array<vec4u, 8>;
  channel_bases(co0, params.oh * params.ow, &cof);
  let quads = (params.n * params.oh * params.ow + 3u) / 4u;
  var acc: MatmulBlock;
  for (var q = li; q < quads; q += SPLIT) {
    let p = pixel_quad(q);
    var ak = gather_ak_taps(&taps, p);
    var bk: array<mat4x4<f32>, 8>;
    bk[0] = gather_dy(p.db, cof[0]);
    bk[1] = gather_dy(p.db, cof[1]);
    bk[2] = gather_dy(p.db, cof[2]);
    bk[3] = gather_dy(p.db, cof[3]);
    bk[4] = gather_dy(p.db, cof[4]);
    bk[5] = gather_dy(p.db, cof[5]);
    bk[6] = gather_dy(p.db, cof[6]);
    bk[7] = gather_dy(p.db, cof[7]);
    block_mma(&acc, &ak, &bk);
  }
  let sums = sum_partials(li, &acc);
  for (var i = 0u; i < 16u; i++) {
    // Entry e is column e % 4 of matrix m = e / 4 = i·8 + j: weight index
    // k0 + 4i + e % 4, output channels co0 + 4j .. + 3.
    let e = li * 16u + i;
    let m = e / 4u;
    let k = k0 + 4u * (m / 8u) + e % 4u;
    if (k < kcount) {
      for (var c = 0u; c < 4u; c++) {
        let co = co0 + 4u * (m % 8u) + c;
        if (co < params.c_out) { put_dweight(co, k, kcount, sums[i][c]); }
      }
    }
  }
}
