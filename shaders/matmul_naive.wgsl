// matmul_naive: C = act(op(A) · op(B) + bias), or C += op(A) · op(B), one entry of C per invocation.
// requires: activation_fns.wgsl, matmul_params.wgsl
//
// The reference point of the benchmarks: each invocation reads a row of op(A)
// and a column of op(B) straight from memory and keeps one sum, with no reuse
// through registers or workgroup memory. Shapes, the overrides TA / TB, the
// uniform fields and the epilogue are those of matmul.wgsl; any M, N, K.
// Dispatch: (ceil(N / 16), ceil(M / 16), 1), workgroups of 16×16.

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(16, 16, 1)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.y;
  let col = gid.x;
  if (row >= params.m || col >= params.n) { return; }
  // Strides of op(A) along k and of op(B) along k, and the start of the row and column.
  let a_step = select(1u, params.m, TA);
  let b_step = select(params.n, 1u, TB);
  var ai = select(row * params.k, row, TA);
  var bi = select(col, col * params.k, TB);
  var s = 0.0;
  for (var kk = 0u; kk < params.k; kk++) {
    s += a[ai] * b[bi];
    ai += a_step;
    bi += b_step;
  }
  let idx = row * params.n + col;
  if (params.accumulate != 0u) {
    c[idx] = c[idx] + s;
  } else {
    var v = s;
    if (params.has_bias != 0u) { v += bias[col]; }
    c[idx] = act_forward(params.act, v, params.alpha);
  }
}
