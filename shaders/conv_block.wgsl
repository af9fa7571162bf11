// conv_block: register-blocked forms of the two forward conv products of
// conv2d.wgsl and conv_transpose2d.wgsl (same semantics, NCHW, PyTorch weight
// layouts, any stride, padding, dilation and size), for adapters that run a
// workgroup on a CPU thread (SwiftShader: 4 lanes per SIMD group, every load a
// per-lane gather, barriers as fiber switches). On GPUs the 512 accumulators
// per invocation are too many; src/kernels/conv2d.ts chooses per adapter.
// requires: epilogue.wgsl, block_mma.wgsl, conv_taps.wgsl, conv_params.wgsl
//
// Each product is an implicit GEMM on block_mma.wgsl's 16×32 blocks: the
// patches of x are gathered straight from x (no column buffer), four values
// of the reduction index per step, masked where a tap falls into the padding.
// The weight gradient on the same blocks is conv_block_weight.wgsl.
//
// conv2d_forward_block (the correlation; also conv_transpose2d_backward_input)
//   y[n, co, oy, ox] = act(bias[co] + Σ_{ci, ky, kx} x[n, ci, iy, ix] · weight[co, ci, ky, kx])
//   iy = oy·stride_h − pad_h + ky·dil_h (columns alike); or, with accumulate = 1,
//   y += that sum. x (N, C_in, H, W), weight (C_out, C_in, KH, KW), y (N, C_out, OH, OW).
//   An invocation owns 16 output pixels, consecutive in the flattened
//   (n, oy, ox) order, times 32 output channels. It steps over the taps
//   (ky, kx) and, within each, C_in four channels at a time (one loop, see
//   TapStep), working out the 16 input offsets and masks of the step's tap:
//   Ak = x at the 16 pixels for 4 channels (64 gathers),
//   Bk = weight for 4 channels × 32 output channels (128 gathers, the same
//   addresses across the workgroup), 2048 multiply-adds. With flat_k = 1
//   (chosen for C_in < 4, where channel steps would be mostly padding) the
//   steps run over four consecutive flattened (ci, ky, kx) instead, each with
//   its own offsets and masks.
//
// conv_transpose2d_forward_block (the adjoint; also conv2d_backward_input)
//   y[n, co, oy, ox] = act(bias[co] + Σ x[n, ci, iy, ix] · weight[ci, co, ky, kx])
//   over the (ci, ky, kx) with oy = iy·stride_h − pad_h + ky·dil_h (columns
//   alike). x (N, C_in, H, W), weight (C_in, C_out, KH, KW), y (N, C_out, OH, OW).
//   Output pixels are grouped by phase (ry, rx) = (oy mod stride_h, ox mod
//   stride_w): in one phase a tap ky either reaches every pixel, from input row
//   iy = qy + (ry + pad_h − ky·dil_h) / stride_h with qy = oy div stride_h, or
//   none. An invocation owns 16 pixels of one phase, consecutive in the
//   flattened (n, qy, qx) order of that phase (rows past OH idle), times 32
//   output channels, and runs the taps of its phase as above.
//
// Uniforms: those of conv2d.wgsl (for the adjoint form h, w are x's and oh,
// ow y's sizes, as in conv_transpose2d.wgsl) and flat_k (forward only); the
// forward forms' activation and accumulate are the overrides ACT and
// ACCUMULATE (pipeline constants: a branch on a uniform would cost both sides
// on SwiftShader). The epilogue adds the old y (with accumulate) and the
// bias, applies the activation and stores, once per output.
// Rows and channels past the ends are clamped on load and never stored.
// Dispatch: grid1d(pixel blocks · ceil(C_out / 32), 16),
// invocation g = (wg.x + wg.y·num_workgroups.x)·16 + local index takes channel
// block g / pixel blocks and pixel block g mod pixel blocks.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

const WGF: u32 = 16u; // invocations per workgroup, forward forms
const LANES = vec4u(0u, 1u, 2u, 3u);

// The 16 pixels of a forward block: for pixel 4i + r, component r of
// iy[i], ix[i] (input row and column reached by the tap with zero shift) and
// xb[i] (offset of x[n, 0, 0, 0]).
struct Pixels {
  iy: array<vec4i, 4>,
  ix: array<vec4i, 4>,
  xb: array<vec4i, 4>,
}

