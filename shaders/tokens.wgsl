// tokens: sequences of token ids on the GPU: a batch gathered from a dataset
// of ids as one-hot rows (the input and the target of a categorical
// sequence model, and the decoder's teacher-forcing input: the previous
// tokens, with word dropout), and the autoregressive sampling of a token per
// step from the decoder's logits.
// requires: philox.wgsl
//
// gather_one_hot: ids (N·T) (f32 holding integers), order (≥ start + B) →
//   x (B, T, V) one-hot: row b is sample s = order[start + b]; position t holds
//       tok = ids[s, t]                                       (shift = 0)
//       tok = start_id at t = 0, else ids[s, t − 1]           (shift = 1)
//   With shift = 1 and word dropout, a token other than pad_id at t > 0 is
//   replaced by unk_id when u ≤ p (u from the Philox stream (seed, step,
//   stream) at element b·T + t, compared as integers: numerator ≤ drop, with
//   drop = round(p·2^24)). x[b, t, v] = 1 when v = tok and tok ≠ pad_id, else
//   0: padding is all zeros (no input, and no term of the categorical loss).
//   One invocation per output element; grid1d(B·T·V, 256). gather_one_hot_rows:
//   the same, one invocation per token; grid1d(B·T, 64).
//
// sample_tokens: logits (B, T, V), step t → tokens (B, T) (the ids drawn so
//   far) and prev (B, T, V), the decoder's previous-token input, whose row
//   t + 1 becomes the one-hot of the token drawn at t (nothing at t = T − 1):
//       greedy (temperature = 0): tok = argmax_v logits[b, t, v] (lowest v on ties)
//       else: tok = the first v with Σ_{w ≤ v} softmax(logits/τ)_w ≥ u, u from
//       the stream (seed, step = t, stream) at element start + b (inverse
//       CDF; start: the batch's first row among all the rows decoded)
//   Once a row has drawn end_id, it draws pad_id (and prev stays zero).
//   With single = 1 (a decoder run one step at a time), logits is (B, 1, V),
//   the step's, and prev (B, 1, V) becomes the one-hot of the token drawn
//   (zeros once the row has ended): the next step's input.
//   One invocation per row b; grid1d(B, 64).

struct Params {
  batch: u32,
  steps: u32,
  vocab: u32,
  start: u32,
  shift: u32,
  drop: u32,
  pad_id: u32,
  start_id: u32,
  unk_id: u32,
  end_id: u32,
  seed: u32,
  step: u32,
  stream: u32,
  t: u32,
  temperature: f32,
  single: u32,
}

@group(0) @binding(0) var<storage, read> ids: array<f32>;
@group(0) @binding(1) var<storage, read> order: array<u32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> tokens: array<f32>;
@group(0) @binding(5) var<storage, read_write> prev: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

fn flat(wg: vec3u, nwg: vec3u, lid: u32, size: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * size + lid;
}

// The token of row b, position t of gather_one_hot's x (bt = b·T + t), after
// the shift and word dropout.
fn token_at(bt: u32) -> u32 {
  let T = params.steps;
  let b = bt / T;
  let t = bt - b * T;
  let s = order[params.start + b];
  var tok = 0u;
  if (params.shift == 0u) {
    tok = u32(ids[s * T + t]);
  } else if (t == 0u) {
    tok = params.start_id;
  } else {
    tok = u32(ids[s * T + t - 1u]);
    if (tok != params.pad_id && params.drop > 0u) {
      let w = philox_block(params.seed, params.step, params.stream, bt >> 2u);
      if ((w[bt & 3u] >> 8u) + 1u <= params.drop) { tok = params.unk_id; }
    }
  }
  return tok;
}

@compute @workgroup_size(256, 1, 1)
fn gather_one_hot(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let i = flat(wg, nwg, lid, 256u);
  let V = params.vocab;
  if (i >= params.batch * params.steps * V) { return; }
  let bt = i / V;
  let v = i - bt * V;
  let tok = token_at(bt);
  x[i] = select(0.0, 1.0, tok == v && tok != params.pad_id);
}

// gather_one_hot_rows: gather_one_hot's x with one invocation per token
// (b, t), which works out the token (and its Philox block) once and writes
// the row's V values, four per loop trip: for adapters that run invocations
// as the lanes of a CPU thread, where one invocation per element repeated the
// token's work V times (src/kernels/tokens.ts chooses it under the cpu
// profile; GPUs keep one invocation per element and coalesced stores).
// Dispatch: grid1d(B·T, 64).
@compute @workgroup_size(64, 1, 1)
fn gather_one_hot_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) lid: u32) {
  let bt = flat(wg, nwg, lid, 64u);
  let V = params.vocab;
  if (bt >= params.batch * params.steps) { return; }
  let tok = token_at(bt);
  // The hot column, or V (none) for padding.
  let hot = select(V, tok, tok != params.pad_id);
  let row = bt * V;
  for (var v = 0u; v < V; v += 4u) {
    x[row + v] = select(0.0, 1.0, v == hot);
    if (v + 1u < V) { x[row + v + 1u] = select(0.0, 1.0, v + 1u == hot); }
    if (v + 2u < V) { x[row + v + 2u] = select(0.0, 1.0, v + 2u == hot); }
    if (v + 3u < V) { x[row + v + 3u] = select(0.0, 1.0, v + 3u == hot); }
  }
}

@compute @workgroup_size(64, 1, 1)
fn sample_tokens(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let b = flat(wg, nwg, lid, 64u);
  if (b >= params.batch) { return; }
  let T = params.steps;
  let V = params.vocab;
  let t = params.t;
  var done = false;
  for (var k = 0u; k < t; k++) {
    if (u32(tokens[b * T + k]) == params.end_id) { done = true; }
  }
  var tok = params.pad_id;
  if (!done) {
    let base = select((b * T + t) * V, b * V, params.single == 1u);
    var m = logits[base];
    var arg = 0u;
    for (var v = 1u; v < V; v++) {
      if (logits[base + v] > m) { m = logits[base + v]; arg = v; }
    }
    tok = arg;
    if (params.temperature > 0.0) {
      let inv = 1.0 / params.temperature;
      var total = 0.0;
      for (var v = 0u; v < V; v++) { total += exp((logits[base + v] - m) * inv); }
      let e = params.start + b;
      let w = philox_block(params.seed, t, params.stream, e >> 2u);
      let u = f32((w[e & 3u] >> 8u) + 1u) * (1.0 / 16777216.0) * total;
      var acc = 0.0;
      tok = V - 1u;
      for (var v = 0u; v < V; v++) {
        acc += exp((logits[base + v] - m) * inv);
        if (acc >= u) { tok = v; break; }
      }
    }
  }
  tokens[b * T + t] = f32(tok);
  if (params.single == 1u) {
    for (var v = 0u; v < V; v++) {
      prev[b * V + v] = select(0.0, 1.0, v == tok && tok != params.pad_id);
    }
  } else if (t + 1u < T) {
    for (var v = 0u; v < V; v++) {
      prev[(b * T + t + 1u) * V + v] = select(0.0, 1.0, v == tok && tok != params.pad_id);
    }
  }
}
