/** The 2-D view of latent codes: principal directions, and unproject as the inverse of project in the plane. */
import { test } from 'node:test';
import { pca2 } from '../../src/eval/pca.ts';
import { expect, expectClose, seeded } from '../support/check.ts';

test('pca2 finds the directions of largest variance and unproject inverts project on their plane', () => {
  const rnd = seeded(3);
  const n = 400, j = 5;
  // Codes spread mostly along u = (1, 1, 0, 0, 0)/√2 (σ 3) and v = e3 (σ 1.5), with little noise elsewhere.
  const rows = new Float32Array(n * j);
  for (let i = 0; i < n; i++) {
    const a = (rnd() * 2 - 1) * 3 * Math.sqrt(3), b = (rnd() * 2 - 1) * 1.5 * Math.sqrt(3);
    const r = [a / Math.SQRT2 + 1, a / Math.SQRT2 - 2, b + 0.5, 0, 0].map((v) => v + (rnd() - 0.5) * 0.01);
    rows.set(r, i * j);
  }
  const p = pca2(rows, n, j);
  const [c1, c2] = p.components;
  expect(Math.abs(Math.abs(c1[0]!) - Math.SQRT1_2) < 0.01 && Math.abs(Math.abs(c1[1]!) - Math.SQRT1_2) < 0.01, `first direction ${Array.from(c1)}`);
  expect(Math.abs(Math.abs(c2[2]!) - 1) < 0.01, `second direction ${Array.from(c2)}`);
  expectClose('mean', Array.from(p.mean), [1, -2, 0.5, 0, 0], { atol: 0.3, rtol: 0 });
  for (const [x, y] of [[0, 0], [2.5, -1], [-4, 3]] as const) {
    const z = p.unproject(x, y);
    expectClose(`project(unproject(${x}, ${y}))`, p.project(z), [x, y], { atol: 1e-4, rtol: 0 });
  }
});

test('pca2 with a latent of 1 or 2 shows the codes themselves, centred', () => {
  const rows = Float32Array.from([1, 2, 3, 6, 5, 10]);
  const p = pca2(rows, 3, 2);
  expectClose('project', p.project([3, 6]), [0, 0], { atol: 1e-9, rtol: 0 });
  expectClose('unproject', Array.from(p.unproject(1, -1)), [4, 5], { atol: 1e-6, rtol: 0 });
  const q = pca2(Float32Array.from([1, 3]), 2, 1);
  expectClose('1-D', q.project([3]), [1, 0], { atol: 1e-9, rtol: 0 });
  expectClose('1-D unproject', Array.from(q.unproject(-1, 5)), [1], { atol: 1e-6, rtol: 0 });
});
