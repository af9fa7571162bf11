// conv_block_subgroup: conv_block.wgsl's 16×32-block products with loads shared through subgroup broadcasts.
// requires: matmul_subgroups_enable.wgsl, block_share.wgsl, conv_block_weight.wgsl
//
// The two forward forms: same semantics, 16×32 blocks, loads of x, epilogue
// and uniforms as conv_block.wgsl's conv2d_forward_block and
// conv_transpose2d_forward_block;
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
//
// The weight gradient (conv2d_backward_weight_block_shared, at the end)
// shares the loads of dy the same way, with 16 flattened weights in place
// of the 16 pixels; src/kernels/conv2d.ts uses it where there are blocks of
// weights enough to fill its workgroups (sharesWeightGradient).

// Weight offsets of this lane's two quads of output channels, co0 + 4s + c
// and co0 + 16 + 4s + c (clamped to C_out − 1), at stride w_co.
fn shared_bases(co0: u32, w_co: u32, s: u32) -> array<vec4u, 2> {
  let last = vec4u(params.c_out - 1u);
  return array<vec4u, 2>(min(vec4u(co0 + 4u * s) + LANES, last) * w_co, min(vec4u(co0 + 16u + 4u * s) + LANES, last) * w_co);
}

// tap_mma with the weights shared: this lane loads the quads at wb.
fn tap_mma_shared(acc: ptr<function, MatmulBlock>, px: ptr<function, Pixels>, st: TapStep,
                  wb: array<vec4u, 2>, w_ci: u32) {
  var off: array<vec4i, 4>;
  var ok: array<vec4<bool>, 4>;
  tap_offsets(px, st.sy, st.sx, &off, &ok);
  var ak = gather_ak(&off, &ok, st.c0);
  var bk: array<mat4x4<f32>, 8>;
  share_b(gather_w(wb[0], st.c0, w_ci, st.tap), gather_w(wb[1], st.c0, w_ci, st.tap), &bk);
  block_mma(acc, &ak, &bk);
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
  // As conv2d_forward_block: flattened steps when C_in < 4, else (tap, channel quad) steps.
  let flat = params.flat_k != 0u;
  let kflat = select(0u, params.c_in * ksize, flat);
  for (var k0 = 0u; k0 < kflat; k0 += 4u) {
    flat_mma_shared(&acc, &px, wb, k0);
  }
  let csteps = (params.c_in + 3u) / 4u;
  let steps = select(ksize * csteps, 0u, flat);
  for (var s = 0u; s < steps; s++) {
    tap_mma_shared(&acc, &px, correlation_step(s, csteps), wb, ksize);
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
  let pt = phase_walk(params, ry, rx);
  let nx = tap_count(pt.kx0, pt.step_x, params.kw);
  let csteps = (params.c_in + 3u) / 4u;
  var acc: MatmulBlock;
  for (var s = 0u; s < tap_count(pt.ky0, pt.step_y, params.kh) * nx * csteps; s++) {
    tap_mma_shared(&acc, &px, adjoint_step(s, csteps, pt, nx, ry, rx), wb, params.c_out * ksize);
  }
  store_block(&acc, &ybase, &live, co0);
}

// Tile m of a weight-gradient block (column r: weight index k + r, components:
// output channels co .. co + 3) into dweight (C_out, C_in·KH·KW), added to the
// old value with accumulate; indices past the ends are not stored.
fn store_weight_tile(m: mat4x4<f32>, k: u32, co: u32, kcount: u32) {
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      if (k + r < kcount && co + c < params.c_out) { put_dweight(co + c, k + r, kcount, m[r][c]); }
    }
  }
}