// x at four offsets, zero where `ok` is false.
fn x_at(o: vec4i, ok: vec4<bool>) -> vec4f {
  let u = vec4u(select(vec4i(0), o, ok));
  return select(vec4f(0.0), vec4f(x[u.x], x[u.y], x[u.z], x[u.w]), ok);
}

// Ak of 4 pixels and channels c0..c0+3: column r = x(pixel r, c0..c0+3).
fn gather_x(off: vec4i, ok: vec4<bool>, c0: u32) -> mat4x4<f32> {
  let hw = i32(params.h * params.w);
  let cin = params.c_in;
  let last = i32(cin - 1u);
  return transpose(mat4x4<f32>(
    x_at(off + vec4i(i32(c0) * hw), ok),
    x_at(off + vec4i(min(i32(c0) + 1, last) * hw), ok & vec4<bool>(c0 + 1u < cin)),
    x_at(off + vec4i(min(i32(c0) + 2, last) * hw), ok & vec4<bool>(c0 + 2u < cin)),
    x_at(off + vec4i(min(i32(c0) + 3, last) * hw), ok & vec4<bool>(c0 + 3u < cin))));
}

// Bk of channels c0..c0+3 and 4 output channels whose weights start at
// `wc` + tap: column q = weight(c0 + q, those 4), zero past C_in.
fn gather_w(wc: vec4u, c0: u32, w_ci: u32, tap: u32) -> mat4x4<f32> {
  let cin = params.c_in;
  let last = cin - 1u;
  let z = vec4f(0.0);
  let i0 = wc + vec4u(c0 * w_ci + tap);
  let i1 = wc + vec4u(min(c0 + 1u, last) * w_ci + tap);
  let i2 = wc + vec4u(min(c0 + 2u, last) * w_ci + tap);
  let i3 = wc + vec4u(min(c0 + 3u, last) * w_ci + tap);
  return mat4x4<f32>(
    vec4f(weight[i0.x], weight[i0.y], weight[i0.z], weight[i0.w]),
    select(z, vec4f(weight[i1.x], weight[i1.y], weight[i1.z], weight[i1.w]), c0 + 1u < cin),
    select(z, vec4f(weight[i2.x], weight[i2.y], weight[i2.z], weight[i2.w]), c0 + 2u < cin),
    select(z, vec4f(weight[i3.x], weight[i3.y], weight[i3.z], weight[i3.w]), c0 + 3u < cin));
}

// The x offsets and in-range masks of the block's 16 pixels for the tap
// that shifts them by (sy, sx): pixel 4i + r at component r of off[i], ok[i].
fn tap_offsets(px: ptr<function, Pixels>, sy: i32, sx: i32,
               off: ptr<function, array<vec4i, 4>>, ok: ptr<function, array<vec4<bool>, 4>>) {
  let hv = vec4u(params.h);
  let wv = vec4u(params.w);
  let wi = vec4i(i32(params.w));
  let y0 = (*px).iy[0] + vec4i(sy);
  let x0 = (*px).ix[0] + vec4i(sx);
  (*ok)[0] = (vec4u(y0) < hv) & (vec4u(x0) < wv);
  (*off)[0] = (*px).xb[0] + y0 * wi + x0;
  let y1 = (*px).iy[1] + vec4i(sy);
  let x1 = (*px).ix[1] + vec4i(sx);
  (*ok)[1] = (vec4u(y1) < hv) & (vec4u(x1) < wv);
  (*off)[1] = (*px).xb[1] + y1 * wi + x1;
  let y2 = (*px).iy[2] + vec4i(sy);
  let x2 = (*px).ix[2] + vec4i(sx);
  (*ok)[2] = (vec4u(y2) < hv) & (vec4u(x2) < wv);
  (*off)[2] = (*px).xb[2] + y2 * wi + x2;
  let y3 = (*px).iy[3] + vec4i(sy);
  let x3 = (*px).ix[3] + vec4i(sx);
  (*ok)[3] = (vec4u(y3) < hv) & (vec4u(x3) < wv);
  (*off)[3] = (*px).xb[3] + y3 * wi + x3;
}

