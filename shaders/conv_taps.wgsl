// conv_taps: which kernel taps reach an output phase of a transposed
// convolution, shared by conv_transpose2d.wgsl, conv_narrow.wgsl and the
// conv_block*.wgsl kernels.
//
// Output row oy = qy·stride + r is reached by tap k from input row
// (r + pad − k·dil) / stride + qy when that division is exact. Those taps are
// first_tap(r + pad, dil, stride, K), then every tap_step(dil, stride)-th
// after it; looping over exactly them avoids iterations whose work would be
// masked off (SwiftShader runs a skipped iteration's body anyway).
// No bindings.
// requires: conv_params.wgsl

// The first tap k < count with (r − k·dil) divisible by stride, or count when none is.
fn first_tap(r: u32, dil: u32, stride: u32, count: u32) -> u32 {
  var k = 0u;
  loop {
    if (k >= count || (i32(r) - i32(k * dil)) % i32(stride) == 0) { break; }
    k++;
  }
  return k;
}

// The distance between taps that reach the same phase: the least d > 0 with d·dil divisible by stride.
fn tap_step(dil: u32, stride: u32) -> u32 {
  var d = 1u;
  loop {
    if ((d * dil) % stride == 0u) { break; }
    d++;
  }
  return d;
}

// The taps of output phase (ry, rx) of the transposed convolution with
// uniforms p (conv_params.wgsl): ky0, ky0 + step_y, ... below KH, and kx0,
// kx0 + step_x, ... below KW.
struct PhaseWalk {
  ky0: u32,
  kx0: u32,
  step_y: u32,
  step_x: u32,
}

fn phase_walk(p: Params, ry: u32, rx: u32) -> PhaseWalk {
  return PhaseWalk(first_tap(ry + p.pad_h, p.dil_h, p.stride_h, p.kh), first_tap(rx + p.pad_w, p.dil_w, p.stride_w, p.kw),
                   tap_step(p.dil_h, p.stride_h), tap_step(p.dil_w, p.stride_w));
}

// The number of taps k0, k0 + step, ... below count.
fn tap_count(k0: u32, step: u32, count: u32) -> u32 {
  return select(0u, (count - k0 + step - 1u) / step, k0 < count);
}
