// data: gathers a training batch from a dataset that lives on the GPU.
// requires: philox.wgsl
//
// The dataset holds N samples of D values each, row-major, either as bytes
// (value v/255, packed four to a u32 little-endian: `bytes`) or as f32
// (`values`). `order` holds sample indices (a shuffled permutation of the
// epoch); batch row b is sample order[start + b]:
//     x[b, d] = data[order[start + b], d]            (BINARIZE false)
//     x[b, d] = 1 if u ≤ data[...] else 0            (BINARIZE true: dynamic)
// Bytes become f32(v) · (1/255) (one rounding, mirrored exactly on the CPU) and
// are binarized by an exact integer comparison.
// where u is uniform in (0, 1] from the Philox stream (seed, step, stream) at
// element b·D + d (see philox.wgsl): a fresh binarization every step,
// reproducible from the seed.
// Shapes: bytes (ceil(N·D / 4)) or values (N·D); order (≥ start + B); x (B, D).
// gather_u8 and gather_f32: one invocation per output value; dispatch grid1d(B·D, 256).
// gather_u8_4: bytes with D a multiple of 4, one invocation per four values
// (one word of `bytes`, one vec4 of x4 = x viewed as vec4, one Philox block
// for the four draws), the same values bit for bit; dispatch grid1d(B·D / 4, 256).

struct Params {
  batch: u32,
  features: u32,
  start: u32,
  seed: u32,
  step: u32,
  stream: u32,
}

@group(0) @binding(0) var<storage, read> bytes: array<u32>;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> x4: array<vec4f>;
@group(0) @binding(5) var<uniform> params: Params;

fn data_index(wg: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 256u + lid;
}

const INV_255: f32 = 1.0 / 255.0;

// Dynamic binarization, fixed per pipeline: SwiftShader runs both sides of a
// branch even when the condition is uniform, so a uniform flag would pay for
// the Philox draws of every element in the plain gather too.
override BINARIZE: bool = false;

// The draw u of element i, as philox_uniform's integer numerator ((r >> 8) + 1) in 1..2^24.
fn draw_numerator(i: u32) -> u32 {
  let w = philox_block(params.seed, params.step, params.stream, i >> 2u);
  return (w[i & 3u] >> 8u) + 1u;
}

@compute @workgroup_size(256, 1, 1)
fn gather_u8(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = data_index(wg, nwg, lid);
  if (i >= params.batch * params.features) { return; }
  let b = i / params.features;
  let d = i - b * params.features;
  let byte = order[params.start + b] * params.features + d;
  let k = (bytes[byte >> 2u] >> ((byte & 3u) * 8u)) & 255u;
  if (!BINARIZE) {
    x[i] = f32(k) * INV_255;
  } else {
    // u ≤ k/255 compared exactly in integers: u·2^24·255 ≤ k·2^24 (both < 2^32).
    x[i] = select(0.0, 1.0, draw_numerator(i) * 255u <= k << 24u);
  }
}

@compute @workgroup_size(256, 1, 1)
fn gather_f32(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let i = data_index(wg, nwg, lid);
  if (i >= params.batch * params.features) { return; }
  let b = i / params.features;
  let d = i - b * params.features;
  let v = values[order[params.start + b] * params.features + d];
  if (!BINARIZE) {
    x[i] = v;
  } else {
    x[i] = select(0.0, 1.0, f32(draw_numerator(i)) * (1.0 / 16777216.0) <= v);
  }
}

@compute @workgroup_size(256, 1, 1)
fn gather_u8_4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let q = data_index(wg, nwg, lid);
  let dq = params.features / 4u;
  if (q >= params.batch * dq) { return; }
  let b = q / dq;
  let word = bytes[order[params.start + b] * dq + (q - b * dq)];
  let k = (vec4u(word) >> vec4u(0u, 8u, 16u, 24u)) & vec4u(255u);
  if (!BINARIZE) {
    x4[q] = vec4f(k) * INV_255;
  } else {
    // Elements 4q..4q+3 draw from words 0..3 of Philox block q (draw_numerator).
    let num = (philox_block(params.seed, params.step, params.stream, q) >> vec4u(8u)) + vec4u(1u);
    x4[q] = select(vec4f(0.0), vec4f(1.0), num * 255u <= k << vec4u(24u));
  }
}