// The four Ak of a tap step: x at the 16 pixels' offsets for channels c0..c0+3.
fn gather_ak(off: ptr<function, array<vec4i, 4>>, ok: ptr<function, array<vec4<bool>, 4>>, c0: u32) -> array<mat4x4<f32>, 4> {
  return array<mat4x4<f32>, 4>(gather_x((*off)[0], (*ok)[0], c0), gather_x((*off)[1], (*ok)[1], c0),
                               gather_x((*off)[2], (*ok)[2], c0), gather_x((*off)[3], (*ok)[3], c0));
}

// acc += one step of a tap: the pixels read x at row iy + sy, column ix + sx,
// channels c0..c0+3; the 32 output channels' weights start at wc[j] + tap,
// and the next input channel is w_ci further.
fn tap_mma(acc: ptr<function, MatmulBlock>, px: ptr<function, Pixels>, st: TapStep,
           wc: ptr<function, array<vec4u, 8>>, w_ci: u32) {
  var off: array<vec4i, 4>;
  var ok: array<vec4<bool>, 4>;
  tap_offsets(px, st.sy, st.sx, &off, &ok);
  var ak = gather_ak(&off, &ok, st.c0);
  var bk: array<mat4x4<f32>, 8>;
  bk[0] = gather_w((*wc)[0], st.c0, w_ci, st.tap);
  bk[1] = gather_w((*wc)[1], st.c0, w_ci, st.tap);
  bk[2] = gather_w((*wc)[2], st.c0, w_ci, st.tap);
  bk[3] = gather_w((*wc)[3], st.c0, w_ci, st.tap);
  bk[4] = gather_w((*wc)[4], st.c0, w_ci, st.tap);
  bk[5] = gather_w((*wc)[5], st.c0, w_ci, st.tap);
  bk[6] = gather_w((*wc)[6], st.c0, w_ci, st.tap);
  bk[7] = gather_w((*wc)[7], st.c0, w_ci, st.tap);
  block_mma(acc, &ak, &bk);
}

// The forward forms run their taps and input channels as one loop over
// steps s = tap · csteps + c0 / 4 (csteps = ⌈C_in / 4⌉), in the order of a
// loop over taps around a loop over channels, as the nested loops ran them:
// on SwiftShader every loop level a step passes through costs, and the one
// loop was measured 13–22% faster (conv2d 32→64, stride 2, batch 64, in
// Node: 21.1 → 17.6 ms). A step's shift of the block's pixels (sy, sx), its
// weight tap and first channel:
struct TapStep {
  sy: i32,
  sx: i32,
  tap: u32,
  c0: u32,
}

// Step s of the correlation.
fn correlation_step(s: u32, csteps: u32) -> TapStep {
  let t = s / csteps;
  let ky = t / params.kw;
  let kx = t - ky * params.kw;
  return TapStep(i32(ky * params.dil_h), i32(kx * params.dil_w), t, (s - t * csteps) * 4u);
}

// Step s of the adjoint in phase (ry, rx), whose taps pt walks, nx to a row.
fn adjoint_step(s: u32, csteps: u32, pt: PhaseWalk, nx: u32, ry: u32, rx: u32) -> TapStep {
  let t = s / csteps;
  let i = t / nx;
  let ky = pt.ky0 + i * pt.step_y;
  let kx = pt.kx0 + (t - i * nx) * pt.step_x;
  let ty = i32(ry + params.pad_h) - i32(ky * params.dil_h);
  let tx = i32(rx + params.pad_w) - i32(kx * params.dil_w);
  return TapStep(ty / i32(params.stride_h), tx / i32(params.stride_w), ky * params.kw + kx, (s - t * csteps) * 4u);
}

// The four flattened weight indices k0..k0+3 of a correlation step over
// (ci, ky, kx) (flat_k = 1): their row and column shifts, channel-plane
// offsets in x, whether they exist (k < C_in·KH·KW) and their index k.
struct FlatTaps {
  sy: vec4i,
  sx: vec4i,
  plane: vec4i,
  live: vec4<bool>,
  k: vec4u,
}

