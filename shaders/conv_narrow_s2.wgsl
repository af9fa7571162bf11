// conv_narrow_s2: conv_narrow.wgsl's adjoint form for stride 2 × 2 without
// dilation (a decoder's last upsampling layer: conv_transpose2d 32 → 1 in
// the conv preset), with the four stride phases of a block in one invocation
// so that each load of x feeds all of them.
// requires: conv_narrow.wgsl
//
// conv_transpose2d_forward_narrow_s2
//   y as conv_narrow.wgsl's conv_transpose2d_forward_narrow, for stride_h =
//   stride_w = 2 and dil_h = dil_w = 1. Output pixel (oy, ox) = (2·qy + ry,
//   2·qx + rx) reads x at (qy + sy, qx + sx) through the tap (ky, kx) =
//   (ry + pad_h − 2·sy, rx + pad_w − 2·sx), where that tap exists. An
//   invocation owns output rows 2·qy and 2·qy + 1 at the 32 columns of
//   qx0 .. qx0 + 15 (64 pixels, four accumulators of 16, one per phase) and
//   runs over the shifts (sy, sx) that reach a tap of some phase: the 16
//   columns x[qy + sy, qx0 + sx + 0..15] are loaded once (one new load per
//   sx, sliding right) and feed every phase that has a tap at that shift.
//   The kernel size and padding are pipeline constants (KH, KW, PAD_H,
//   PAD_W), so the shifts and the phases' taps at each are known when the
//   pipeline is made and the loops over them are written out below, at most
//   3 shifts per axis (kernels up to 6 wide at the usual paddings; the
//   caller checks). Kernel 3, padding 1: 36 loads of x and 9 of weights per
//   input channel for 144 multiply-adds (the per-phase form loads 99 and 9).
//   Epilogue as conv_narrow.wgsl (ACT, ACCUMULATE), each phase stored with a
//   column step of 2.
//   Thread t = ((n·C_out + co)·QH + qy)·⌈QW / 16⌉ + qx0 / 16, QH = ⌈OH / 2⌉,
//   QW = ⌈OW / 2⌉; pixels past OH, OW are not stored.
//   Dispatch: grid1d(N·C_out·QH·⌈QW / 16⌉, 64).

// The kernel's size and padding as pipeline constants (set from the uniforms
// by src/kernels/conv2d.ts): the shifts are then constants, and so is which
// phase has a tap at each, so the code below has no branch left at run time.
override KH: i32 = 3;
override KW: i32 = 3;
override PAD_H: i32 = 1;
override PAD_W: i32 = 1;
// The shifts that reach a tap of some phase, s0 <= s <= s1 (at most 3 of
// each, which the caller checks): 0 <= r + pad − 2·s < K for r = 0 or 1.
override SY0: i32 = (PAD_H - KH + 2) >> 1u;
override SY1: i32 = (PAD_H + 1) >> 1u;
override SX0: i32 = (PAD_W - KW + 2) >> 1u;
override SX1: i32 = (PAD_W + 1) >> 1u;

struct Phases {
  a00: array<vec4f, 4>,
  a01: array<vec4f, 4>,
  a10: array<vec4f, 4>,
  a11: array<vec4f, 4>,
}

// a += wv · u, 16 pixels.
fn mac16(a: ptr<function, array<vec4f, 4>>, wv: f32, u: ptr<function, array<vec4f, 4>>) {
  (*a)[0] += wv * (*u)[0];
  (*a)[1] += wv * (*u)[1];
  (*a)[2] += wv * (*u)[2];
  (*a)[3] += wv * (*u)[3];
}

// Whether (ky, kx) is a tap.
fn is_tap(ky: i32, kx: i32) -> bool {
  return ky >= 0 && ky < KH && kx >= 0 && kx < KW;
}

// The phases' taps at shift (sy, sx), u the 16 columns of x there; the
// weights of this input and output channel start at wb.
fn shift_taps(acc: ptr<function, Phases>, u: ptr<function, array<vec4f, 4>>, wb: u32, sy: i32, sx: i32) {
  let ky = PAD_H - 2 * sy; // phase ry = 0; ry = 1 is ky + 1
  let kx = PAD_W - 2 * sx;
  if (is_tap(ky, kx)) { mac16(&(*acc).a00, weight[wb + u32(ky * KW + kx)], u); }
  if (is_tap(ky, kx + 1)) { mac16(&(*acc).a01, weight[wb + u32(ky * KW + kx + 1)], u); }
  if (is_tap(ky + 1, kx)) { mac16(&(*acc).a10, weight[wb + u32((ky + 1) * KW + kx)], u); }
  if (is_tap(ky + 1, kx + 1)) { mac16(&(*acc).a11, weight[wb + u32((ky + 1) * KW + kx + 1)], u); }
}

