// conv_narrow: the three conv products with no channel blocking, for layers
// with too few output channels to fill the blocks of the other kernels (a
// decoder's last layer: conv2d 16 → 1, conv_transpose2d 32 → 1), where
// conv2d.wgsl's 4 channels and conv_block_rows.wgsl's 16 would mostly
// compute channels that do not exist. Same semantics, layouts, uniforms
// (conv_params.wgsl) and epilogue as conv2d.wgsl and conv_transpose2d.wgsl;
// src/kernels/conv2d.ts picks them for the `blocked` variant when a product
// has one output channel (NARROW_CHANNELS); the adjoint at stride 2 without
// dilation runs conv_narrow_s2.wgsl instead.
// requires: epilogue.wgsl, conv_taps.wgsl, conv_params.wgsl
//
// Shapes (row-major f32), as conv2d.wgsl:
//   x:      (N, C_in, H, W)
//   weight: (C_out, C_in, KH, KW) for the correlation, (C_in, C_out, KH, KW)
//           for the adjoint (nn.ConvTranspose2d's layout)
//   bias:   (C_out)                     read when has_bias = 1
//   y, dy:  (N, C_out, OH, OW)
//
// All work on consecutive output pixels of one row of ONE output channel
// (16 for the forward forms, 8 at a time for the weight gradient), so no
// work is spent on channels that do not exist. Their reuse comes from the
// row instead: with SLIDE (an override, see each entry point), the input
// columns of a tap are those of the previous tap shifted by one, so a tap
// costs one new load of x instead of 16 (18 loads for the 48 multiply-adds
// of a 3-wide kernel row). Without SLIDE every tap gathers its columns.
// Columns outside the input read zero; rows outside it are skipped per tap
// row.
//
// conv2d_forward_narrow (the correlation; also conv_transpose2d_backward_input)
//   y[n, co, oy, ox] = act(bias[co] + Σ_{ci, ky, kx} x[n, ci, iy, ix] · weight[co, ci, ky, kx])
//   (or y += the sum with accumulate = 1), iy = oy·stride_h − pad_h + ky·dil_h,
//   ix = ox·stride_w − pad_w + kx·dil_w. SLIDE: stride_w = dil_w = 1.
//   An invocation owns 16 pixels (four vec4 accumulators) and loops over
//   every input channel and tap; the epilogue (the overrides ACT and
//   ACCUMULATE: a branch on a uniform would run both sides on SwiftShader)
//   stores each output once.
//   Thread t = ((n·C_out + co)·OH + oy)·⌈OW / 16⌉ + ox / 16.
//   Dispatch: grid1d(N·C_out·OH·⌈OW / 16⌉, 64).
//
// conv_transpose2d_forward_narrow (the adjoint; conv_transpose2d's forward)
//   y[n, co, oy, ox] = act(bias[co] + Σ_{ci, ky, kx : oy, ox reached from (iy, ix)}
//                          x[n, ci, iy, ix] · weight[ci, co, ky, kx])
//   (or y += the sum), as conv_transpose2d_forward: output pixels grouped by
//   stride phase (ry, rx), an invocation's 16 pixels 16 consecutive columns
//   qx of one phase row (ox = qx·stride_w + rx), which read 16 consecutive
//   input columns per tap; only the phase's taps run (conv_taps.wgsl).
//   SLIDE: dil_w divides stride_w, so the phase's next tap reads one column
//   to the left. Epilogue as above.
//   Thread t = (((n·C_out + co)·SH·SW + ry·SW + rx)·QH + qy)·⌈QW / 16⌉ + qx / 16,
//   QH = ⌈OH / SH⌉, QW = ⌈OW / SW⌉; rows and columns past the phase's are idle.
//   Dispatch: grid1d(N·C_out·SH·SW·QH·⌈QW / 16⌉, 64).
//
// conv2d_backward_weight_narrow (also conv_transpose2d_backward_weight)
//   dweight[co, ci, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, iy, ix]
//   (+= with accumulate = 1; the caller then initializes dweight).
//   A workgroup of 64 owns one (co, ci, ky) and 4 taps kx0 .. kx0 + 3 of it
//   (the override TAPS = min(KW, 4) compiles out the taps a narrower row lacks)
//   and splits the N·OH output rows among its invocations (row r goes to
//   invocation r mod 64); each runs its rows 8 pixels at a time (8 loads of
//   dy, the 8 columns of x per tap, slid as above; SLIDE: stride_w =
//   dil_w = 1). The 64 partial sums are added by a fixed-order tree in
//   workgroup memory: no atomics, the same result every run.
//   Workgroup b = ((co·C_in + ci)·KH + ky)·⌈KW / 4⌉ + kx0 / 4.
//   Dispatch: grid1d(C_out·C_in·KH·⌈KW / 4⌉, 1) workgroups of 64.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