fn flat_taps(k0: u32) -> FlatTaps {
  let ksize = params.kh * params.kw;
  let kcount = params.c_in * ksize;
  let k = min(vec4u(k0) + LANES, vec4u(kcount - 1u));
  let ci = k / ksize;
  let tap = k - ci * ksize;
  let ky = tap / params.kw;
  let kx = tap - ky * params.kw;
  return FlatTaps(vec4i(ky * params.dil_h), vec4i(kx * params.dil_w), vec4i(ci * (params.h * params.w)),
                  vec4u(k0) + LANES < vec4u(kcount), k);
}

// x at the 4 pixels (rows iy, columns ix, image offsets xb) shifted by (sy, sx) in channel plane `plane`.
fn x_shifted(iy: vec4i, ix: vec4i, xb: vec4i, sy: i32, sx: i32, plane: i32, live: bool) -> vec4f {
  let yy = iy + vec4i(sy);
  let xx = ix + vec4i(sx);
  let ok = (vec4u(yy) < vec4u(params.h)) & (vec4u(xx) < vec4u(params.w)) & vec4<bool>(live);
  return x_at(xb + yy * i32(params.w) + xx + vec4i(plane), ok);
}

// Ak of pixel group i for the step's four flattened indices: column r = pixel r's four values.
fn flat_ak(px: ptr<function, Pixels>, i: u32, f: FlatTaps) -> mat4x4<f32> {
  let iy = (*px).iy[i];
  let ix = (*px).ix[i];
  let xb = (*px).xb[i];
  return transpose(mat4x4<f32>(
    x_shifted(iy, ix, xb, f.sy.x, f.sx.x, f.plane.x, f.live.x),
    x_shifted(iy, ix, xb, f.sy.y, f.sx.y, f.plane.y, f.live.y),
    x_shifted(iy, ix, xb, f.sy.z, f.sx.z, f.plane.z, f.live.z),
    x_shifted(iy, ix, xb, f.sy.w, f.sx.w, f.plane.w, f.live.w)));
}

// Bk of the four flattened indices and 4 output channels with weight rows at wc: column q = weight(co, k_q).
fn flat_bk(wc: vec4u, f: FlatTaps) -> mat4x4<f32> {
  let z = vec4f(0.0);
  let i0 = wc + vec4u(f.k.x);
  let i1 = wc + vec4u(f.k.y);
  let i2 = wc + vec4u(f.k.z);
  let i3 = wc + vec4u(f.k.w);
  return mat4x4<f32>(
    select(z, vec4f(weight[i0.x], weight[i0.y], weight[i0.z], weight[i0.w]), f.live.x),
    select(z, vec4f(weight[i1.x], weight[i1.y], weight[i1.z], weight[i1.w]), f.live.y),
    select(z, vec4f(weight[i2.x], weight[i2.y], weight[i2.z], weight[i2.w]), f.live.z),
    select(z, vec4f(weight[i3.x], weight[i3.y], weight[i3.z], weight[i3.w]), f.live.w));
}

// acc += one step of four flattened (ci, ky, kx) indices from k0.
fn flat_mma(acc: ptr<function, MatmulBlock>, px: ptr<function, Pixels>, wc: ptr<function, array<vec4u, 8>>, k0: u32) {
  let f = flat_taps(k0);
  var ak: array<mat4x4<f32>, 4>;
  var bk: array<mat4x4<f32>, 8>;
  ak[0] = flat_ak(px, 0u, f);
  ak[1] = flat_ak(px, 1u, f);
  ak[2] = flat_ak(px, 2u, f);
  ak[3] = flat_ak(px, 3u, f);
  bk[0] = flat_bk((*wc)[0], f);
  bk[1] = flat_bk((*wc)[1], f);
  bk[2] = flat_bk((*wc)[2], f);
  bk[3] = flat_bk((*wc)[3], f);
  bk[4] = flat_bk((*wc)[4], f);
  bk[5] = flat_bk((*wc)[5], f);
  bk[6] = flat_bk((*wc)[6], f);
  bk[7] = flat_bk((*wc)[7], f);
  block_mma(acc, &ak, &bk);
}

// Weight offsets of output channels co0 + 4j + c (clamped to C_out − 1) at stride w_co.
fn channel_bases(co0: u32, w_co: u32, wc: ptr<function, array<vec4u, 8>>) {
  let last = vec4u(params.c_out - 1u);
  for (var j = 0u; j < 8u; j++) {
    (*wc)[j] = min(vec4u(co0 + 4u * j) + LANES, last) * w_co;
  }
}

