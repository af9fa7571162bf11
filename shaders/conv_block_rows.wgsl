// conv_block_rows: the three products of conv_block.wgsl and conv_block_weight.wgsl with the block turned
// around, for layers of at most 16 output channels (a residual block's 16,
// a decoder's last layers), where the 32-channel blocks of conv_block.wgsl
// would compute half or more of their products for channels that do not
// exist. Same semantics, layouts, uniforms and epilogue; src/kernels/conv2d.ts
// picks this form for the `blocked` variant when C_out ≤ 16.
// requires: conv_block_weight.wgsl
//
// conv2d_forward_rows (the correlation; also conv_transpose2d_backward_input)
//   y[n, co, oy, ox] = act(bias[co] + Σ_{ci, ky, kx} x[n, ci, iy, ix] · weight[co, ci, ky, kx])
//   (or y += the sum with accumulate = 1), as conv2d_forward_block; for
//   C_in ≥ 4 (the four-channel steps; flat_k is not read).
//   An invocation owns 16 output channels (the rows of block_mma's 16×32
//   block: Ak = weight for 16 channels × 4 input channels) times 32 output
//   pixels, consecutive in the flattened (n, oy, ox) order (its columns:
//   Bk = x at 32 pixels for 4 input channels). Per step (a tap and four
//   input channels, one loop as in conv_block.wgsl's TapStep): 64 weight
//   loads (the same addresses across the workgroup), 128 gathers of x,
//   2048 multiply-adds, as in the 32-channel form.
//   Accumulator m[i·8 + j] holds, as column r, channel co0 + 4i + r at
//   pixels 4j .. 4j + 3.
//
// conv_transpose2d_forward_rows (the adjoint; also conv2d_backward_input)
//   conv_transpose2d_forward_block's sum, its blocks turned the same way: 16
//   output channels × 32 pixels of one stride phase (rows past OH idle).
//
// Dispatch: grid1d(pixel blocks · ⌈C_out / 16⌉, 16), invocation g =
// (wg.x + wg.y·num_workgroups.x)·16 + local index takes channel block
// g / pixel blocks and pixel block g mod pixel blocks (the adjoint's pixel
// blocks: ⌈N·⌈OH/sh⌉·⌈OW/sw⌉ / 32⌉ per phase, phase after phase).

// x at 4 pixels (offsets o, masks ok) for channels c0..c0+3: column q = channel c0 + q, zero past C_in.
fn x_cols(o: vec4i, ok: vec4<bool>, c0: u32) -> mat4x4<f32> {
  let hw = i32(params.h * params.w);
  let cin = params.c_in;
  let last = i32(cin - 1u);
  return mat4x4<f32>(
    x_at(o + vec4i(i32(c0) * hw), ok),
    x_at(o + vec4i(min(i32(c0) + 1, last) * hw), ok & vec4<bool>(c0 + 1u < cin)),
    x_at(o + vec4i(min(i32(c0) + 2, last) * hw), ok & vec4<bool>(c0 + 2u < cin)),
    x_at(o + vec4i(min(i32(c0) + 3, last) * hw), ok & vec4<bool>(c0 + 3u < cin)));
}

// Ak of 4 output channels whose weights start at `wc` + tap: column r =
// weight(channel r, input channels c0..c0+3), zero past C_in.
fn w_rows(wc: vec4u, c0: u32, w_ci: u32, tap: u32) -> mat4x4<f32> {
  let last = params.c_in - 1u;
  let live = vec4<bool>(true, c0 + 1u < params.c_in, c0 + 2u < params.c_in, c0 + 3u < params.c_in);
  let k = vec4u(c0 * w_ci, min(c0 + 1u, last) * w_ci, min(c0 + 2u, last) * w_ci, min(c0 + 3u, last) * w_ci) + vec4u(tap);
  let z = vec4f(0.0);
  return mat4x4<f32>(
    select(z, vec4f(weight[wc.x + k.x], weight[wc.x + k.y], weight[wc.x + k.z], weight[wc.x + k.w]), live),
    select(z, vec4f(weight[wc.y + k.x], weight[wc.y + k.y], weight[wc.y + k.z], weight[wc.y + k.w]), live),
    select(z, vec4f(weight[wc.z + k.x], weight[wc.z + k.y], weight[wc.z + k.z], weight[wc.z + k.w]), live),
    select(z, vec4f(weight[wc.w + k.x], weight[wc.w + k.y], weight[wc.w + k.z], weight[wc.w + k.w]), live));
}

