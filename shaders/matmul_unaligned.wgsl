// matmul_unaligned: the 16×32 register-blocked matmul of matmul_blocked.wgsl for any shape, A, B and C read and written as f32.
// requires: epilogue.wgsl, matmul_params.wgsl, block_mma.wgsl
//
// C = act(op(A) · op(B) + bias), or C += op(A) · op(B). Shapes, the overrides
// TA / TB / ACT / ACCUMULATE, the uniform fields and the epilogue are those of
// matmul_block.wgsl, whose blocking this kernel keeps (block_mma.wgsl's 16×32
// accumulators, 2048 multiply-adds per step of four k), but for matrices
// whose contiguous dimension is not a multiple of 4 (e.g. a layer reading a
// 784-pixel image with its 10-class one-hot label, 794 features), where rows
// do not start on 16-byte boundaries and vec4 views cannot be bound. Each
// 4×4 matrix of a step is assembled from sixteen scalar loads instead of four
// vec4 ones; values past K, and rows or columns past M or N, read as zero
// (indices clamped into the arrays), and C is stored one value at a time
// within N.
// Invocation g (linear over the dispatch) owns block row g / nb and block
// column g % nb, nb = ceil(N / 32). Invocations past the last block return.
// Dispatch: grid1d(ceil(M / 16) · ceil(N / 32), 16).
//
// matmul_unaligned_tile: the same product one 4×4 tile at a time (as
// matmul_tile.wgsl for the vec4 kernels), with the same loads, matrix
// product and epilogue as one tile of a block, so its results are
// bit-identical; a CPU adapter compiles it in a fraction of the block
// kernel's time, and it stands in while that compiles. Invocation g owns
// tile row g / nq and tile column g % nq, nq = ceil(N / 4).
// Dispatch: grid1d(ceil(M / 4) · ceil(N / 4), 64).

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Which of the four indices i0..i0+3 are below n.
fn below(i0: u32, n: u32) -> vec4<bool> {
  return vec4u(i0) + vec4u(0u, 1u, 2u, 3u) < vec4u(n);
}

// a[e..e+3] where ok, zero elsewhere.
fn a_quad(e: u32, ok: vec4<bool>) -> vec4f {
  let last = arrayLength(&a) - 1u;
  return select(vec4f(), vec4f(a[min(e, last)], a[min(e + 1u, last)], a[min(e + 2u, last)], a[min(e + 3u, last)]), ok);
}

// b[e..e+3] where ok, zero elsewhere.
fn b_quad(e: u32, ok: vec4<bool>) -> vec4f {
  let last = arrayLength(&b) - 1u;
  return select(vec4f(), vec4f(b[min(e, last)], b[min(e + 1u, last)], b[min(e + 2u, last)], b[min(e + 3u, last)]), ok);
}

// Ak for rows r0..r0+3 and k0..k0+3: column r = op(A)(r0 + r, k0..k0+3).
fn load_a(r0: u32, k0: u32) -> mat4x4<f32> {
  let kk = below(k0, params.k);
  if (TA) {
    // Aᵀ stored (K, M): the four rows at each k, transposed.
    let rows = below(r0, params.m);
    let mm = params.m;
    return transpose(mat4x4<f32>(a_quad(k0 * mm + r0, rows & vec4<bool>(kk.x)), a_quad((k0 + 1u) * mm + r0, rows & vec4<bool>(kk.y)),
                                 a_quad((k0 + 2u) * mm + r0, rows & vec4<bool>(kk.z)), a_quad((k0 + 3u) * mm + r0, rows & vec4<bool>(kk.w))));
  }
  // A stored (M, K): four k of each row; rows past M repeat row M − 1 (never stored).
  let last = params.m - 1u;
  let kw = params.k;
  return mat4x4<f32>(a_quad(min(r0, last) * kw + k0, kk), a_quad(min(r0 + 1u, last) * kw + k0, kk),
                     a_quad(min(r0 + 2u, last) * kw + k0, kk), a_quad(min(r0 + 3u, last) * kw + k0, kk));
}

