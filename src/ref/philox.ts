/**
 * TypeScript mirror of shaders/philox.wgsl: Philox4x32-10 and the stream
 * mapping (seed, step, stream, index) → word, bit-exact with the GPU for the
 * raw 32-bit words and for the uniforms in (0, 1] (exact f32 values). The
 * normals are computed in float64 with the same Box–Muller formula: they agree
 * with the GPU's f32 normals to f32 tolerance, not bit for bit, because log,
 * cos and sin are rounded differently on every implementation.
 *
 * Stream mapping (see the header of philox.wgsl): element `index` is word
 * index % 4 of philox4x32_10(counter = (index / 4, step, 0, 0), key = (seed, stream)).
 *
 * Plain functions on numbers: usable by the CPU references, the tests and the
 * kernels alike.
 */

export const PHILOX_M0 = 0xd2511f53;
export const PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9;
export const PHILOX_W1 = 0xbb67ae85;

/** Where a stream of random numbers comes from. All fields are u32. */
export interface PhiloxKey {
  readonly seed: number;
  readonly step: number;
  /** Consumer within a step (default 0). */
  readonly stream?: number;
}

/** High 32 bits of the 64-bit product of two u32, from 16-bit halves (as the WGSL). */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16;
  const bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh; // each < 2^32, exact
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32 with 10 rounds on a 4-word counter and a 2-word key; returns 4 u32. */
export function philox4x32_10(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  let c0 = counter[0]! >>> 0, c1 = counter[1]! >>> 0, c2 = counter[2]! >>> 0, c3 = counter[3]! >>> 0;
  let k0 = key[0]! >>> 0, k1 = key[1]! >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0), lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2), lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

function checkU32(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`philox: ${what} = ${v} is not a u32`);
  return v;
}

function checkKey(key: PhiloxKey): void {
  checkU32('seed', key.seed);
  checkU32('step', key.step);
  checkU32('stream', key.stream ?? 0);
}

/** The four words of block `block` (elements 4·block … 4·block + 3) of a stream. */
export function philoxBlock(key: PhiloxKey, block: number): Uint32Array {
  return philox4x32_10([block, key.step, 0, 0], [key.seed, key.stream ?? 0]);
}

/** Words `offset` … `offset + n − 1` of a stream (what the philox_raw entry point writes). */
export function philoxRawRef(key: PhiloxKey, n: number, offset = 0): Uint32Array {
  checkKey(key);
  const out = new Uint32Array(n);
  let cached = -1;
  let words: Uint32Array = new Uint32Array(4);
  for (let i = 0; i < n; i++) {
    const e = offset + i;
    const block = Math.floor(e / 4);
    if (block !== cached) {
      words = philoxBlock(key, block);
      cached = block;
    }
    out[i] = words[e % 4]!;
  }
  return out;
}

/** Uniform in (0, 1] from the top 24 bits of a word: ((r >> 8) + 1)·2^-24, exact in f32. */
export function philoxUniform(r: number): number {
  return ((r >>> 8) + 1) * 2 ** -24;
}

/** Box–Muller on two words: [R cos θ, R sin θ], R = sqrt(−2 ln u_a), θ = π(2u_b − 1). */
export function boxMuller(ra: number, rb: number): [number, number] {
  const radius = Math.sqrt(-2 * Math.log(philoxUniform(ra)));
  const theta = Math.PI * (2 * philoxUniform(rb) - 1);
  return [radius * Math.cos(theta), radius * Math.sin(theta)];
}

/** The four normals of one block of words. */
export function philoxNormals(words: ArrayLike<number>): [number, number, number, number] {
  const [a, b] = boxMuller(words[0]!, words[1]!);
  const [c, d] = boxMuller(words[2]!, words[3]!);
  return [a, b, c, d];
}

/** Standard normals `offset` … `offset + n − 1` of a stream, in float64 (the GPU's ε to f32 tolerance). */
export function randomNormalRef(key: PhiloxKey, n: number, offset = 0): Float64Array {
  checkKey(key);
  const out = new Float64Array(n);
  for (let i = 0; i < n; ) {
    const e = offset + i;
    const normals = philoxNormals(philoxBlock(key, Math.floor(e / 4)));
    for (let lane = e % 4; lane < 4 && i < n; lane++, i++) out[i] = normals[lane]!;
  }
  return out;
}