// Offsets in x and masks of 4 pixels (row iy, column ix, image offset xb) shifted by (sy, sx).
struct Shifted {
  off: vec4i,
  ok: vec4<bool>,
}

fn shifted(iy: vec4i, ix: vec4i, xb: vec4i, sy: i32, sx: i32) -> Shifted {
  let y = iy + vec4i(sy);
  let x = ix + vec4i(sx);
  return Shifted(xb + y * i32(params.w) + x, (vec4u(y) < vec4u(params.h)) & (vec4u(x) < vec4u(params.w)));
}

// acc += one step (a tap, channels st.c0..st.c0+3; TapStep in conv_block.wgsl)
// for the 32 pixels of lo (0..15) and hi (16..31); the 16 channels' weights
// start at wr[i] + tap, the next input channel w_ci further.
fn tap_rows(acc: ptr<function, MatmulBlock>, lo: ptr<function, Pixels>, hi: ptr<function, Pixels>, st: TapStep,
            wr: ptr<function, array<vec4u, 4>>, w_ci: u32) {
  var s: array<Shifted, 8>;
  s[0] = shifted((*lo).iy[0], (*lo).ix[0], (*lo).xb[0], st.sy, st.sx);
  s[1] = shifted((*lo).iy[1], (*lo).ix[1], (*lo).xb[1], st.sy, st.sx);
  s[2] = shifted((*lo).iy[2], (*lo).ix[2], (*lo).xb[2], st.sy, st.sx);
  s[3] = shifted((*lo).iy[3], (*lo).ix[3], (*lo).xb[3], st.sy, st.sx);
  s[4] = shifted((*hi).iy[0], (*hi).ix[0], (*hi).xb[0], st.sy, st.sx);
  s[5] = shifted((*hi).iy[1], (*hi).ix[1], (*hi).xb[1], st.sy, st.sx);
  s[6] = shifted((*hi).iy[2], (*hi).ix[2], (*hi).xb[2], st.sy, st.sx);
  s[7] = shifted((*hi).iy[3], (*hi).ix[3], (*hi).xb[3], st.sy, st.sx);
  let c0 = st.c0;
  var ak: array<mat4x4<f32>, 4>;
  var bk: array<mat4x4<f32>, 8>;
  ak[0] = w_rows((*wr)[0], c0, w_ci, st.tap);
  ak[1] = w_rows((*wr)[1], c0, w_ci, st.tap);
  ak[2] = w_rows((*wr)[2], c0, w_ci, st.tap);
  ak[3] = w_rows((*wr)[3], c0, w_ci, st.tap);
  bk[0] = x_cols(s[0].off, s[0].ok, c0);
  bk[1] = x_cols(s[1].off, s[1].ok, c0);
  bk[2] = x_cols(s[2].off, s[2].ok, c0);
  bk[3] = x_cols(s[3].off, s[3].ok, c0);
  bk[4] = x_cols(s[4].off, s[4].ok, c0);
  bk[5] = x_cols(s[5].off, s[5].ok, c0);
  bk[6] = x_cols(s[6].off, s[6].ok, c0);
  bk[7] = x_cols(s[7].off, s[7].ok, c0);
  block_mma(acc, &ak, &bk);
}

// Pixel p (of 32): its input row, column and image offset in lo (p < 16) or hi.
fn set_pixel(lo: ptr<function, Pixels>, hi: ptr<function, Pixels>, p: u32, iy: i32, ix: i32, xb: i32) {
  let q = p % 16u;
  if (p < 16u) {
    (*lo).iy[q / 4u][q % 4u] = iy;
    (*lo).ix[q / 4u][q % 4u] = ix;
    (*lo).xb[q / 4u][q % 4u] = xb;
  } else {
    (*hi).iy[q / 4u][q % 4u] = iy;
    (*hi).ix[q / 4u][q % 4u] = ix;
    (*hi).xb[q / 4u][q % 4u] = xb;
  }
}

