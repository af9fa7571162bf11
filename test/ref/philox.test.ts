/** The TypeScript Philox mirror: Random123 known answers, the stream mapping, uniforms and normals. */
import { test } from 'node:test';
import {
  boxMuller, mulhi32, philox4x32_10, philoxBlock, philoxRawRef, philoxUniform, randomNormalRef,
} from '../../src/ref/philox.ts';
import { expect, expectClose, expectThrows, seeded } from '../support/check.ts';

const hex = (a: ArrayLike<number>) => Array.from(a, (v) => v.toString(16).padStart(8, '0')).join(' ');

test('philox4x32_10 matches the Random123 known-answer vectors', () => {
  // From Random123's kat_vectors (philox4x32 10 rounds): counter, key → output.
  const kat: ReadonlyArray<readonly [number[], number[], string]> = [
    [[0, 0, 0, 0], [0, 0], '6627e8d5 e169c58d bc57ac4c 9b00dbd8'],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], '408f276d 41c83b0e a20bc7c6 6d5451fd'],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], 'd16cfe09 94fdcceb 5001e420 24126ea1'],
  ];
  for (const [ctr, key, want] of kat) {
    const got = hex(philox4x32_10(ctr, key));
    expect(got === want, `philox4x32_10(ctr=${hex(ctr)}, key=${hex(key)}) = ${got}, expected ${want}`);
  }
});

test('mulhi32 equals the high word of the exact 64-bit product', () => {
  const r = seeded(11);
  const edge = [0, 1, 2, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0xd2511f53, 0xcd9e8d57];
  const values = [...edge, ...Array.from({ length: 200 }, () => Math.floor(r() * 2 ** 32))];
  for (const a of values) {
    for (const b of edge.concat(values.slice(-20))) {
      const want = Number((BigInt(a) * BigInt(b)) >> 32n);
      const got = mulhi32(a, b);
      expect(got === want, `mulhi32(0x${a.toString(16)}, 0x${b.toString(16)}) = 0x${got.toString(16)}, expected 0x${want.toString(16)}`);
    }
  }
});

test('stream mapping: element i is word i % 4 of philox(counter = (i / 4, step, 0, 0), key = (seed, stream))', () => {
  const key = { seed: 0xdeadbeef, step: 12345, stream: 7 };
  const raw = philoxRawRef(key, 4 * 9 + 3, 0);
  for (let i = 0; i < raw.length; i++) {
    const w = philox4x32_10([Math.floor(i / 4), key.step, 0, 0], [key.seed, key.stream]);
    expect(raw[i] === w[i % 4], `element ${i}: ${raw[i]} vs ${w[i % 4]}`);
  }
  // An offset window is the same slice of the stream.
  const tail = philoxRawRef(key, 17, 22);
  expect(hex(tail) === hex(raw.subarray(22, 39)), 'offset window differs from the slice of the stream');
  // Large indices: block index up to 2^30 − 1.
  const last = philoxRawRef(key, 4, 0xfffffffc);
  expect(hex(last) === hex(philoxBlock(key, 0x3fffffff)), 'last block of the u32 index range');
  // Seed, step and stream each change the words.
  const base = philoxRawRef(key, 64);
  for (const other of [{ ...key, seed: key.seed + 1 }, { ...key, step: key.step + 1 }, { ...key, stream: 8 }]) {
    const o = philoxRawRef(other, 64);
    const same = base.filter((v, i) => v === o[i]).length;
    expect(same === 0, `key ${JSON.stringify(other)} repeats ${same} of 64 words of ${JSON.stringify(key)}`);
  }
});

test('stream keys must be u32', async () => {
  await expectThrows('negative seed', () => philoxRawRef({ seed: -1, step: 0 }, 4), /seed = -1 is not a u32/);
  await expectThrows('fractional step', () => randomNormalRef({ seed: 0, step: 1.5 }, 4), /step = 1.5 is not a u32/);
});

test('uniforms are in (0, 1], exact in f32, with 24 random bits', () => {
  expect(philoxUniform(0) === 2 ** -24, `u(0) = ${philoxUniform(0)}`);
  expect(philoxUniform(0xff) === 2 ** -24, 'the low 8 bits are dropped');
  expect(philoxUniform(0x100) === 2 * 2 ** -24, 'bit 8 is the lowest used');
  expect(philoxUniform(0xffffffff) === 1, `u(max) = ${philoxUniform(0xffffffff)}`);
  const r = seeded(3);
  for (let i = 0; i < 10000; i++) {
    const u = philoxUniform(Math.floor(r() * 2 ** 32));
    expect(u > 0 && u <= 1 && Math.fround(u) === u, `u = ${u} is not an f32 in (0, 1]`);
  }
});

test('Box–Muller: radius sqrt(−2 ln u_a), angle π(2u_b − 1) in (−π, π]', () => {
  const [c, s] = boxMuller(0, 0x80000000); // u_a = 2^-24: the largest radius
  expectClose('radius at the smallest uniform', [Math.hypot(c, s)], [Math.sqrt(48 * Math.LN2)], { atol: 0, rtol: 1e-12 });
  const [c1, s1] = boxMuller(0xffffffff, 0x12345678); // u_a = 1: radius 0
  expect(c1 === 0 && Math.abs(s1) === 0, `radius at u = 1 is ${Math.hypot(c1, s1)}`);
  for (const w of [0, 0xff, 0x12345678, 0x80000000, 0xfffffeff, 0xffffffff]) {
    const [a, b] = boxMuller(0x40000000, w);
    const want = Math.PI * (2 * philoxUniform(w) - 1);
    expectClose(`angle for word 0x${w.toString(16)}`, [Math.atan2(b, a)], [want], { atol: 1e-12, rtol: 0 });
  }
});

test('normals: mean 0, variance 1, ±1σ mass, independent lanes (2^18 samples, 5 standard errors)', () => {
  const n = 1 << 18;
  const z = randomNormalRef({ seed: 42, step: 0 }, n);
  let s1 = 0, s2 = 0, s4 = 0, within = 0, lag = 0;
  for (let i = 0; i < n; i++) {
    const v = z[i]!;
    s1 += v;
    s2 += v * v;
    s4 += v ** 4;
    if (Math.abs(v) < 1) within++;
    if (i > 0) lag += v * z[i - 1]!;
  }
  const mean = s1 / n, variance = s2 / n - mean * mean, kurt = s4 / n;
  const se = 1 / Math.sqrt(n);
  expect(Math.abs(mean) < 5 * se, `mean ${mean} (5 SE = ${5 * se})`);
  expect(Math.abs(variance - 1) < 5 * Math.sqrt(2) * se, `variance ${variance}`);
  expect(Math.abs(kurt - 3) < 5 * Math.sqrt(96) * se, `fourth moment ${kurt}`);
  const p = 0.6826894921370859;
  expect(Math.abs(within / n - p) < 5 * Math.sqrt(p * (1 - p)) * se, `P(|z| < 1) = ${within / n}, expected ${p}`);
  expect(Math.abs(lag / (n - 1)) < 5 * se, `lag-1 correlation ${lag / (n - 1)}`);
});

test('randomNormalRef with an offset is the same slice of the stream', () => {
  const key = { seed: 5, step: 9, stream: 1 };
  const all = randomNormalRef(key, 40);
  for (const [off, n] of [[0, 40], [1, 7], [3, 30], [4, 4], [37, 3]] as const) {
    expectClose(`offset ${off} n ${n}`, randomNormalRef(key, n, off), all.subarray(off, off + n), { atol: 0, rtol: 0 });
  }
});
