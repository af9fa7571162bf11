// embedding: rows of a table picked by token indices (nn.Embedding), and the
// deterministic scatter-add of its backward.
//
// embedding_forward    y_out[p, e] = weight[idx[p], e]
// embedding_backward   dweight[v, e] = Σ_{p : idx[p] = v} dy[p, e]
//
// With transpose = 1 the output is laid out (B, E, T) instead of (B, T, E)
// (the embedded sequence transposed for nn.Conv1d's (N, C, L)): p = b·T + t
// is read and written at y_out[(b·E + e)·T + t], and dy likewise.
//                      (dweight += that sum with accumulate = 1: the caller
//                      initializes dweight; with accumulate = 0 every element
//                      is written, rows no position picks get 0)
//
// Shapes: idx (N) positions (a (B, T) batch of sequences flattened), f32
// holding exact integers in [0, V) (checked on the host before the batch is
// written: see checkTokenIndices in src/kernels/embedding.ts); weight and
// dweight (V, E) row-major (nn.Embedding's weight); y_out and dy (N, E), i.e.
// (B, T, E). An index outside [0, V) cannot reach here through the library;
// given one anyway, the forward writes a row of zeros and the backward adds
// nothing for it (no out-of-bounds read).
//
// Determinism: each dweight[v, e] is summed by one invocation over the
// positions in increasing order (no atomics), so the result is the same bits
// on every run and equals the sequential float32 sum in position order.
// Work: every invocation of the backward reads all N indices (a broadcast
// load: the workgroup reads the same index at once) and adds the dy values of
// the positions that pick its row: V·⌈E/4⌉·N index reads in all, cheap for the
// vocabularies of characters and SMILES tokens (tens to hundreds).
//
// Work split and dispatch:
//   forward: one invocation per output element (p, e), 256 per workgroup;
//     grid1d(N·E, 256), workgroup index wg.x + wg.y · num_workgroups.x.
//   backward: one invocation per (v, group of 4 columns e = 4c..4c+3);
//     64 per workgroup (no barriers, no workgroup memory);
//     grid1d(V·⌈E/4⌉, 64).

struct Params {
  positions: u32, // N
  vocab: u32,     // V
  dim: u32,       // E
  steps: u32,     // T (read with transpose = 1)
  transpose: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> y_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const WG_FWD: u32 = 256u;
const WG_BWD: u32 = 64u;
const COLS: u32 = 4u;

// Where element (p, e) of the output (or dy) lives: p·E + e, or (b·E + e)·T + t when transposed.
fn out_index(p: u32, e: u32) -> u32 {
  if (params.transpose == 0u) {
    return p * params.dim + e;
  }
  let b = p / params.steps;
  let t = p - b * params.steps;
  return (b * params.dim + e) * params.steps + t;
}

// The row position p picks, or V (no row) for a value outside [0, V).
fn row_of(p: u32) -> u32 {
  let v = idx[p];
  return select(params.vocab, u32(v), v >= 0.0 && v < f32(params.vocab));
}

@compute @workgroup_size(256, 1, 1)
fn embedding_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG_FWD + li;
  let E = params.dim;
  if (i >= params.positions * E) {
    return;
  }
  let p = i / E;
  let e = i - p * E;
  let v = row_of(p);
  var out = 0.0;
  if (v < params.vocab) {
    out = weight[v * E + e];
  }
  y_out[out_index(p, e)] = out;
}

@compute @workgroup_size(64, 1, 1)
fn embedding_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG_BWD + li;
  let E = params.dim;
  let groups = (E + COLS - 1u) / COLS;
  if (i >= params.vocab * groups) {
    return;
  }
  let v = i / groups;
  let e0 = (i - v * groups) * COLS;
  let cols = min(COLS, E - e0);
  var acc = vec4f(0.0);
  for (var p = 0u; p < params.positions; p++) {
    if (row_of(p) == v) {
      // Column e0 + c of position p: consecutive (stride 1) or T apart when transposed.
      let base = out_index(p, e0);
      let stride = select(1u, params.steps, params.transpose != 0u);
      acc.x = acc.x + dy[base];
      if (cols > 1u) { acc.y = acc.y + dy[base + stride]; }
      if (cols > 2u) { acc.z = acc.z + dy[base + 2u * stride]; }
      if (cols > 3u) { acc.w = acc.w + dy[base + 3u * stride]; }
    }
  }
  let out = v * E + e0;
  for (var c = 0u; c < cols; c++) {
    if (params.accumulate != 0u) {
      dweight[out + c] = dweight[out + c] + acc[c];
    } else {
      dweight[out + c] = acc[c];
    }
  }
}