// The epilogue of four outputs: the sums v, plus the old y at idx with
// ACCUMULATE, plus the biases b, through the activation (epilogue.wgsl's
// ACT, ACCUMULATE), stored at idx where ok. No loop and no branch but the
// stores' own conditions: on SwiftShader a loop trip or a branch in the
// epilogue costs about as much as a store (conv2d 1 → 32, 28×28, batch 64,
// whose three steps leave the epilogue most of the work: 6.2 → 4.7 ms).
fn store4(v: vec4f, b: vec4f, idx: vec4u, ok: vec4<bool>) {
  var s = v;
  if (ACCUMULATE) { s += select(vec4f(0.0), vec4f(y[idx.x], y[idx.y], y[idx.z], y[idx.w]), ok); }
  let a = act_epilogue4(s + b, params.alpha);
  if (ok.x) { y[idx.x] = a.x; }
  if (ok.y) { y[idx.y] = a.y; }
  if (ok.z) { y[idx.z] = a.z; }
  if (ok.w) { y[idx.w] = a.w; }
}

// Output pixel p's values v (components: channels cb .. cb + 3, biases bj)
// to y at ybase[p] + co·OH·OW, if the pixel is live, for the channels below
// C_out.
fn store_pixel(v: vec4f, p: u32, ybase: ptr<function, array<u32, 16>>, live: ptr<function, array<bool, 16>>,
               cb: u32, plane: u32, bj: vec4f) {
  if ((*live)[p]) {
    store4(v, bj, vec4u((*ybase)[p] + cb * plane) + LANES * plane, vec4u(cb) + LANES < vec4u(params.c_out));
  }
}

// Writes tile m of the block (column r: pixel 4i + r, components: channels
// co0 + 4j .. co0 + 4j + 3), a pixel at a time.
fn store_tile(m: mat4x4<f32>, i: u32, j: u32, ybase: ptr<function, array<u32, 16>>,
              live: ptr<function, array<bool, 16>>, co0: u32, bj: vec4f) {
  let plane = params.oh * params.ow;
  let cb = co0 + 4u * j;
  if (ACT > 1u) {
    // Activations other than ReLU cost compile time per copy (see store4):
    // their tiles are stored in a loop, at a loop trip per pixel.
    for (var r = 0u; r < 4u; r++) { store_pixel(m[r], 4u * i + r, ybase, live, cb, plane, bj); }
  } else {
    store_pixel(m[0], 4u * i, ybase, live, cb, plane, bj);
    store_pixel(m[1], 4u * i + 1u, ybase, live, cb, plane, bj);
    store_pixel(m[2], 4u * i + 2u, ybase, live, cb, plane, bj);
    store_pixel(m[3], 4u * i + 3u, ybase, live, cb, plane, bj);
  }
}

