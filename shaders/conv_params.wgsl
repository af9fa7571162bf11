// The uniform shared by the convolution kernels (conv2d.wgsl,
// conv_transpose2d.wgsl, conv_block.wgsl): the NCHW sizes, the window
// (kernel, stride, padding, dilation; conv_transpose2d reads them as its
// forward conv's), the epilogue (bias, activation, accumulate) and flat_k,
// read by conv_block.wgsl only (1: step four flattened (ci, ky, kx) taps at a
// time instead of four input channels; 0 elsewhere).

struct Params {
  n: u32,
  c_in: u32,
  h: u32,
  w: u32,
  c_out: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,
  pad_w: u32,
  dil_h: u32,
  dil_w: u32,
  has_bias: u32,
  act: u32,
  alpha: f32,
  accumulate: u32,
  flat_k: u32,
}
