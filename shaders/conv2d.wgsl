// conv2d: y = act(conv(x, weight) + bias) with PyTorch nn.Conv2d semantics
// (NCHW, no groups), its weight and bias gradients, and (being the adjoint of
// conv_transpose2d) the input gradient of conv_transpose2d.
// requires: activation_fns.wgsl, conv_params.wgsl
//
// Shapes (row-major f32):
//   x:      (N, C_in, H, W)
//   weight: (C_out, C_in, KH, KW)       nn.Conv2d's layout
//   bias:   (C_out)                     read when has_bias = 1
//   y, dy:  (N, C_out, OH, OW)
// Window: input row iy = oy·stride_h − pad_h + ky·dil_h, column
// ix = ox·stride_w − pad_w + kx·dil_w; taps outside the input read zero.
// OH and OW are parameters: nn.Conv2d has OH = floor((H + 2·pad_h −
// dil_h·(KH − 1) − 1) / stride_h) + 1 (the TypeScript side checks it), while
// conv_transpose2d's input gradient passes its own sizes.
// All kernels gather: each invocation computes the outputs it owns, with no
// atomics, so results are deterministic.
//
// conv2d_forward
//   y[n, co, oy, ox] = act(bias[co] + Σ_{ci, ky, kx} x[n, ci, iy, ix] · weight[co, ci, ky, kx])
//   or, with accumulate = 1 (bias and act off), y += that sum.
//   Each invocation owns 4 consecutive output pixels of one row and 4
//   consecutive output channels: 4 vec4 accumulators, 16 FMAs for every 4
//   input and 4 weight reads. The weight reads are the same for the whole
//   workgroup. Rows outside the input are skipped per ky, columns masked
//   per kx, both outside the channel loop.
//   Thread index t = (n·OH + oy)·ceil(OW / 4) + ox / 4.
//   Dispatch: x, y cover ceil(N·OH·ceil(OW / 4) / 64) workgroups (2-D when
//   large: index wg.x + wg.y·num_workgroups.x), z = ceil(C_out / 4).
//   conv_transpose2d's input gradient (conv_transpose2d_backward_input) is
//   this kernel with x := its dy, weight := its weight (C_in_t, C_out_t, KH, KW)
//   and y := its dx.
//
// conv2d_backward_weight
//   dweight[co, ci, ky, kx] = Σ_{n, oy, ox} dy[n, co, oy, ox] · x[n, ci, iy, ix]
//   (+= with accumulate = 1; the caller then initializes dweight).
//   Each invocation owns 4 consecutive output channels co and 4 consecutive
//   flattened (ci, ky, kx) indices and runs the whole N·OH·OW sum itself (no
//   workgroup barriers, which software rasterizers make costly): 16 FMAs for
//   every 4 dy and 4 x reads.
//   Thread index t = (co / 4)·ceil(C_in·KH·KW / 4) + k / 4.
//   Dispatch: ceil(ceil(C_out / 4)·ceil(C_in·KH·KW / 4) / 64) workgroups, 2-D when large.
//   conv_transpose2d's weight gradient (conv_transpose2d_backward_weight) is
//   this kernel with x := its dy and dy := its x (same weight layout, C_out
//   here = C_in there).
//
// conv2d_backward_bias
//   dbias[c] = Σ_{n, oy, ox} dy[n, c, oy, ox]   (+= with accumulate = 1).
//   A workgroup of 64 per channel splits the sum; a fixed-order tree in
//   workgroup memory adds the 64 partial sums.
//   Dispatch: C_out workgroups, 2-D when large. Serves conv_transpose2d too.
//
// conv2d's input gradient (conv2d_backward_input) is conv_transpose2d_forward
// (conv_transpose2d.wgsl).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

const WG: u32 = 64u;
const PB: u32 = 4u; // output pixels per invocation (forward)
const CB: u32 = 4u; // output channels per invocation (forward, backward_weight)
const KB: u32 = 4u; // flattened (ci, ky, kx) weights per invocation (backward_weight)