// Writes the block through the epilogue, tile by tile; every accumulator is
// named by a constant, so they stay in registers.
fn store_block(acc: ptr<function, MatmulBlock>, ybase: ptr<function, array<u32, 16>>,
               live: ptr<function, array<bool, 16>>, co0: u32) {
  // The bias of the block's channels (zero without bias), four per vec4.
  var b: array<vec4f, 8>;
  let last = params.c_out - 1u;
  for (var j = 0u; j < 8u; j++) {
    let c = min(vec4u(co0 + 4u * j) + LANES, vec4u(last));
    b[j] = select(vec4f(0.0), vec4f(bias[c.x], bias[c.y], bias[c.z], bias[c.w]), params.has_bias != 0u);
  }
  store_tile((*acc).m[0], 0u, 0u, ybase, live, co0, b[0]);
  store_tile((*acc).m[1], 0u, 1u, ybase, live, co0, b[1]);
  store_tile((*acc).m[2], 0u, 2u, ybase, live, co0, b[2]);
  store_tile((*acc).m[3], 0u, 3u, ybase, live, co0, b[3]);
  store_tile((*acc).m[4], 0u, 4u, ybase, live, co0, b[4]);
  store_tile((*acc).m[5], 0u, 5u, ybase, live, co0, b[5]);
  store_tile((*acc).m[6], 0u, 6u, ybase, live, co0, b[6]);
  store_tile((*acc).m[7], 0u, 7u, ybase, live, co0, b[7]);
  store_tile((*acc).m[8], 1u, 0u, ybase, live, co0, b[0]);
  store_tile((*acc).m[9], 1u, 1u, ybase, live, co0, b[1]);
  store_tile((*acc).m[10], 1u, 2u, ybase, live, co0, b[2]);
  store_tile((*acc).m[11], 1u, 3u, ybase, live, co0, b[3]);
  store_tile((*acc).m[12], 1u, 4u, ybase, live, co0, b[4]);
  store_tile((*acc).m[13], 1u, 5u, ybase, live, co0, b[5]);
  store_tile((*acc).m[14], 1u, 6u, ybase, live, co0, b[6]);
  store_tile((*acc).m[15], 1u, 7u, ybase, live, co0, b[7]);
  store_tile((*acc).m[16], 2u, 0u, ybase, live, co0, b[0]);
  store_tile((*acc).m[17], 2u, 1u, ybase, live, co0, b[1]);
  store_tile((*acc).m[18], 2u, 2u, ybase, live, co0, b[2]);
  store_tile((*acc).m[19], 2u, 3u, ybase, live, co0, b[3]);
  store_tile((*acc).m[20], 2u, 4u, ybase, live, co0, b[4]);
  store_tile((*acc).m[21], 2u, 5u, ybase, live, co0, b[5]);
  store_tile((*acc).m[22], 2u, 6u, ybase, live, co0, b[6]);
  store_tile((*acc).m[23], 2u, 7u, ybase, live, co0, b[7]);
  store_tile((*acc).m[24], 3u, 0u, ybase, live, co0, b[0]);
  store_tile((*acc).m[25], 3u, 1u, ybase, live, co0, b[1]);
  store_tile((*acc).m[26], 3u, 2u, ybase, live, co0, b[2]);
  store_tile((*acc).m[27], 3u, 3u, ybase, live, co0, b[3]);
  store_tile((*acc).m[28], 3u, 4u, ybase, live, co0, b[4]);
  store_tile((*acc).m[29], 3u, 5u, ybase, live, co0, b[5]);
  store_tile((*acc).m[30], 3u, 6u, ybase, live, co0, b[6]);
  store_tile((*acc).m[31], 3u, 7u, ybase, live, co0, b[7]);
}

// The forward correlation's block of 16 output pixels from flattened (n, oy, ox)
// index p0: each pixel's input row, column and image offset for the tap with
// zero shift, its offset in y (at channel 0) and whether it exists.
fn forward_pixels(p0: u32, px: ptr<function, Pixels>, ybase: ptr<function, array<u32, 16>>, live: ptr<function, array<bool, 16>>) {
  let plane = params.oh * params.ow;
  let total = params.n * plane;
  let chw = params.c_in * params.h * params.w;
  for (var p = 0u; p < 16u; p++) {
    let t = min(p0 + p, total - 1u);
    let n = t / plane;
    let r = t - n * plane;
    let oy = r / params.ow;
    let ox = r - oy * params.ow;
    (*px).iy[p / 4u][p % 4u] = i32(oy * params.stride_h) - i32(params.pad_h);
    (*px).ix[p / 4u][p % 4u] = i32(ox * params.stride_w) - i32(params.pad_w);
    (*px).xb[p / 4u][p % 4u] = i32(n * chw);
    (*ybase)[p] = n * params.c_out * plane + r;
    (*live)[p] = p0 + p < total;
  }
}

// The adjoint's block: 16 output pixels of phase (ry, rx) from index p0 of
// the phase's flattened (n, qy, qx) order (QH × QW per image), as forward_pixels.
fn transpose_pixels(p0: u32, ry: u32, rx: u32, px: ptr<function, Pixels>, ybase: ptr<function, array<u32, 16>>,
                    live: ptr<function, array<bool, 16>>) {
  let qh = (params.oh + params.stride_h - 1u) / params.stride_h;
  let qw = (params.ow + params.stride_w - 1u) / params.stride_w;
  let per_phase = params.n * qh * qw;
  let chw = params.c_in * params.h * params.w;
  let plane = params.oh * params.ow;
  for (var p = 0u; p < 16u; p++) {
    let t = min(p0 + p, per_phase - 1u);
    let n = t / (qh * qw);
    let r = t - n * qh * qw;
    let qy = r / qw;
    let qx = r - qy * qw;
    let oy = qy * params.stride_h + ry;
    let ox = qx * params.stride_w + rx;
    (*px).iy[p / 4u][p % 4u] = i32(qy);
    (*px).ix[p / 4u][p % 4u] = i32(qx);
    (*px).xb[p / 4u][p % 4u] = i32(n * chw);
    (*ybase)[p] = n * params.c_out * plane + oy * params.ow + ox;
    (*live)[p] = p0 + p < per_phase && oy < params.oh && ox < params.ow;
  }
}

