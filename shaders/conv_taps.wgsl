// conv_taps: which kernel taps reach an output phase of a transposed
// convolution, shared by conv_transpose2d.wgsl and conv_block.wgsl.
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