// Weight offsets of output channels co0 + 4i + c (clamped to C_out − 1) at stride w_co.
fn row_bases(co0: u32, w_co: u32, wr: ptr<function, array<vec4u, 4>>) {
  let last = vec4u(params.c_out - 1u);
  (*wr)[0] = min(vec4u(co0) + LANES, last) * w_co;
  (*wr)[1] = min(vec4u(co0 + 4u) + LANES, last) * w_co;
  (*wr)[2] = min(vec4u(co0 + 8u) + LANES, last) * w_co;
  (*wr)[3] = min(vec4u(co0 + 12u) + LANES, last) * w_co;
}

// Writes channel co's values v at pixels 4j .. 4j + 3 to y at
// ybase[p] + co·OH·OW where live and co < C_out, through conv_block.wgsl's
// epilogue (store4: ACCUMULATE, the channel's bias bc, ACT).
fn store_rows_channel(v: vec4f, co: u32, j: u32, ybase: ptr<function, array<u32, 32>>,
                      live: ptr<function, array<bool, 32>>, plane: u32, bc: f32) {
  let p = 4u * j;
  let ok = vec4<bool>((*live)[p], (*live)[p + 1u], (*live)[p + 2u], (*live)[p + 3u]) & vec4<bool>(co < params.c_out);
  store4(v, vec4f(bc), vec4u((*ybase)[p], (*ybase)[p + 1u], (*ybase)[p + 2u], (*ybase)[p + 3u]) + vec4u(co * plane), ok);
}

// Writes tile m of the block (column r: channel co0 + 4i + r, components:
// pixels 4j .. 4j + 3), a channel at a time; bi: the bias of its channels.
fn store_rows_tile(m: mat4x4<f32>, i: u32, j: u32, ybase: ptr<function, array<u32, 32>>,
                   live: ptr<function, array<bool, 32>>, co0: u32, bi: vec4f) {
  let plane = params.oh * params.ow;
  let co = co0 + 4u * i;
  if (ACT > 1u) {
    // As conv_block.wgsl's store_tile: activations other than ReLU in a loop (compile time).
    for (var r = 0u; r < 4u; r++) { store_rows_channel(m[r], co + r, j, ybase, live, plane, bi[r]); }
  } else {
    store_rows_channel(m[0], co, j, ybase, live, plane, bi.x);
    store_rows_channel(m[1], co + 1u, j, ybase, live, plane, bi.y);
    store_rows_channel(m[2], co + 2u, j, ybase, live, plane, bi.z);
    store_rows_channel(m[3], co + 3u, j, ybase, live, plane, bi.w);
  }
}