// Consecutive taps of a row read input columns one apart (see the header).
override SLIDE: bool = false;
// Weight gradient: taps per workgroup, min(KW, 4), so a narrower kernel row
// compiles without the unused taps' work (a uniform if runs both sides on CPU adapters).
override TAPS: u32 = 4u;

const WG: u32 = 64u;
const PXF: u32 = 16u; // output pixels per invocation (forward)
const PX: u32 = 8u; // output pixels per step (weight gradient)

const LANES_I = vec4i(0, 1, 2, 3);

// x at column c of the row that starts at rb, zero outside [0, W).
fn x_col(rb: u32, c: i32) -> f32 {
  let ok = c >= 0 && c < i32(params.w);
  return select(0.0, x[rb + u32(select(0, c, ok))], ok);
}

// x at 4 columns of the row that starts at rb, zero outside [0, W).
fn x_cols4(rb: u32, c: vec4i) -> vec4f {
  let ok = (c >= vec4i(0)) & (c < vec4i(i32(params.w)));
  let u = vec4u(select(vec4i(0), c, ok));
  return select(vec4f(0.0), vec4f(x[rb + u.x], x[rb + u.y], x[rb + u.z], x[rb + u.w]), ok);
}

// Pixel p (< 16) of the accumulators.
fn pick16(acc: array<vec4f, 4>, p: u32) -> f32 {
  let v = select(select(acc[3], acc[2], p < 12u), select(acc[1], acc[0], p < 4u), p < 8u);
  return v[p & 3u];
}

// Writes pixel p < count of the 16 to y[base + p·step]: the sum, plus the old
// y with ACCUMULATE, plus the bias, through the activation, one store each.
fn store16(acc: array<vec4f, 4>, base: u32, step: u32, count: u32, co: u32) {
  let b = select(0.0, bias[co], params.has_bias != 0u);
  for (var p = 0u; p < count; p++) {
    let idx = base + p * step;
    var v = pick16(acc, p);
    if (ACCUMULATE) { v += y[idx]; }
    v += b;
    y[idx] = act_forward(ACT, v, params.alpha);
  }
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_forward_narrow(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) li: u32) {
  let segs = (params.ow + PXF - 1u) / PXF;
  let t = (wg.x + wg.y * nwg.x) * WG + li;
  if (t >= params.n * params.c_out * params.oh * segs) { return; }
  let row = t / segs; // (n·C_out + co)·OH + oy
  let ox0 = (t - row * segs) * PXF;
  let nco = row / params.oh;
  let oy = row - nco * params.oh;
  let n = nco / params.c_out;
  let co = nco - n * params.c_out;
  let hw = params.h * params.w;
  let ksize = params.kh * params.kw;
  let iy0 = i32(oy * params.stride_h) - i32(params.pad_h);
  // Input columns of the 16 pixels at kx = 0, four at a time.
  let sw = i32(params.stride_w);
  let c0 = (vec4i(i32(ox0)) + LANES_I) * vec4i(sw) - vec4i(i32(params.pad_w));
  let c1 = c0 + vec4i(4 * sw);
  let c2 = c0 + vec4i(8 * sw);
  let c3 = c0 + vec4i(12 * sw);
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  var xb = n * params.c_in * hw;
  var wb = co * params.c_in * ksize;
  for (var ci = 0u; ci < params.c_in; ci++) {
    for (var ky = 0u; ky < params.kh; ky++) {
      let iy = iy0 + i32(ky * params.dil_h);
      if (iy < 0 || iy >= i32(params.h)) { continue; }
      let rb = xb + u32(iy) * params.w;
      let wr = wb + ky * params.kw;
      if (SLIDE) {
        var u0 = x_cols4(rb, c0);
        var u1 = x_cols4(rb, c1);
        var u2 = x_cols4(rb, c2);
        var u3 = x_cols4(rb, c3);
        for (var kx = 0u; kx < params.kw; kx++) {
          let wv = weight[wr + kx];
          a0 += wv * u0;
          a1 += wv * u1;
          a2 += wv * u2;
          a3 += wv * u3;
          let next = x_col(rb, c3.w + 1 + i32(kx));
          u0 = vec4f(u0.yzw, u1.x);
          u1 = vec4f(u1.yzw, u2.x);
          u2 = vec4f(u2.yzw, u3.x);
          u3 = vec4f(u3.yzw, next);
        }
      } else {
        for (var kx = 0u; kx < params.kw; kx++) {
          let off = vec4i(i32(kx * params.dil_w));
          let wv = weight[wr + kx];
          a0 += wv * x_cols4(rb, c0 + off);
          a1 += wv * x_cols4(rb, c1 + off);
          a2 += wv * x_cols4(rb, c2 + off);
          a3 += wv * x_cols4(rb, c3 + off);
        }
      }
    }
    xb += hw;
    wb += ksize;
  }
  store16(array<vec4f, 4>(a0, a1, a2, a3), row * params.ow + ox0, 1u, min(params.ow - ox0, PXF), co);
}