// conv2d_backward_weight_block_shared: conv_block_weight.wgsl's
// conv2d_backward_weight_block with the loads of dy shared. A workgroup of 4
// owns 4 consecutive blocks of 16 flattened (ci, ky, kx) indices (invocation
// li the block 4·group + li; blocks past the end are clamped and never stored)
// and one block of 32 output channels, and every invocation runs over all
// N·OH·OW output pixels in the same order: the dy of a step is the same for
// all four, and the lane with subgroup_invocation_id s (mod 4) loads the
// channel quads s and s + 4 of it (block_share.wgsl). Each invocation stores
// its own block: no split of the pixels, no workgroup memory, no barrier.
// Dispatch: grid1d(⌈blocks / 4⌉ · 4 · ⌈C_out / 32⌉, 4), as the forward forms.
@compute @workgroup_size(4, 1, 1)
fn conv2d_backward_weight_block_shared(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                       @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let kcount = params.c_in * params.kh * params.kw;
  let groups = ((kcount + 15u) / 16u + 3u) / 4u;
  let w = wg.x + wg.y * nwg.x;
  if (w >= groups * ((params.c_out + 31u) / 32u)) { return; }
  let cb = w / groups;
  let k0 = ((w - cb * groups) * 4u + li) * 16u;
  let co0 = cb * 32u;
  var taps = weight_taps(k0);
  let db = shared_bases(co0, params.oh * params.ow, lane % 4u);
  let quads = (params.n * params.oh * params.ow + 3u) / 4u;
  var acc: MatmulBlock;
  for (var q = 0u; q < quads; q++) {
    let p = pixel_quad(q);
    var ak = gather_ak_taps(&taps, p);
    var bk: array<mat4x4<f32>, 8>;
    share_b(gather_dy(p.db, db[0]), gather_dy(p.db, db[1]), &bk);
    block_mma(&acc, &ak, &bk);
  }
  store_weight_tile(acc.m[0], k0, co0, kcount);
  store_weight_tile(acc.m[1], k0, co0 + 4u, kcount);
  store_weight_tile(acc.m[2], k0, co0 + 8u, kcount);
  store_weight_tile(acc.m[3], k0, co0 + 12u, kcount);
  store_weight_tile(acc.m[4], k0, co0 + 16u, kcount);
  store_weight_tile(acc.m[5], k0, co0 + 20u, kcount);
  store_weight_tile(acc.m[6], k0, co0 + 24u, kcount);
  store_weight_tile(acc.m[7], k0, co0 + 28u, kcount);
  store_weight_tile(acc.m[8], k0 + 4u, co0, kcount);
  store_weight_tile(acc.m[9], k0 + 4u, co0 + 4u, kcount);
  store_weight_tile(acc.m[10], k0 + 4u, co0 + 8u, kcount);
  store_weight_tile(acc.m[11], k0 + 4u, co0 + 12u, kcount);
  store_weight_tile(acc.m[12], k0 + 4u, co0 + 16u, kcount);
  store_weight_tile(acc.m[13], k0 + 4u, co0 + 20u, kcount);
  store_weight_tile(acc.m[14], k0 + 4u, co0 + 24u, kcount);
  store_weight_tile(acc.m[15], k0 + 4u, co0 + 28u, kcount);
  store_weight_tile(acc.m[16], k0 + 8u, co0, kcount);
  store_weight_tile(acc.m[17], k0 + 8u, co0 + 4u, kcount);
  store_weight_tile(acc.m[18], k0 + 8u, co0 + 8u, kcount);
  store_weight_tile(acc.m[19], k0 + 8u, co0 + 12u, kcount);
  store_weight_tile(acc.m[20], k0 + 8u, co0 + 16u, kcount);
  store_weight_tile(acc.m[21], k0 + 8u, co0 + 20u, kcount);
  store_weight_tile(acc.m[22], k0 + 8u, co0 + 24u, kcount);
  store_weight_tile(acc.m[23], k0 + 8u, co0 + 28u, kcount);
  store_weight_tile(acc.m[24], k0 + 12u, co0, kcount);
  store_weight_tile(acc.m[25], k0 + 12u, co0 + 4u, kcount);
  store_weight_tile(acc.m[26], k0 + 12u, co0 + 8u, kcount);
  store_weight_tile(acc.m[27], k0 + 12u, co0 + 12u, kcount);
  store_weight_tile(acc.m[28], k0 + 12u, co0 + 16u, kcount);
  store_weight_tile(acc.m[29], k0 + 12u, co0 + 20u, kcount);
  store_weight_tile(acc.m[30], k0 + 12u, co0 + 24u, kcount);
  store_weight_tile(acc.m[31], k0 + 12u, co0 + 28u, kcount);
}