// u moves one input column to the right: its new last column is `c`.
fn slide(u: ptr<function, array<vec4f, 4>>, rb: u32, c: i32) {
  (*u)[0] = vec4f((*u)[0].yzw, (*u)[1].x);
  (*u)[1] = vec4f((*u)[1].yzw, (*u)[2].x);
  (*u)[2] = vec4f((*u)[2].yzw, (*u)[3].x);
  (*u)[3] = vec4f((*u)[3].yzw, x_col(rb, c));
}

// Every tap of input row qy + sy (rows outside x contribute nothing), xb the
// offset of this input channel's plane, q0 the block's first 4 phase columns.
fn row_taps(acc: ptr<function, Phases>, xb: u32, wb: u32, qy: u32, q0: vec4i, sy: i32) {
  let iy = i32(qy) + sy;
  if (iy < 0 || iy >= i32(params.h)) { return; }
  let rb = xb + u32(iy) * params.w;
  let c = q0 + vec4i(SX0);
  var u = array<vec4f, 4>(x_cols4(rb, c), x_cols4(rb, c + vec4i(4)), x_cols4(rb, c + vec4i(8)), x_cols4(rb, c + vec4i(12)));
  shift_taps(acc, &u, wb, sy, SX0);
  if (SX0 + 1 <= SX1) {
    slide(&u, rb, c.x + 16);
    shift_taps(acc, &u, wb, sy, SX0 + 1);
  }
  if (SX0 + 2 <= SX1) {
    slide(&u, rb, c.x + 17);
    shift_taps(acc, &u, wb, sy, SX0 + 2);
  }
}

// Stores phase (ry, rx) of the block: pixels qx0 + p of row qy, p < 16.
fn store_phase(a: array<vec4f, 4>, nco: u32, qy: u32, qx0: u32, ry: u32, rx: u32, co: u32) {
  let oy = 2u * qy + ry;
  let cols = (params.ow + 1u - rx) / 2u; // columns of this phase: 2·qx + rx < OW
  if (oy >= params.oh || qx0 >= cols) { return; }
  store16(a, (nco * params.oh + oy) * params.ow + 2u * qx0 + rx, 2u, min(cols - qx0, PXF), co);
}

@compute @workgroup_size(64, 1, 1)
fn conv_transpose2d_forward_narrow_s2(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                      @builtin(local_invocation_index) li: u32) {
  let qh = (params.oh + 1u) / 2u;
  let segs = ((params.ow + 1u) / 2u + PXF - 1u) / PXF;
  let t = (wg.x + wg.y * nwg.x) * WG + li;
  if (t >= params.n * params.c_out * qh * segs) { return; }
  let row = t / segs; // (n·C_out + co)·QH + qy
  let qx0 = (t - row * segs) * PXF;
  let nco = row / qh;
  let qy = row - nco * qh;
  let n = nco / params.c_out;
  let co = nco - n * params.c_out;
  let hw = params.h * params.w;
  let ksize = params.kh * params.kw;
  let q0 = vec4i(i32(qx0)) + LANES_I;
  var acc: Phases;
  var xb = n * params.c_in * hw;
  var wb = co * ksize;
  let wstep = params.c_out * ksize; // from one input channel to the next
  for (var ci = 0u; ci < params.c_in; ci++) {
    row_taps(&acc, xb, wb, qy, q0, SY0);
    if (SY0 + 1 <= SY1) { row_taps(&acc, xb, wb, qy, q0, SY0 + 1); }
    if (SY0 + 2 <= SY1) { row_taps(&acc, xb, wb, qy, q0, SY0 + 2); }
    xb += hw;
    wb += wstep;
  }
  store_phase(acc.a00, nco, qy, qx0, 0u, 0u, co);
  store_phase(acc.a01, nco, qy, qx0, 0u, 1u, co);
  store_phase(acc.a10, nco, qy, qx0, 1u, 0u, co);
  store_phase(acc.a11, nco, qy, qx0, 1u, 1u, co);
}
