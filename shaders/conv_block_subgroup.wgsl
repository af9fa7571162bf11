// conv_block_subgroup: conv_block.wgsl's two forward forms with the loads of the weights shared through subgroup broadcasts.
// requires: matmul_subgroups_enable.wgsl, block_share.wgsl, conv_block.wgsl
//
// Same semantics, 16×32 blocks, loads of x, epilogue and uniforms as
// conv_block.wgsl's conv2d_forward_block and conv_transpose2d_forward_block;
// the weights are shared as matmul_subgroup.wgsl shares B. A workgroup of 4
// invocations owns 4 consecutive blocks of 16 output pixels (of one phase,
// for the adjoint) and one block of 32 output channels, so all four need the
// same weights at every step: the invocation with subgroup_invocation_id s
// (mod 4) loads the output-channel quads s and s + 4 and takes the other six
// from lanes 0..3 (block_share.wgsl), a quarter of the weight loads. Needs
// the 'subgroups' feature and subgroups of at least 4 invocations (WebGPU
// guarantees 4 to 128). No invocation leaves early (pixel blocks past the end
// are clamped and never stored; the loop bounds depend on the workgroup
// only), so the broadcasts stay in uniform control flow.
//
// Dispatch: grid1d(G · ⌈C_out / 32⌉ · 4, 4) with G = ⌈pixel blocks / 4⌉
// (the correlation) or SH·SW·⌈blocks per phase / 4⌉ (the adjoint); workgroup
// w = wg.x + wg.y·num_workgroups.x takes channel block w / G.

// Weight offsets of this lane's two quads of output channels, co0 + 4s + c
// and co0 + 16 + 4s + c (clamped to C_out − 1), at stride w_co.
fn shared_bases(co0: u32, w_co: u32, s: u32) -> array<vec4u, 2> {
  let last = vec4u(params.c_out - 1u);
  return array<vec4u, 2>(min(vec4u(co0 + 4u * s) + LANES, last) * w_co, min(vec4u(co0 + 16u + 4u * s) + LANES, last) * w_co);
}

// tap_mma with the weights shared: this lane loads the quads at wb.
fn tap_mma_shared(acc: ptr<function, MatmulBlock>, px: ptr<function, Pixels>, sy: i32, sx: i32,
                  wb: array<vec4u, 2>, w_ci: u32, tap: u32) {
  var off: array<vec4i, 4>;
  var ok: array<vec4<bool>, 4>;
  tap_offsets(px, sy, sx, &off, &ok);
  for (var c0 = 0u; c0 < params.c_in; c0 += 4u) {
    var ak = gather_ak(&off, &ok, c0);
    var bk: array<mat4x4<f32>, 8>;
    share_b(gather_w(wb[0], c0, w_ci, tap), gather_w(wb[1], c0, w_ci, tap), &bk);
    block_mma(acc, &ak, &bk);
  }
}

// flat_mma with the weights shared.
fn flat_mma_shared(acc: ptr<function, MatmulBlock>, px: ptr<function, Pixels>, wb: array<vec4u, 2>, k0: u32) {
  let f = flat_taps(k0);
  var ak: array<mat4x4<f32>, 4>;
  var bk: array<mat4x4<f32>, 8>;
  ak[0] = flat_ak(px, 0u, f);
  ak[1] = flat_ak(px, 1u, f);
  ak[2] = flat_ak(px, 2u, f);
  ak[3] = flat_ak(px, 3u, f);
  share_b(flat_bk(wb[0], f), flat_bk(wb[1], f), &bk);
  block_mma(acc, &ak, &bk);
}

@compute @workgroup_size(4, 1, 1)
fn conv2d_forward_block_shared(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                               @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let groups = ((params.n * params.oh * params.ow + 15u) / 16u + 3u) / 4u;
  let w = wg.x + wg.y * nwg.x;
  if (w >= groups * ((params.c_out + 31u) / 32u)) { return; }
  let cb = w / groups;
  let p0 = ((w - cb * groups) * 4u + li) * 16u;
  let co0 = cb * 32u;
  var px: Pixels;
  var ybase: array<u32, 16>;
  var live: array<bool, 16>;
  forward_pixels(p0, &px, &ybase, &live);
  let ksize = params.kh * params.kw;
  let wb = shared_bases(co0, params.c_in * ksize, lane % 4u);
  var acc: MatmulBlock;
  // As conv2d_forward_block: flattened steps when C_in < 4, else per tap.
  let flat = params.flat_k != 0u;
  let kflat = select(0u, params.c_in * ksize, flat);
  for (var k0 = 0u; k0 < kflat; k0 += 4u) {
    flat_mma_shared(&acc, &px, wb, k0);
  }
  let taps_h = select(params.kh, 0u, flat);
  for (var ky = 0u; ky < taps_h; ky++) {
    for (var kx = 0u; kx < params.kw; kx++) {
      tap_mma_shared(&acc, &px, i32(ky * params.dil_h), i32(kx * params.dil_w), wb, ksize, ky * params.kw + kx);
    }
  }
  store_block(&acc, &ybase, &live, co0);
}

@compute @workgroup_size(4, 1, 1)
fn conv_transpose2d_forward_block_shared(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                         @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let sh = params.stride_h;
  let sw = params.stride_w;
  let gpp = (blocks_per_phase() + 3u) / 4u; // groups of 4 blocks per phase
  let groups = sh * sw * gpp;
  let w = wg.x + wg.y * nwg.x;
  if (w >= groups * ((params.c_out + 31u) / 32u)) { return; }
  let cb = w / groups;
  let r0 = w - cb * groups;
  let phase = r0 / gpp;
  let p0 = ((r0 - phase * gpp) * 4u + li) * 16u;
  let ry = phase / sw;
  let rx = phase - ry * sw;
  let co0 = cb * 32u;
  var px: Pixels;
  var ybase: array<u32, 16>;
  var live: array<bool, 16>;
  transpose_pixels(p0, ry, rx, &px, &ybase, &live);
  let ksize = params.kh * params.kw;
  let wb = shared_bases(co0, ksize, lane % 4u);
  // As conv_transpose2d_forward_block: only the taps of this phase.
  let ky0 = first_tap(ry + params.pad_h, params.dil_h, sh, params.kh);
  let kx0 = first_tap(rx + params.pad_w, params.dil_w, sw, params.kw);
  let step_y = tap_step(params.dil_h, sh);
  let step_x = tap_step(params.dil_w, sw);
  var acc: MatmulBlock;
  for (var ky = ky0; ky < params.kh; ky += step_y) {
    let ty = i32(ry + params.pad_h) - i32(ky * params.dil_h);
    for (var kx = kx0; kx < params.kw; kx += step_x) {
      let tx = i32(rx + params.pad_w) - i32(kx * params.dil_w);
      tap_mma_shared(&acc, &px, ty / i32(sh), tx / i32(sw), wb, params.c_out * ksize, ky * params.kw + kx);
    }
  }
  store_block(&acc, &ybase, &live, co0);
}