// Writes the block through the epilogue, tile by tile, every accumulator
// named by a constant.
fn store_rows(acc: ptr<function, MatmulBlock>, ybase: ptr<function, array<u32, 32>>,
              live: ptr<function, array<bool, 32>>, co0: u32) {
  // The bias of the block's 16 channels (zero without bias), four per vec4.
  var b: array<vec4f, 4>;
  let last = params.c_out - 1u;
  for (var i = 0u; i < 4u; i++) {
    let c = min(vec4u(co0 + 4u * i) + LANES, vec4u(last));
    b[i] = select(vec4f(0.0), vec4f(bias[c.x], bias[c.y], bias[c.z], bias[c.w]), params.has_bias != 0u);
  }
  store_rows_tile((*acc).m[0], 0u, 0u, ybase, live, co0, b[0]);
  store_rows_tile((*acc).m[1], 0u, 1u, ybase, live, co0, b[0]);
  store_rows_tile((*acc).m[2], 0u, 2u, ybase, live, co0, b[0]);
  store_rows_tile((*acc).m[3], 0u, 3u, ybase, live, co0, b[0]);
  store_rows_tile((*acc).m[4], 0u, 4u, ybase, live, co0, b[0]);
  store_rows_tile((*acc).m[5], 0u, 5u, ybase, live, co0, b[0]);
  store_rows_tile((*acc).m[6], 0u, 6u, ybase, live, co0, b[0]);
  store_rows_tile((*acc).m[7], 0u, 7u, ybase, live, co0, b[0]);
  store_rows_tile((*acc).m[8], 1u, 0u, ybase, live, co0, b[1]);
  store_rows_tile((*acc).m[9], 1u, 1u, ybase, live, co0, b[1]);
  store_rows_tile((*acc).m[10], 1u, 2u, ybase, live, co0, b[1]);
  store_rows_tile((*acc).m[11], 1u, 3u, ybase, live, co0, b[1]);
  store_rows_tile((*acc).m[12], 1u, 4u, ybase, live, co0, b[1]);
  store_rows_tile((*acc).m[13], 1u, 5u, ybase, live, co0, b[1]);
  store_rows_tile((*acc).m[14], 1u, 6u, ybase, live, co0, b[1]);
  store_rows_tile((*acc).m[15], 1u, 7u, ybase, live, co0, b[1]);
  store_rows_tile((*acc).m[16], 2u, 0u, ybase, live, co0, b[2]);
  store_rows_tile((*acc).m[17], 2u, 1u, ybase, live, co0, b[2]);
  store_rows_tile((*acc).m[18], 2u, 2u, ybase, live, co0, b[2]);
  store_rows_tile((*acc).m[19], 2u, 3u, ybase, live, co0, b[2]);
  store_rows_tile((*acc).m[20], 2u, 4u, ybase, live, co0, b[2]);
  store_rows_tile((*acc).m[21], 2u, 5u, ybase, live, co0, b[2]);
  store_rows_tile((*acc).m[22], 2u, 6u, ybase, live, co0, b[2]);
  store_rows_tile((*acc).m[23], 2u, 7u, ybase, live, co0, b[2]);
  store_rows_tile((*acc).m[24], 3u, 0u, ybase, live, co0, b[3]);
  store_rows_tile((*acc).m[25], 3u, 1u, ybase, live, co0, b[3]);
  store_rows_tile((*acc).m[26], 3u, 2u, ybase, live, co0, b[3]);
  store_rows_tile((*acc).m[27], 3u, 3u, ybase, live, co0, b[3]);
  store_rows_tile((*acc).m[28], 3u, 4u, ybase, live, co0, b[3]);
  store_rows_tile((*acc).m[29], 3u, 5u, ybase, live, co0, b[3]);
  store_rows_tile((*acc).m[30], 3u, 6u, ybase, live, co0, b[3]);
  store_rows_tile((*acc).m[31], 3u, 7u, ybase, live, co0, b[3]);
}

@compute @workgroup_size(16, 1, 1)
fn conv2d_forward_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  let total = params.n * params.oh * params.ow;
  let pblocks = (total + 31u) / 32u;
  let g = (wg.x + wg.y * nwg.x) * WGF + li;
  if (g >= pblocks * ((params.c_out + 15u) / 16u)) { return; }
  let cb = g / pblocks;
  let p0 = (g - cb * pblocks) * 32u;
  let co0 = cb * 16u;
  var lo: Pixels;
  var hi: Pixels;
  var ybase: array<u32, 32>;
  var live: array<bool, 32>;
  let plane = params.oh * params.ow;
  let chw = params.c_in * params.h * params.w;
  for (var p = 0u; p < 32u; p++) {
    let t = min(p0 + p, total - 1u);
    let n = t / plane;
    let r = t - n * plane;
    let oy = r / params.ow;
    let ox = r - oy * params.ow;
    set_pixel(&lo, &hi, p, i32(oy * params.stride_h) - i32(params.pad_h), i32(ox * params.stride_w) - i32(params.pad_w), i32(n * chw));
    ybase[p] = n * params.c_out * plane + r;
    live[p] = p0 + p < total;
  }
  let ksize = params.kh * params.kw;
  var wr: array<vec4u, 4>;
  row_bases(co0, params.c_in * ksize, &wr);
  var acc: MatmulBlock;
  let csteps = (params.c_in + 3u) / 4u;
  for (var s = 0u; s < ksize * csteps; s++) {
    tap_rows(&acc, &lo, &hi, correlation_step(s, csteps), &wr, ksize);
  }
  store_rows(&acc, &ybase, &live, co0);
}

