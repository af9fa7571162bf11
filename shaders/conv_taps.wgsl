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

// The taps of output phase (ry, rx) of the transposed convolution whose
// uniforms (conv_params.wgsl) the including file declares: ky0, ky0 + step_y,
// ... below KH, and kx0, kx0 + step_x, ... below KW.
struct PhaseWalk {
  ky0: u32,
  kx0: u32,
  step_y: u32,
  step_x: u32,
}

fn phase_walk(ry: u32, rx: u32) -> PhaseWalk {
  return PhaseWalk(first_tap(ry + params.pad_h, params.dil_h, params.stride_h, params.kh),
                   first_tap(rx + params.pad_w, params.dil_w, params.stride_w, params.kw),
                   tap_step(params.dil_h, params.stride_h), tap_step(params.dil_w, params.stride_w));
}
