// matmul_tiled: C = act(op(A) · op(B) + bias), or C += op(A) · op(B), through workgroup-memory tiles.
// requires: activation_fns.wgsl, matmul_params.wgsl
//
// Shapes, the overrides TA / TB, the uniform fields and the epilogue are those
// of matmul.wgsl; any M, N, K.
// Tiling, the classic GPU scheme: a workgroup of 16×16 invocations computes a
// 64×64 tile of C, each invocation a 4×4 block held in registers. K advances 16
// at a time through workgroup memory (64×16 of op(A), 16×64 of op(B), loaded
// once per workgroup by coalesced reads and read 64 times each from there);
// loads past the matrix edges write zero, so any M, N, K work. Two barriers per
// step of K: cheap on GPUs, costly where barriers are fiber switches
// (SwiftShader), which is why matmul.wgsl does without them.
// Dispatch: (ceil(N / 64), ceil(M / 64), 1).

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const TILE: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> tile_a: array<f32, 1024>; // [TK][TILE]: tile_a[kk * 64 + row]
var<workgroup> tile_b: array<f32, 1024>; // [TK][TILE]: tile_b[kk * 64 + col]

fn load_a(row: u32, kk: u32) -> f32 {
  if (row >= params.m || kk >= params.k) { return 0.0; }
  if (TA) { return a[kk * params.m + row]; }
  return a[row * params.k + kk];
}

fn load_b(kk: u32, col: u32) -> f32 {
  if (kk >= params.k || col >= params.n) { return 0.0; }
  if (TB) { return b[col * params.k + kk]; }
  return b[kk * params.n + col];
}

@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  var acc: array<array<f32, 4>, 4>;
  for (var t = 0u; t < params.k; t += TK) {
    // 256 invocations fill 1024 entries of each tile: 4 each.
    for (var i = 0u; i < 4u; i++) {
      let idx = li + i * 256u;
      let kk = idx / TILE;
      let r = idx % TILE;
      tile_a[idx] = load_a(row0 + r, t + kk);
      tile_b[idx] = load_b(t + kk, col0 + r);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = tile_a[kk * TILE + lid.y * 4u + i];
        bv[i] = tile_b[kk * TILE + lid.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] += av[i] * bv[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y * 4u + i;
    if (row >= params.m) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x * 4u + j;
      if (col >= params.n) { continue; }
      let idx = row * params.n + col;
      var v = acc[i][j];
      if (params.accumulate != 0u) {
        c[idx] = c[idx] + v;
      } else {
        if (params.has_bias != 0u) { v += bias[col]; }
        c[idx] = act_forward(params.act, v, params.alpha);
      }
    }
  }
}