// The block of conv_transpose2d_forward_rows invocation g (see Dispatch):
// its first output channel, its stride phase (ry, rx) and its first pixel
// of the phase; `live` false past the last block.
struct PhaseBlock {
  live: bool,
  co0: u32,
  ry: u32,
  rx: u32,
  p0: u32,
}

fn phase_block(g: u32) -> PhaseBlock {
  let sh = params.stride_h;
  let sw = params.stride_w;
  let per_phase = params.n * ((params.oh + sh - 1u) / sh) * ((params.ow + sw - 1u) / sw);
  let bpp = (per_phase + 31u) / 32u; // blocks per phase
  let pblocks = sh * sw * bpp;
  let cb = g / pblocks;
  let r0 = g - cb * pblocks;
  let phase = r0 / bpp;
  let ry = phase / sw;
  return PhaseBlock(g < pblocks * ((params.c_out + 15u) / 16u), cb * 16u, ry, phase - ry * sw, (r0 - phase * bpp) * 32u);
}

// The 32 pixels of block b: each one's input row, column and image offset
// (the phase's quotient grid: iy = qy, ix = qx, shifted per tap), its
// output offset in y for channel 0, and whether it exists.
fn phase_pixels(b: PhaseBlock, lo: ptr<function, Pixels>, hi: ptr<function, Pixels>,
                ybase: ptr<function, array<u32, 32>>, live: ptr<function, array<bool, 32>>) {
  let sh = params.stride_h;
  let sw = params.stride_w;
  let qh = (params.oh + sh - 1u) / sh;
  let qw = (params.ow + sw - 1u) / sw;
  let per_phase = params.n * qh * qw;
  let chw = params.c_in * params.h * params.w;
  let plane = params.oh * params.ow;
  for (var p = 0u; p < 32u; p++) {
    let t = min(b.p0 + p, per_phase - 1u);
    let n = t / (qh * qw);
    let r = t - n * qh * qw;
    let qy = r / qw;
    let qx = r - qy * qw;
    let oy = qy * sh + b.ry;
    let ox = qx * sw + b.rx;
    set_pixel(lo, hi, p, i32(qy), i32(qx), i32(n * chw));
    (*ybase)[p] = n * params.c_out * plane + oy * params.ow + ox;
    (*live)[p] = b.p0 + p < per_phase && oy < params.oh && ox < params.ow;
  }
}

@compute @workgroup_size(16, 1, 1)
fn conv_transpose2d_forward_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                 @builtin(local_invocation_index) li: u32) {
  let b = phase_block((wg.x + wg.y * nwg.x) * WGF + li);
  if (!b.live) { return; }
  let co0 = b.co0;
  let ry = b.ry;
  let rx = b.rx;
  var lo: Pixels;
  var hi: Pixels;
  var ybase: array<u32, 32>;
  var live: array<bool, 32>;
  phase_pixels(b, &lo, &hi, &ybase, &live);
  let ksize = params.kh * params.kw;
  var wr: array<vec4u, 4>;
  row_bases(co0, ksize, &wr);
  // The taps of this phase only, as in conv_transpose2d_forward_block.
  let pt = phase_walk(params, ry, rx);
  let nx = tap_count(pt.kx0, pt.step_x, params.kw);
  let csteps = (params.c_in + 3u) / 4u;
  var acc: MatmulBlock;
  for (var s = 0u; s < tap_count(pt.ky0, pt.step_y, params.kh) * nx * csteps; s++) {
    tap_rows(&acc, &lo, &hi, adjoint_step(s, csteps, pt, nx, ry, rx), &wr, params.c_out * ksize);
  }
  store_rows(&acc, &ybase, &live, co0);
}

