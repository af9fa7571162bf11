// conv_transpose2d: y = act(conv_transpose(x, weight) + bias) with PyTorch
// nn.ConvTranspose2d semantics (NCHW, no groups). Being the adjoint of conv2d,
// the same kernel is conv2d's input gradient.
// requires: activation_fns.wgsl, conv_taps.wgsl, conv_params.wgsl
//
// Shapes (row-major f32):
//   x:      (N, C_in, H, W)
//   weight: (C_in, C_out, KH, KW)       nn.ConvTranspose2d's layout
//   bias:   (C_out)                     read when has_bias = 1
//   y:      (N, C_out, OH, OW)
// Each input pixel (iy, ix) spreads over the output rows
// oy = iy·stride_h − pad_h + ky·dil_h and columns ox = ix·stride_w − pad_w +
// kx·dil_w; contributions falling outside the output are dropped:
//   y[n, co, oy, ox] = act(bias[co] + Σ_{ci, ky, kx : oy, ox reached from (iy, ix) in x}
//                          x[n, ci, iy, ix] · weight[ci, co, ky, kx])
//   or, with accumulate = 1 (bias and act off), y += that sum.
// OH and OW are parameters: nn.ConvTranspose2d has OH = (H − 1)·stride_h −
// 2·pad_h + dil_h·(KH − 1) + output_padding_h + 1 (the TypeScript side checks
// it), while conv2d's input gradient passes the conv2d input size.
// conv2d's input gradient (conv2d_backward_input) is this kernel with
// x := its dy (N, C_out_c, OH_c, OW_c), weight := its weight
// (C_out_c, C_in_c, KH, KW) and y := its dx.
//
// Gather form, no atomics: each invocation owns 4 output pixels and 4
// consecutive output channels (4 vec4 accumulators, 16 FMAs for every 4
// input and 4 weight reads) and collects their contributions: tap ky reaches
// output row oy from input row iy = (oy + pad_h − ky·dil_h) / stride_h when
// the division is exact. Output pixels are grouped by phase
// (ry, rx) = (oy mod stride_h, ox mod stride_w): pixels of one phase share the
// same set of valid taps, so a workgroup rarely diverges, and the 4 pixels of
// an invocation, ox = (qx0 + p)·stride_w + rx for p < 4, read 4 consecutive
// input columns.
// Thread index t = ((n·SH + ry)·SW + rx)·QH·QB + qy·QB + qx0 / 4, with SH, SW
// the strides, QH = ceil(OH / SH), QW = ceil(OW / SW), QB = ceil(QW / 4),
// oy = qy·SH + ry; rows past OH and columns past OW are idle.
// Dispatch: x, y cover ceil(N·SH·SW·QH·QB / 64) workgroups (2-D when large:
// index wg.x + wg.y·num_workgroups.x), z = ceil(C_out / 4).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 64u;
const PB: u32 = 4u; // output pixels per invocation
const CB: u32 = 4u; // output channels per invocation

const LANES = vec4u(0u, 1u, 2u, 3u);

@compute @workgroup_size(64, 1, 1)
fn conv_transpose2d_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                            @builtin(local_invocation_index) li: u32) {
  let sh = params.stride_h;
  let sw = params.stride_w;
  let qh = (params.oh + sh - 1u) / sh;
  let qb = ((params.ow + sw - 1u) / sw + PB - 1u) / PB;
  let per_phase = qh * qb;
  let per_image = sh * sw * per_phase;
  let t = (wg.x + wg.y * nwg.x) * WG + li;
  if (t >= params.n * per_image) { return; }
  let n = t / per_image;
  var r = t - n * per_image;
  let phase = r / per_phase;
  r -= phase * per_phase;
  let ry = phase / sw;
  let rx = phase - ry * sw;
  let qy = r / qb;
  let qx0 = (r - qy * qb) * PB;
  let oy = qy * sh + ry;
  if (oy >= params.oh) { return; }

  let c0 = wg.z * CB;
  let ksize = params.kh * params.kw;
  let hw = params.h * params.w;
  // Weight columns of the 4 channels; channels past C_out reuse the last one and are not written.
  let last = params.c_out - 1u;
  let w0 = min(c0, last) * ksize;
  let w1 = min(c0 + 1u, last) * ksize;
  let w2 = min(c0 + 2u, last) * ksize;
  let w3 = min(c0 + 3u, last) * ksize;
  let wstep = params.c_out * ksize; // from one input channel to the next
  let xbase = n * params.c_in * hw;
  let q = vec4i(vec4u(qx0) + LANES);
  var acc: array<vec4f, 4>;
  // Only the taps of this phase run (SwiftShader would pay a masked pass for
  // a skipped one): ky0, ky0 + step_y, ... with ky0 the first that reaches ry.
  let pt = phase_walk(params, ry, rx);
  for (var ky = pt.ky0; ky < params.kh; ky += pt.step_y) {
    let ty = i32(ry + params.pad_h) - i32(ky * params.dil_h);
    let iy = i32(qy) + ty / i32(sh);
    if (iy < 0 || iy >= i32(params.h)) { continue; }
    let rowbase = xbase + u32(iy) * params.w;
    for (var kx = pt.kx0; kx < params.kw; kx += pt.step_x) {
      let tx = i32(rx + params.pad_w) - i32(kx * params.dil_w);
      let col = q + vec4i(tx / i32(sw));
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
        wi += wstep;
      }
    }
  }
  let plane = params.oh * params.ow;
  let base = n * params.c_out * plane + oy * params.ow;
  for (var p = 0u; p < PB; p++) {
    let ox = (qx0 + p) * sw + rx;
    if (ox >= params.ow) { break; }
    for (var j = 0u; j < CB; j++) {
      let co = c0 + j;
      if (co >= params.c_out) { break; }
      let idx = base + co * plane + ox;
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
