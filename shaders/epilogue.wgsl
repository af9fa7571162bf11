// epilogue: the overrides that fix a product's epilogue when its pipeline is
// made, and the activation of four outputs through them.
// requires: activation_fns.wgsl
//
// Named on the `requires:` line of every kernel whose epilogue is chosen by
// pipeline constants (matmul_block.wgsl, matmul_ksplit.wgsl,
// matmul_unaligned.wgsl, conv_block.wgsl, conv_narrow.wgsl; src/kernels/
// matmul.ts and conv2d.ts set them from the call's options, and the uniform's
// act and accumulate are not read by these kernels). matmul.wgsl and
// conv2d.wgsl read the activation from their uniform instead.
//
// ACT: the activation's code (activation_fns.wgsl), its parameter passed as
//      alpha. ACCUMULATE: the product is added to the output's old value.

override ACT: u32 = 0u;
override ACCUMULATE: bool = false;

// act_forward(ACT, ·) of the four components of v. ReLU and identity are
// tested on the override itself, so the test folds when the pipeline is made,
// before a register-blocked kernel inlines this function into each of its
// stores (128 copies in conv_block.wgsl's block). The other activations go a
// component at a time through a loop, so their chain of cases is made once
// per copy, not four times. Pipeline compile time on SwiftShader, with the
// chain written out in every copy against this function: conv2d forward
// (block form) with ReLU 6.6 s against 2.3 s; matmul_subgroup with GELU
// 6.6 s against 1.7–1.9 s.
fn act_epilogue4(v: vec4f, alpha: f32) -> vec4f {
  var a = v;
  if (ACT == ACT_RELU) {
    a = max(a, vec4f(0.0));
  } else if (ACT != ACT_IDENTITY) {
    for (var c = 0u; c < 4u; c++) { a[c] = act_forward(ACT, a[c], alpha); }
  }
  return a;
}