// conv2d_backward_weight_rows (also conv_transpose2d_backward_weight)
//   conv2d_backward_weight_block's sum for at most 16 output channels: a
//   workgroup of 8 owns 16 output channels (Ak: dy of 4 pixels, as rows) ×
//   32 flattened (ci, ky, kx) indices (Bk: x at those pixels), its
//   invocations split the pixels and add their partial blocks in workgroup
//   memory. Dispatch: grid1d(⌈C_in·KH·KW / 32⌉ · ⌈C_out / 16⌉, 1) workgroups of 8.
@compute @workgroup_size(8, 1, 1)
fn conv2d_backward_weight_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                               @builtin(local_invocation_index) li: u32) {
  let ksize = params.kh * params.kw;
  let kcount = params.c_in * ksize;
  let kblocks = (kcount + 31u) / 32u;
  let b = wg.x + wg.y * nwg.x;
  // The whole workgroup leaves together (before the barrier) when past the last block.
  if (b >= kblocks * ((params.c_out + 15u) / 16u)) { return; }
  let cb = b / kblocks;
  let k0 = (b - cb * kblocks) * 32u;
  let co0 = cb * 16u;
  let plane = params.oh * params.ow;
  // The 32 flattened weight indices k0..k0+31 as two conv_block_weight.wgsl Taps of 16.
  var lo = weight_taps(k0);
  var hi = weight_taps(k0 + 16u);
  var cof: array<vec4u, 4>;
  let last = vec4u(params.c_out - 1u);
  cof[0] = min(vec4u(co0) + LANES, last) * plane;
  cof[1] = min(vec4u(co0 + 4u) + LANES, last) * plane;
  cof[2] = min(vec4u(co0 + 8u) + LANES, last) * plane;
  cof[3] = min(vec4u(co0 + 12u) + LANES, last) * plane;
  let quads = (params.n * plane + 3u) / 4u;
  var acc: MatmulBlock;
  for (var q = li; q < quads; q += SPLIT) {
    let p = pixel_quad(q);
    var ak: array<mat4x4<f32>, 4>;
    var bk: array<mat4x4<f32>, 8>;
    ak[0] = transpose(gather_dy(p.db, cof[0]));
    ak[1] = transpose(gather_dy(p.db, cof[1]));
    ak[2] = transpose(gather_dy(p.db, cof[2]));
    ak[3] = transpose(gather_dy(p.db, cof[3]));
    bk[0] = transpose(gather_taps(&lo, 0u, p.pb, p.py, p.pxc, p.alive));
    bk[1] = transpose(gather_taps(&lo, 1u, p.pb, p.py, p.pxc, p.alive));
    bk[2] = transpose(gather_taps(&lo, 2u, p.pb, p.py, p.pxc, p.alive));
    bk[3] = transpose(gather_taps(&lo, 3u, p.pb, p.py, p.pxc, p.alive));
    bk[4] = transpose(gather_taps(&hi, 0u, p.pb, p.py, p.pxc, p.alive));
    bk[5] = transpose(gather_taps(&hi, 1u, p.pb, p.py, p.pxc, p.alive));
    bk[6] = transpose(gather_taps(&hi, 2u, p.pb, p.py, p.pxc, p.alive));
    bk[7] = transpose(gather_taps(&hi, 3u, p.pb, p.py, p.pxc, p.alive));
    block_mma(&acc, &ak, &bk);
  }
  let sums = sum_partials(li, &acc);
  for (var i = 0u; i < 16u; i++) {
    // Entry e is column e % 4 of matrix m = e / 4 = i·8 + j: output channel
    // co0 + 4i + e % 4, weight indices k0 + 4j .. + 3.
    let e = li * 16u + i;
    let m = e / 4u;
    let co = co0 + 4u * (m / 8u) + e % 4u;
    if (co < params.c_out) {
      for (var c = 0u; c < 4u; c++) {
        let k = k0 + 4u * (m % 8u) + c;
        if (k < kcount) { put_dweight(co, k, kcount, sums[i][c]); }
      }
    }
  }
}