const LANES = vec4u(0u, 1u, 2u, 3u);

// Writes acc[p][j] to y[n, c0 + j, oy, ox0 + p] for the pixels and channels
// that exist, with the epilogue; `base` is the index of (n, 0, oy, ox0) and
// `plane` = OH·OW.
fn store_block(acc: array<vec4f, 4>, base: u32, plane: u32, c0: u32, ox0: u32) {
  for (var p = 0u; p < PB; p++) {
    if (ox0 + p >= params.ow) { break; }
    for (var j = 0u; j < CB; j++) {
      let co = c0 + j;
      if (co >= params.c_out) { break; }
      let idx = base + co * plane + p;
      if (params.accumulate != 0u) {
        y[idx] = y[idx] + acc[p][j];
      } else {
        var v = acc[p][j];
        if (params.has_bias != 0u) { v += bias[co]; }
        y[idx] = act_forward(params.act, v, params.alpha);
      }
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let blocks = (params.ow + PB - 1u) / PB;
  let t = (wg.x + wg.y * nwg.x) * WG + li;
  if (t >= params.n * params.oh * blocks) { return; }
  let row = t / blocks; // n·OH + oy
  let ox0 = (t - row * blocks) * PB;
  let n = row / params.oh;
  let oy = row - n * params.oh;
  let c0 = wg.z * CB;
  let ksize = params.kh * params.kw;
  let hw = params.h * params.w;
  // Weight rows of the 4 channels; channels past C_out reuse the last row and are not written.
  let wrow = params.c_in * ksize;
  let last = params.c_out - 1u;
  let w0 = min(c0, last) * wrow;
  let w1 = min(c0 + 1u, last) * wrow;
  let w2 = min(c0 + 2u, last) * wrow;
  let w3 = min(c0 + 3u, last) * wrow;
  let iy0 = i32(oy * params.stride_h) - i32(params.pad_h);
  // Input columns of the 4 pixels at kx = 0.
  let col0 = vec4i((vec4u(ox0) + LANES) * params.stride_w) - vec4i(i32(params.pad_w));
  let xbase = n * params.c_in * hw;
  var acc: array<vec4f, 4>;
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = iy0 + i32(ky * params.dil_h);
    if (iy < 0 || iy >= i32(params.h)) { continue; }
    let rowbase = xbase + u32(iy) * params.w;
    for (var kx = 0u; kx < params.kw; kx++) {
      let col = col0 + vec4i(i32(kx * params.dil_w));
      let valid = (col >= vec4i(0)) & (col < vec4i(i32(params.w)));
      if (!any(valid)) { continue; }
      let cu = vec4u(select(vec4i(0), col, valid));
      var xi = rowbase;
      var wi = ky * params.kw + kx;
      for (var ci = 0u; ci < params.c_in; ci++) {
        let xv = select(vec4f(0.0), vec4f(x[xi + cu.x], x[xi + cu.y], x[xi + cu.z], x[xi + cu.w]), valid);
        let wv = vec4f(weight[w0 + wi], weight[w1 + wi], weight[w2 + wi], weight[w3 + wi]);
        acc[0] += vec4f(xv.x) * wv;
        acc[1] += vec4f(xv.y) * wv;
        acc[2] += vec4f(xv.z) * wv;
        acc[3] += vec4f(xv.w) * wv;
        xi += hw;
        wi += ksize;
      }
    }
  }
  let plane = params.oh * params.ow;
  store_block(acc, n * params.c_out * plane + oy * params.ow + ox0, plane, c0, ox0);
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_backward_weight(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                          @builtin(local_invocation_index) li: u32) {
  let ksize = params.kh * params.kw;
  let kcount = params.c_in * ksize; // flattened (ci, ky, kx)
  let kblocks = (kcount + KB - 1u) / KB;
  let cblocks = (params.c_out + CB - 1u) / CB;
  let t = (wg.x + wg.y * nwg.x) * WG + li;
  if (t >= cblocks * kblocks) { return; }
  let cb = t / kblocks;
  let co0 = cb * CB;
  let k0 = (t - cb * kblocks) * KB;
  let hw = params.h * params.w;
  let opix = params.oh * params.ow;
  // The 4 weights: input-channel plane offset and tap offsets (lanes past the end repeat the last weight).
  var xoff = vec4i(0);
  var dyo = vec4i(0);
  var dxo = vec4i(0);
  for (var j = 0u; j < KB; j++) {
    let k = min(k0 + j, kcount - 1u);
    let ci = k / ksize;
    let r = k - ci * ksize;
    let ky = r / params.kw;
    let kx = r - ky * params.kw;
    xoff[j] = i32(ci * hw);
    dyo[j] = i32(ky * params.dil_h) - i32(params.pad_h);
    dxo[j] = i32(kx * params.dil_w) - i32(params.pad_w);
  }
  // dy planes of the 4 channels (lanes past C_out repeat the last one).
  let last = params.c_out - 1u;
  let g0 = min(co0, last) * opix;
  let g1 = min(co0 + 1u, last) * opix;
  let g2 = min(co0 + 2u, last) * opix;
  let g3 = min(co0 + 3u, last) * opix;
  let hmax = vec4i(i32(params.h));
  let wmax = vec4i(i32(params.w));
  var acc: array<vec4f, 4>; // acc[j][i]: channel co0 + j, weight k0 + i
  for (var n = 0u; n < params.n; n++) {
    let gbase = n * params.c_out * opix;
    let xbase = i32(n * params.c_in * hw);
    for (var oy = 0u; oy < params.oh; oy++) {
      let iy = vec4i(i32(oy * params.stride_h)) + dyo;
      let rows_ok = (iy >= vec4i(0)) & (iy < hmax);
      let rowoff = vec4i(xbase) + xoff + iy * wmax;
      for (var ox = 0u; ox < params.ow; ox++) {
        let ix = vec4i(i32(ox * params.stride_w)) + dxo;
        let valid = rows_ok & (ix >= vec4i(0)) & (ix < wmax);
        let xi = vec4u(select(vec4i(0), rowoff + ix, valid));
        let xv = select(vec4f(0.0), vec4f(x[xi.x], x[xi.y], x[xi.z], x[xi.w]), valid);
        let gi = gbase + oy * params.ow + ox;
        acc[0] += vec4f(dy[gi + g0]) * xv;
        acc[1] += vec4f(dy[gi + g1]) * xv;
        acc[2] += vec4f(dy[gi + g2]) * xv;
        acc[3] += vec4f(dy[gi + g3]) * xv;
      }
    }
  }
  for (var j = 0u; j < CB; j++) {
    let co = co0 + j;
    if (co >= params.c_out) { break; }
    for (var i = 0u; i < KB; i++) {
      let k = k0 + i;
      if (k >= kcount) { break; }
      let idx = co * kcount + k;
      if (params.accumulate != 0u) {
        dweight[idx] = dweight[idx] + acc[j][i];
      } else {
        dweight[idx] = acc[j][i];
      }
    }
  }
}

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn conv2d_backward_bias(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let c = wg.x + wg.y * nwg.x;
  if (c >= params.c_out) { return; } // the whole workgroup leaves together
  let opix = params.oh * params.ow;
  var s = 0.0;
  for (var n = 0u; n < params.n; n++) {
    let base = (n * params.c_out + c) * opix;
    for (var i = li; i < opix; i += WG) {
      s += dy[base + i];
    }
  }
  partial[li] = s;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span >>= 1u) {
    if (li < span) { partial[li] = partial[li] + partial[li + span]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    if (params.accumulate != 0u) {
      dbias[c] = dbias[c] + partial[0];
    } else {
      dbias[c] = partial[0];
    }
  }
}
