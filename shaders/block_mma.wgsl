// block_mma: the 16×32 register block of 4×4 matrices shared by the
// register-blocked kernels (matmul_block.wgsl, conv_block.wgsl).
//
// MatmulBlock.m[i * 8 + j] holds rows 4i..4i+3 of a 16×32 block of C as its
// columns and columns 4j..4j+3 as vector components. One step over four
// values of the reduction index k is
//   m[i * 8 + j] += Bk[j] · Ak[i]
// where column r of Ak[i] is A(4i + r, k..k+3) and column q of Bk[j] is
// B(k + q, 4j..4j+3): 2048 multiply-adds for 12 matrices loaded. The
// accumulators are only ever indexed by constants, so they stay in registers.
// No bindings: the including file declares its own.

struct MatmulBlock {
  m: array<mat4x4<f32>, 32>,
}

// block += Bk · Ak over the 4 × 8 sub-blocks.
fn block_mma(acc: ptr<function, MatmulBlock>, ak: ptr<function, array<mat4x4<f32>, 4>>,
             bk: ptr<function, array<mat4x4<f32>, 8>>) {
  (*acc).m[0] += (*bk)[0] * (*ak)[0];
  (*acc).m[1] += (*bk)[1] * (*ak)[0];
  (*acc).m[2] += (*bk)[2] * (*ak)[0];
  (*acc).m[3] += (*bk)[3] * (*ak)[0];
  (*acc).m[4] += (*bk)[4] * (*ak)[0];
  (*acc).m[5] += (*bk)[5] * (*ak)[0];
  (*acc).m[6] += (*bk)[6] * (*ak)[0];
  (*acc).m[7] += (*bk)[7] * (*ak)[0];
  (*acc).m[8] += (*bk)[0] * (*ak)[1];
  (*acc).m[9] += (*bk)[1] * (*ak)[1];
  (*acc).m[10] += (*bk)[2] * (*ak)[1];
  (*acc).m[11] += (*bk)[3] * (*ak)[1];
  (*acc).m[12] += (*bk)[4] * (*ak)[1];
  (*acc).m[13] += (*bk)[5] * (*ak)[1];
  (*acc).m[14] += (*bk)[6] * (*ak)[1];
  (*acc).m[15] += (*bk)[7] * (*ak)[1];
  (*acc).m[16] += (*bk)[0] * (*ak)[2];
  (*acc).m[17] += (*bk)[1] * (*ak)[2];
  (*acc).m[18] += (*bk)[2] * (*ak)[2];
  (*acc).m[19] += (*bk)[3] * (*ak)[2];
  (*acc).m[20] += (*bk)[4] * (*ak)[2];
  (*acc).m[21] += (*bk)[5] * (*ak)[2];
  (*acc).m[22] += (*bk)[6] * (*ak)[2];
  (*acc).m[23] += (*bk)[7] * (*ak)[2];
  (*acc).m[24] += (*bk)[0] * (*ak)[3];
  (*acc).m[25] += (*bk)[1] * (*ak)[3];
  (*acc).m[26] += (*bk)[2] * (*ak)[3];
  (*acc).m[27] += (*bk)[3] * (*ak)[3];
  (*acc).m[28] += (*bk)[4] * (*ak)[3];
  (*acc).m[29] += (*bk)[5] * (*ak)[3];
  (*acc).m[30] += (*bk)[6] * (*ak)[3];
  (*acc).m[31] += (*bk)[7] * (*ak)[3];
}
