// conv_block_flat: conv_transpose2d_forward_rows with its reduction steps
// over flattened (ci, ky, kx) instead of four input channels, for an adjoint
// that sums over fewer than 4 channels: conv2d's input gradient when the
// conv has 1 to 3 output channels (a decoder's last layer, 16 → 1), where
// four-channel steps would be three quarters padding (conv_block.wgsl's
// flat_k does the same for the correlation). Same semantics, layouts,
// uniforms, epilogue and dispatch as conv_transpose2d_forward_rows;
// src/kernels/conv2d.ts picks it for the `blocked` variant.
// requires: conv_block_rows.wgsl
//
// conv_transpose2d_forward_rows_flat (the adjoint; also conv2d_backward_input)
//   y[n, co, oy, ox] = act(bias[co] + Σ x[n, ci, iy, ix] · weight[ci, co, ky, kx])
//   over the (ci, ky, kx) with oy = iy·stride_h − pad_h + ky·dil_h (columns
//   alike), or y += the sum with accumulate = 1. x (N, C_in, H, W), weight
//   (C_in, C_out, KH, KW), y (N, C_out, OH, OW).
//   An invocation owns 16 output channels × 32 pixels of one stride phase
//   (ry, rx), as conv_transpose2d_forward_rows. The phase's taps are
//   ky0 + a·step_y (a < NY) and kx0 + b·step_x (b < NX) (conv_taps.wgsl);
//   each step takes four consecutive flattened indices
//   k = (ci·NY + a)·NX + b < C_in·NY·NX, each with its own input row and
//   column shift, channel plane and weight: Ak = weight of the 16 channels
//   at the 4 indices (64 loads, the same addresses across the workgroup),
//   Bk = x at the 32 pixels for the 4 indices (128 gathers), 2048
//   multiply-adds, padding only in the last step.
//   Dispatch: as conv_transpose2d_forward_rows.

// The four flattened indices k0..k0+3 of a phase step (FlatTaps of
// conv_block.wgsl): row and column shifts of the input pixel, channel-plane
// offsets in x, whether they exist, and their weight offsets
// ci·C_out·KH·KW + ky·KW + kx (add the output channel's co·KH·KW).
fn phase_taps(k0: u32, ky0: u32, kx0: u32, step_y: u32, step_x: u32, nx: u32, per: u32, ry: u32, rx: u32) -> FlatTaps {
  let kcount = params.c_in * per;
  let k = min(vec4u(k0) + LANES, vec4u(kcount - 1u));
  let ci = k / per;
  let t = k - ci * per;
  let a = t / nx;
  let b = t - a * nx;
  let ky = vec4u(ky0) + a * step_y;
  let kx = vec4u(kx0) + b * step_x;
  // Exact divisions: ky, kx are taps of this phase.
  let sy = (vec4i(i32(ry + params.pad_h)) - vec4i(ky * params.dil_h)) / vec4i(i32(params.stride_h));
  let sx = (vec4i(i32(rx + params.pad_w)) - vec4i(kx * params.dil_w)) / vec4i(i32(params.stride_w));
  return FlatTaps(sy, sx, vec4i(ci * (params.h * params.w)), vec4u(k0) + LANES < vec4u(kcount),
                  ci * (params.c_out * params.kh * params.kw) + ky * params.kw + kx);
}

// Bk of pixel group i of lo (i < 4) or hi: column q = x at the 4 pixels for index k_q.
fn flat_cols(px: ptr<function, Pixels>, i: u32, f: FlatTaps) -> mat4x4<f32> {
  let iy = (*px).iy[i];
  let ix = (*px).ix[i];
  let xb = (*px).xb[i];
  return mat4x4<f32>(
    x_shifted(iy, ix, xb, f.sy.x, f.sx.x, f.plane.x, f.live.x),
    x_shifted(iy, ix, xb, f.sy.y, f.sx.y, f.plane.y, f.live.y),
    x_shifted(iy, ix, xb, f.sy.z, f.sx.z, f.plane.z, f.live.z),
    x_shifted(iy, ix, xb, f.sy.w, f.sx.w, f.plane.w, f.live.w));
}

// Ak of 4 output channels with weight bases wc: column r = channel r's weights at the 4 indices.
fn flat_rows(wc: vec4u, f: FlatTaps) -> mat4x4<f32> {
  return transpose(flat_bk(wc, f));
}

@compute @workgroup_size(16, 1, 1)
fn conv_transpose2d_forward_rows_flat(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                      @builtin(local_invocation_index) li: u32) {
  let b = phase_block((wg.x + wg.y * nwg.x) * WGF + li);
  if (!b.live) { return; }
  let co0 = b.co0;
  let ry = b.ry;
  let rx = b.rx;
  let sh = params.stride_h;
  let sw = params.stride_w;
  var lo: Pixels;
  var hi: Pixels;
  var ybase: array<u32, 32>;
  var live: array<bool, 32>;
  phase_pixels(b, &lo, &hi, &ybase, &live);
  let ksize = params.kh * params.kw;
  var wr: array<vec4u, 4>;
  row_bases(co0, ksize, &wr);
  let pt = phase_walk(params, ry, rx);
  let nx = tap_count(pt.kx0, pt.step_x, params.kw);
  let per = tap_count(pt.ky0, pt.step_y, params.kh) * nx;
  var acc: MatmulBlock;
  for (var k0 = 0u; k0 < params.c_in * per; k0 += 4u) {
    let f = phase_taps(k0, pt.ky0, pt.kx0, pt.step_y, pt.step_x, nx, per, ry, rx);
    var ak: array<mat4x4<f32>, 4>;
    var bk: array<mat4x4<f32>, 8>;
    ak[0] = flat_rows(wr[0], f);
    ak[1] = flat_rows(wr[1], f);
    ak[2] = flat_rows(wr[2], f);
    ak[3] = flat_rows(wr[3], f);
    bk[0] = flat_cols(&lo, 0u, f);
    bk[1] = flat_cols(&lo, 1u, f);
    bk[2] = flat_cols(&lo, 2u, f);
    bk[3] = flat_cols(&lo, 3u, f);
    bk[4] = flat_cols(&hi, 0u, f);
    bk[5] = flat_cols(&hi, 1u, f);
    bk[6] = flat_cols(&hi, 2u, f);
    bk[7] = flat_cols(&hi, 3u, f);
    block_mma(&acc, &ak, &bk);
  }
  store_rows(&acc, &ybase, &live, co0);
}