// Bk for k0..k0+3 and columns c0..c0+3: column q = op(B)(k0 + q, c0..c0+3).
fn load_b(c0: u32, k0: u32) -> mat4x4<f32> {
  let kk = below(k0, params.k);
  if (TB) {
    // Bᵀ stored (N, K): four k of each column, transposed; columns past N repeat column N − 1.
    let last = params.n - 1u;
    let kw = params.k;
    return transpose(mat4x4<f32>(b_quad(min(c0, last) * kw + k0, kk), b_quad(min(c0 + 1u, last) * kw + k0, kk),
                                 b_quad(min(c0 + 2u, last) * kw + k0, kk), b_quad(min(c0 + 3u, last) * kw + k0, kk)));
  }
  // B stored (K, N): the four columns at each k.
  let cols = below(c0, params.n);
  let nw = params.n;
  return mat4x4<f32>(b_quad(k0 * nw + c0, cols & vec4<bool>(kk.x)), b_quad((k0 + 1u) * nw + c0, cols & vec4<bool>(kk.y)),
                     b_quad((k0 + 2u) * nw + c0, cols & vec4<bool>(kk.z)), b_quad((k0 + 3u) * nw + c0, cols & vec4<bool>(kk.w)));
}

// The 4×4 tile m of C (column r: row row0 + r, columns c0..c0+3) through the
// epilogue: + bias, or + C when accumulating, then the activation; values
// past M or N are not stored.
fn store_tile(m: mat4x4<f32>, row0: u32, c0: u32) {
  let nw = params.n;
  let cols = below(c0, nw);
  let last = params.n - 1u;
  let bq = select(vec4f(), vec4f(bias[min(c0, last)], bias[min(c0 + 1u, last)], bias[min(c0 + 2u, last)], bias[min(c0 + 3u, last)]),
                  params.has_bias != 0u);
  for (var r = 0u; r < 4u; r++) {
    let row = row0 + r;
    if (row < params.m) {
      let idx = row * nw + c0;
      var v = m[r] + bq;
      if (ACCUMULATE) {
        let lc = arrayLength(&c) - 1u;
        v += select(vec4f(), vec4f(c[min(idx, lc)], c[min(idx + 1u, lc)], c[min(idx + 2u, lc)], c[min(idx + 3u, lc)]), cols);
      }
      v = act_epilogue4(v, params.alpha);
      for (var q = 0u; q < 4u; q++) {
        if (cols[q]) { c[idx + q] = v[q]; }
      }
    }
  }
}

@compute @workgroup_size(16, 1, 1)
fn matmul_unaligned(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let g = (wg.x + wg.y * nwg.x) * 16u + li;
  let nb = (params.n + 31u) / 32u;
  let r0 = (g / nb) * 16u;
  let c0 = (g % nb) * 32u;
  if (r0 >= params.m) { return; }
  var acc: MatmulBlock;
  for (var k0 = 0u; k0 < params.k; k0 += 4u) {
    var ak: array<mat4x4<f32>, 4>;
    var bk: array<mat4x4<f32>, 8>;
    for (var i = 0u; i < 4u; i++) { ak[i] = load_a(r0 + 4u * i, k0); }
    for (var j = 0u; j < 8u; j++) { bk[j] = load_b(c0 + 4u * j, k0); }
    block_mma(&acc, &ak, &bk);
  }
  // The stores index the accumulators by loop variables: once per block, after the products.
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 8u; j++) { store_tile(acc.m[i * 8u + j], r0 + 4u * i, c0 + 4u * j); }
  }
}

@compute @workgroup_size(64, 1, 1)
fn matmul_unaligned_tile(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) li: u32) {
  let g = (wg.x + wg.y * nwg.x) * 64u + li;
  let nq = (params.n + 3u) / 4u;
  let r0 = (g / nq) * 4u;
  let c0 = (g % nq) * 4u;
  if (r0 >= params.m) { return; }
  var acc = mat4x4<f32>();
  for (var k0 = 0u; k0 < params.k; k0 += 4u) {
    acc += load_b(c0, k0) * load_a(r0, k0);
  }
  store_tile(acc, r0, c0);
}
