// Philox4x32-10 counter-based random numbers (Salmon, Moraes, Dror and Shaw,
// "Parallel random numbers: as easy as 1, 2, 3", SC 2011), and the uniform and
// normal variates built on it. A function library: kernels that draw random
// numbers name it on a `requires:` line; it declares no bindings.
//
// Philox4x32-10 maps a 128-bit counter and a 64-bit key to 128 random bits
// with 10 rounds; each round multiplies words 0 and 2 by M0 = 0xD2511F53 and
// M1 = 0xCD9E8D57 (full 32×32 → 64-bit products) and mixes the halves with
// the other words and the key; the key is bumped by W0 = 0x9E3779B9 and
// W1 = 0xBB67AE85 between rounds. Bit-exact with Random123's philox4x32_10.
// WGSL has no 64-bit integers: the high word of a product is assembled from
// 16-bit halves (philox_mulhi).
//
// Stream mapping: element `index` of the stream (seed, step, stream) is word
// index % 4 of the block
//     key     = (seed, stream)
//     counter = (index / 4, step, 0, 0)
// so every (seed, stream, step, index) names a distinct 32-bit word: distinct
// (seed, stream) are distinct keys, and for one key distinct (index / 4, step)
// are distinct counters, which Philox maps to distinct blocks (it is a
// bijection of the counter for a fixed key). `seed` fixes a training run,
// `step` the optimizer step, `stream` one consumer within a step (0 for the
// latent noise), and `index` the element (b·J + j for a (B, J) tensor).
//
// Uniforms: u = ((r >> 8) + 1) · 2^-24, in (0, 1]: never 0, 24 random bits,
// and exactly representable in f32, so the GPU and the TypeScript mirror
// (src/ref/philox.ts) agree bit for bit on u as well as on the raw words.
// Normals: Box–Muller on the pairs of one block, (w0, w1) and (w2, w3):
//     R = sqrt(-2 ln u_a),  θ = π (2 u_b - 1) ∈ (-π, π]
//     n_a = R cos θ,  n_b = R sin θ
// so element index gets lane index % 4 of the block's four normals. |n| is at
// most sqrt(48 ln 2) ≈ 5.77. The angle and ln u near 1 are computed with
// polynomials (below) rather than the builtins, whose WGSL error bounds are
// loose; normals agree with the float64 mirror to about 1e-6, not bit for bit.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;
const PHILOX_PI: f32 = 3.14159265358979;

// High 32 bits of the 64-bit product a·b, from 16-bit halves.
fn philox_mulhi(a: u32, b: u32) -> u32 {
  let al = a & 0xFFFFu;
  let ah = a >> 16u;
  let bl = b & 0xFFFFu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let hl = ah * bl;
  let hh = ah * bh;
  let mid = (ll >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
  return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

fn philox_round(c: vec4u, k: vec2u) -> vec4u {
  let hi0 = philox_mulhi(PHILOX_M0, c.x);
  let lo0 = PHILOX_M0 * c.x;
  let hi1 = philox_mulhi(PHILOX_M1, c.z);
  let lo1 = PHILOX_M1 * c.z;
  return vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
}

// Philox4x32 with 10 rounds: the key is bumped between rounds (9 times).
fn philox4x32_10(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  c = philox_round(c, k);
  for (var r = 1u; r < 10u; r++) {
    k = k + vec2u(PHILOX_W0, PHILOX_W1);
    c = philox_round(c, k);
  }
  return c;
}

// The four words of block `blk` (elements 4·blk .. 4·blk + 3) of the
// stream (seed, step, stream).
fn philox_block(seed: u32, step: u32, stream: u32, blk: u32) -> vec4u {
  return philox4x32_10(vec4u(blk, step, 0u, 0u), vec2u(seed, stream));
}

// Uniform in (0, 1] from the top 24 bits of a word; exact in f32.
fn philox_uniform(r: u32) -> f32 {
  return f32((r >> 8u) + 1u) * 5.9604644775390625e-8; // 2^-24
}

// ln u for u in (0, 1]. Near 1 (u > 3/4) by the series 2·atanh(s), s = (u − 1)/(u + 1),
// accurate to f32 rounding: WGSL bounds the builtin log only to 2^-21 absolute
// there, which would dominate a small Box–Muller radius.
fn philox_log_unit(u: f32) -> f32 {
  if (u > 0.75) {
    let s = (u - 1.0) / (u + 1.0);
    let s2 = s * s;
    return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 / 11.0)))));
  }
  return log(u);
}

// (cos πt, sin πt) for t in [−1, 1]: exact reduction to r = t − q/2, |r| ≤ 1/4
// (t is a multiple of 2^-23), Taylor polynomials on |πr| ≤ π/4, then a quarter-turn
// rotation. WGSL bounds the builtin sin and cos only to 2^-11 absolute error
// (SwiftShader's are off by up to 2e-4); these are within a few f32 ulp.
fn philox_cos_sin_pi(t: f32) -> vec2f {
  let q = round(2.0 * t);
  let x = PHILOX_PI * (t - 0.5 * q);
  let x2 = x * x;
  let s = x * (1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 + x2 / 362880.0))));
  let c = 1.0 + x2 * (-0.5 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0 + x2 * (1.0 / 40320.0 - x2 / 3628800.0))));
  let quadrant = i32(q) & 3;
  if (quadrant == 0) { return vec2f(c, s); }
  if (quadrant == 1) { return vec2f(-s, c); }
  if (quadrant == 2) { return vec2f(-c, -s); }
  return vec2f(s, -c);
}

// Two independent standard normals from two words (Box–Muller).
fn philox_box_muller(ra: u32, rb: u32) -> vec2f {
  let radius = sqrt(-2.0 * philox_log_unit(philox_uniform(ra)));
  return radius * philox_cos_sin_pi(2.0 * philox_uniform(rb) - 1.0);
}

// The four standard normals of one block.
fn philox_normals(words: vec4u) -> vec4f {
  return vec4f(philox_box_muller(words.x, words.y), philox_box_muller(words.z, words.w));
}

// Standard normal number `index` of the stream (seed, step, stream). Kernels
// that need consecutive elements should take whole blocks (philox_block +
// philox_normals) instead: this computes the block for one lane.
fn philox_normal(seed: u32, step: u32, stream: u32, index: u32) -> f32 {
  let n = philox_normals(philox_block(seed, step, stream, index >> 2u));
  return n[index & 3u];
}