@compute @workgroup_size(64, 1, 1)
fn conv_transpose2d_forward_narrow(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                   @builtin(local_invocation_index) li: u32) {
  let sh = params.stride_h;
  let sw = params.stride_w;
  let qh = (params.oh + sh - 1u) / sh;
  let segs = ((params.ow + sw - 1u) / sw + PXF - 1u) / PXF;
  let per_phase = qh * segs;
  let per_plane = sh * sw * per_phase;
  let t = (wg.x + wg.y * nwg.x) * WG + li;
  if (t >= params.n * params.c_out * per_plane) { return; }
  let nco = t / per_plane; // n·C_out + co
  var r = t - nco * per_plane;
  let phase = r / per_phase;
  r -= phase * per_phase;
  let ry = phase / sw;
  let rx = phase - ry * sw;
  let qy = r / segs;
  let qx0 = (r - qy * segs) * PXF;
  let oy = qy * sh + ry;
  // Columns of this phase: ox = qx·SW + rx < OW.
  let cols = select(0u, (params.ow - rx + sw - 1u) / sw, rx < params.ow);
  if (oy >= params.oh || qx0 >= cols) { return; }
  let n = nco / params.c_out;
  let co = nco - n * params.c_out;
  let hw = params.h * params.w;
  let ksize = params.kh * params.kw;
  let pt = phase_walk(params, ry, rx);
  let q0 = vec4i(i32(qx0)) + LANES_I;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  var xb = n * params.c_in * hw;
  var wb = co * ksize;
  let wstep = params.c_out * ksize; // from one input channel to the next
  for (var ci = 0u; ci < params.c_in; ci++) {
    for (var ky = pt.ky0; ky < params.kh; ky += pt.step_y) {
      let iy = i32(qy) + (i32(ry + params.pad_h) - i32(ky * params.dil_h)) / i32(sh);
      if (iy < 0 || iy >= i32(params.h)) { continue; }
      let rb = xb + u32(iy) * params.w;
      let wr = wb + ky * params.kw;
      // Input column of pixel 0 at the phase's first tap (exact division).
      let c = q0 + vec4i((i32(rx + params.pad_w) - i32(pt.kx0 * params.dil_w)) / i32(sw));
      if (SLIDE) {
        // The phase's next tap reads one input column to the left.
        var u0 = x_cols4(rb, c);
        var u1 = x_cols4(rb, c + vec4i(4));
        var u2 = x_cols4(rb, c + vec4i(8));
        var u3 = x_cols4(rb, c + vec4i(12));
        var left = c.x;
        for (var kx = pt.kx0; kx < params.kw; kx += pt.step_x) {
          let wv = weight[wr + kx];
          a0 += wv * u0;
          a1 += wv * u1;
          a2 += wv * u2;
          a3 += wv * u3;
          left -= 1;
          u3 = vec4f(u2.w, u3.xyz);
          u2 = vec4f(u1.w, u2.xyz);
          u1 = vec4f(u0.w, u1.xyz);
          u0 = vec4f(x_col(rb, left), u0.xyz);
        }
      } else {
        for (var kx = pt.kx0; kx < params.kw; kx += pt.step_x) {
          let off = q0 + vec4i((i32(rx + params.pad_w) - i32(kx * params.dil_w)) / i32(sw));
          let wv = weight[wr + kx];
          a0 += wv * x_cols4(rb, off);
          a1 += wv * x_cols4(rb, off + vec4i(4));
          a2 += wv * x_cols4(rb, off + vec4i(8));
          a3 += wv * x_cols4(rb, off + vec4i(12));
        }
      }
    }
    xb += hw;
    wb += wstep;
  }
  let ox0 = qx0 * sw + rx;
  store16(array<vec4f, 4>(a0, a1, a2, a3), (nco * params.oh + oy) * params.ow + ox0, sw, min(cols - qx0, PXF), co);
}

var<workgroup> partial: array<vec4f, 64>;