// The pixel blocks of each phase of the adjoint (16 pixels each).
fn blocks_per_phase() -> u32 {
  let qh = (params.oh + params.stride_h - 1u) / params.stride_h;
  let qw = (params.ow + params.stride_w - 1u) / params.stride_w;
  return (params.n * qh * qw + 15u) / 16u;
}

@compute @workgroup_size(16, 1, 1)
fn conv2d_forward_block(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let pblocks = (params.n * params.oh * params.ow + 15u) / 16u;
  let g = (wg.x + wg.y * nwg.x) * WGF + li;
  if (g >= pblocks * ((params.c_out + 31u) / 32u)) { return; }
  let cb = g / pblocks;
  let p0 = (g - cb * pblocks) * 16u;
  let co0 = cb * 32u;
  var px: Pixels;
  var ybase: array<u32, 16>;
  var live: array<bool, 16>;
  forward_pixels(p0, &px, &ybase, &live);
  let ksize = params.kh * params.kw;
  var wc: array<vec4u, 8>;
  channel_bases(co0, params.c_in * ksize, &wc);
  var acc: MatmulBlock;
  // One of the two loops runs (the other has no iterations): four
  // flattened (ci, ky, kx) per step when C_in < 4 (flat_k = 1), else a tap
  // and four channels per step.
  let flat = params.flat_k != 0u;
  let kflat = select(0u, params.c_in * ksize, flat);
  for (var k0 = 0u; k0 < kflat; k0 += 4u) {
    flat_mma(&acc, &px, &wc, k0);
  }
  let csteps = (params.c_in + 3u) / 4u;
  let steps = select(ksize * csteps, 0u, flat);
  for (var s = 0u; s < steps; s++) {
    tap_mma(&acc, &px, correlation_step(s, csteps), &wc, ksize);
  }
  store_block(&acc, &ybase, &live, co0);
}

@compute @workgroup_size(16, 1, 1)
fn conv_transpose2d_forward_block(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                  @builtin(local_invocation_index) li: u32) {
  let sh = params.stride_h;
  let sw = params.stride_w;
  let bpp = blocks_per_phase();
  let pblocks = sh * sw * bpp;
  let g = (wg.x + wg.y * nwg.x) * WGF + li;
  if (g >= pblocks * ((params.c_out + 31u) / 32u)) { return; }
  let cb = g / pblocks;
  let r0 = g - cb * pblocks;
  let phase = r0 / bpp;
  let p0 = (r0 - phase * bpp) * 16u;
  let ry = phase / sw;
  let rx = phase - ry * sw;
  let co0 = cb * 32u;
  var px: Pixels;
  var ybase: array<u32, 16>;
  var live: array<bool, 16>;
  transpose_pixels(p0, ry, rx, &px, &ybase, &live);
  let ksize = params.kh * params.kw;
  var wc: array<vec4u, 8>;
  channel_bases(co0, ksize, &wc);
  // Only the taps of this phase run (a skipped iteration would still cost a
  // masked pass): ky0, ky0 + step_y, ... with ky0 the first that reaches ry.
  let pt = phase_walk(params, ry, rx);
  let nx = tap_count(pt.kx0, pt.step_x, params.kw);
  let csteps = (params.c_in + 3u) / 4u;
  var acc: MatmulBlock;
  for (var s = 0u; s < tap_count(pt.ky0, pt.step_y, params.kh) * nx * csteps; s++) {
    tap_mma(&acc, &px, adjoint_step(s, csteps, pt, nx, ry, rx), &wc, params.c_out * ksize);
  }
  store_block(&acc, &ybase, &live, co0);
}
