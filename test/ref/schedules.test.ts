/** KL and learning-rate schedules: values at known steps and parse errors. */
import { test } from 'node:test';
import { klWeight, learningRate, parseKlSchedule, parseLrSchedule } from '../../src/train/schedules.ts';
import { expect, expectClose, expectThrows } from '../support/check.ts';

test('KL schedules give the documented β', () => {
  const lin = parseKlSchedule('linear:100');
  expectClose('linear', [0, 25, 50, 100, 500].map((s) => klWeight(lin, 2, s, 1000)), [0, 0.5, 1, 2, 2], { atol: 1e-12, rtol: 0 });
  const sig = parseKlSchedule('sigmoid:100');
  expectClose('sigmoid midpoint', [klWeight(sig, 1, 50, 1000)], [0.5], { atol: 1e-12, rtol: 0 });
  expect(klWeight(sig, 1, 0, 1000) < 0.01 && klWeight(sig, 1, 100, 1000) > 0.99, 'sigmoid ends near 0 and 1');
  const cyc = parseKlSchedule('cyclical:4:0.5');
  // 1000 steps, 4 cycles of 250: β rises over 125 steps, then holds, then restarts.
  expectClose('cyclical', [0, 62.5, 125, 200, 250, 312.5].map((s) => klWeight(cyc, 1, s, 1000)), [0, 0.5, 1, 1, 0, 0.5], { atol: 1e-12, rtol: 0 });
  expectClose('constant', [klWeight(parseKlSchedule('constant'), 0.7, 123, 1000)], [0.7], { atol: 0, rtol: 0 });
});

test('learning-rate schedules give the documented rates', () => {
  const cos = parseLrSchedule('cosine:10:0.1');
  expectClose('cosine', [0, 9, 10, 1009].map((s) => learningRate(cos, 1, s, 1010)), [0.1, 1, 1, 0.1], { atol: 1e-12, rtol: 0 });
  const st = parseLrSchedule('step:100:0.5');
  expectClose('step', [0, 99, 100, 250].map((s) => learningRate(st, 1, s, 1000)), [1, 1, 0.5, 0.25], { atol: 0, rtol: 0 });
  // 1000 steps, the last 101 decaying: constant through step 898, the cosine's midpoint at 949, lr·min at 999.
  const tail = parseLrSchedule('tail-cosine:101:0.2');
  expectClose('tail-cosine', [0, 898, 899, 949, 999, 1500].map((s) => learningRate(tail, 2, s, 1000)), [2, 2, 2, 1.2, 0.4, 0.4], { atol: 1e-12, rtol: 0 });
  const tail0 = parseLrSchedule('tail-cosine:10');
  expectClose('tail-cosine to 0', [learningRate(tail0, 1, 99, 100)], [0], { atol: 1e-12, rtol: 0 });
  // A decay longer than the run (a recipe's tail with fewer epochs asked) spans the whole run.
  const long = parseLrSchedule('tail-cosine:2000:0.5');
  expectClose('tail-cosine longer than the run', [0, 500, 999].map((s) => learningRate(long, 1, s, 1001)), [1, 0.75, 0.5 + 0.5 * 0.5 * (1 + Math.cos((Math.PI * 999) / 1000))], { atol: 1e-12, rtol: 0 });
});

test('bad schedule strings get errors that say what is expected', async () => {
  await expectThrows('unknown', () => parseKlSchedule('cubic:3'), /unknown KL schedule "cubic:3"; expected constant, linear:<steps>/);
  await expectThrows('no steps', () => parseKlSchedule('linear'), /linear KL schedule steps: got ""; expected an integer ≥ 1/);
  await expectThrows('bad ratio', () => parseKlSchedule('cyclical:4:2'), /ratio: got "2"; expected a number ≥ 0.000001 and ≤ 1/);
  await expectThrows('lr', () => parseLrSchedule('step:10'), /step schedule gamma: got ""/);
  await expectThrows('tail steps', () => parseLrSchedule('tail-cosine:0'), /tail-cosine decay steps: got "0"; expected an integer ≥ 1/);
  await expectThrows('tail min', () => parseLrSchedule('tail-cosine:10:1.5'), /tail-cosine minimum factor: got "1.5"; expected a number ≥ 0 and ≤ 1/);
});