// dy at the 4 output columns ox0 + 0..3 of the row starting at db, zero at and past OW.
fn dy4(db: u32, ox0: u32) -> vec4f {
  let ox = vec4u(ox0) + vec4u(0u, 1u, 2u, 3u);
  let ok = ox < vec4u(params.ow);
  let o = min(ox, vec4u(params.ow - 1u)) + vec4u(db);
  return select(vec4f(0.0), vec4f(dy[o.x], dy[o.y], dy[o.z], dy[o.w]), ok);
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_backward_weight_narrow(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                 @builtin(local_invocation_index) li: u32) {
  let quads = (params.kw + 3u) / 4u;
  let b = wg.x + wg.y * nwg.x;
  // The whole workgroup leaves together (before the barriers) when past the last block.
  if (b >= params.c_out * params.c_in * params.kh * quads) { return; }
  let cik = b / quads; // (co·C_in + ci)·KH + ky
  let kx0 = (b - cik * quads) * 4u;
  let coci = cik / params.kh;
  let ky = cik - coci * params.kh;
  let co = coci / params.c_in;
  let ci = coci - co * params.c_in;
  let hw = params.h * params.w;
  let sy = i32(ky * params.dil_h) - i32(params.pad_h);
  // Input columns of pixels 0..7 at tap kx0.
  let c_lo = LANES_I * vec4i(i32(params.stride_w)) + vec4i(i32(kx0 * params.dil_w) - i32(params.pad_w));
  let c_hi = c_lo + vec4i(i32(4u * params.stride_w));
  let seg_step = vec4i(i32(PX * params.stride_w)); // from one segment of 8 pixels to the next
  let dstep = vec4i(i32(params.dil_w));
  let taps = min(params.kw - kx0, 4u);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var row = li; row < params.n * params.oh; row += WG) {
    let n = row / params.oh;
    let oy = row - n * params.oh;
    let iy = i32(oy * params.stride_h) + sy;
    if (iy < 0 || iy >= i32(params.h)) { continue; }
    let rb = (n * params.c_in + ci) * hw + u32(iy) * params.w;
    let db = ((n * params.c_out + co) * params.oh + oy) * params.ow;
    var cl = c_lo;
    var ch = c_hi;
    for (var ox0 = 0u; ox0 < params.ow; ox0 += PX) {
      let glo = dy4(db, ox0);
      let ghi = dy4(db, ox0 + 4u);
      // Taps past TAPS are compiled out; the last group of a row wider than 4 masks its taps past KW.
      if (SLIDE) {
        var a = x_cols4(rb, cl);
        var bb = x_cols4(rb, ch);
        acc0 += glo * a + ghi * bb;
        if (TAPS > 1u && taps > 1u) {
          a = vec4f(a.yzw, bb.x);
          bb = vec4f(bb.yzw, x_col(rb, ch.w + 1));
          acc1 += glo * a + ghi * bb;
        }
        if (TAPS > 2u && taps > 2u) {
          a = vec4f(a.yzw, bb.x);
          bb = vec4f(bb.yzw, x_col(rb, ch.w + 2));
          acc2 += glo * a + ghi * bb;
        }
        if (TAPS > 3u && taps > 3u) {
          a = vec4f(a.yzw, bb.x);
          bb = vec4f(bb.yzw, x_col(rb, ch.w + 3));
          acc3 += glo * a + ghi * bb;
        }
      } else {
        acc0 += glo * x_cols4(rb, cl) + ghi * x_cols4(rb, ch);
        if (TAPS > 1u && taps > 1u) { acc1 += glo * x_cols4(rb, cl + dstep) + ghi * x_cols4(rb, ch + dstep); }
        if (TAPS > 2u && taps > 2u) { acc2 += glo * x_cols4(rb, cl + 2 * dstep) + ghi * x_cols4(rb, ch + 2 * dstep); }
        if (TAPS > 3u && taps > 3u) { acc3 += glo * x_cols4(rb, cl + 3 * dstep) + ghi * x_cols4(rb, ch + 3 * dstep); }
      }
      cl += seg_step;
      ch += seg_step;
    }
  }
  let ones = vec4f(1.0);
  partial[li] = vec4f(dot(acc0, ones), dot(acc1, ones), dot(acc2, ones), dot(acc3, ones));
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span >>= 1u) {
    if (li < span) { partial[li] = partial[li] + partial[li + span]; }
    workgroupBarrier();
  }
  if (li < taps) {
    let idx = cik * params.kw + kx0 + li;
    let v = partial[0][li];
    if (params.accumulate != 0u) {
      dweight[idx] = dweight[idx] + v;
    } else {
      dweight[idx] = v;
    }
  }
}
