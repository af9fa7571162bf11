/**
 * The float64 activation reference (src/ref/activation.ts): every derivative
 * against central finite differences, PyTorch's conventions at the kinks, and
 * the TypeScript activation enum against the WGSL codes.
 */
import { test } from 'node:test';
import { ACTIVATIONS, activationCode, GRAD_FROM_OUTPUT, type Activation } from '../../src/kernels/activation-codes.ts';
import { actForward, actGrad } from '../../src/ref/activation.ts';
import { WGSL_SOURCES } from '../../src/shaders/sources.ts';
import { checkGradient, expect, expectClose, randomF32 } from '../support/check.ts';

// Points away from the kinks at 0 (relu, leaky_relu, elu) and 20 (softplus's
// switch to the identity) by more than the step h = 1e-5, so central
// differences are smooth there: 0±, the large-|x| tails, both sides of the
// softplus threshold and of the point where safe_tanh saturates (15).
const POINTS = [
  -30, -20.01, -15.1, -10, -5, -3, -1.7, -1, -0.5, -0.1, -1e-3, 1e-3, 0.1, 0.5, 1, 1.7, 3, 5, 10, 14.9, 15.1,
  19.9, 19.99, 20.01, 20.1, 25, 30,
];

function checkAct(act: Activation, alpha?: number) {
  const x = Float64Array.from(POINTS);
  // A random weight per point, so a wrong derivative cannot cancel out in the sum.
  const w = Float64Array.from(randomF32(x.length, 17, 0.5, 1.5));
  const loss = () => x.reduce((s, xi, i) => s + w[i]! * actForward(act, xi, alpha), 0);
  const grad = Array.from(x, (xi, i) => w[i]! * actGrad(act, xi, alpha));
  checkGradient(`actGrad ${act}${alpha !== undefined ? ` alpha=${alpha}` : ''}`, loss, x, grad, { atol: 1e-7, rtol: 1e-6 }, POINTS.length);
}

test('actGrad matches central finite differences for every activation, at 0±, large |x| and near the softplus threshold', () => {
  for (const act of ACTIVATIONS) checkAct(act);
  checkAct('leaky_relu', 0.2);
  checkAct('elu', 0.5);
  checkAct('elu', 2);
});

test('activation reference: known values and PyTorch conventions at the kinks', () => {
  const tol = { atol: 1e-15, rtol: 1e-12 };
  // gelu (tanh form) at 1: 0.5·(1 + tanh(sqrt(2/π)·1.044715));
  // torch.nn.functional.gelu(torch.tensor(1., dtype=torch.float64), approximate='tanh') = 0.8411919906082768
  expectClose('gelu(1)', [actForward('gelu', 1)], [0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715))], tol);
  expectClose('gelu(1) vs PyTorch', [actForward('gelu', 1)], [0.8411919906082768], { atol: 1e-15, rtol: 0 });
  expectClose('silu(2)', [actForward('silu', 2)], [2 / (1 + Math.exp(-2))], tol);
  expectClose('softplus(-3)', [actForward('softplus', -3)], [Math.log(1 + Math.exp(-3))], tol);
  expectClose('softplus(25) is the identity', [actForward('softplus', 25)], [25], { atol: 0, rtol: 0 });
  expectClose('elu(-1)', [actForward('elu', -1)], [Math.exp(-1) - 1], tol);
  expectClose('leaky_relu(-2)', [actForward('leaky_relu', -2)], [-0.02], tol);
  // At x = 0 PyTorch's backward takes the x ≤ 0 branch: relu' = 0, leaky_relu' = alpha, elu' = alpha.
  expect(actGrad('relu', 0) === 0, `relu'(0) = ${actGrad('relu', 0)}, expected 0`);
  expect(actGrad('leaky_relu', 0) === 0.01, `leaky_relu'(0) = ${actGrad('leaky_relu', 0)}, expected 0.01`);
  expect(actGrad('elu', 0) === 1, `elu'(0) = ${actGrad('elu', 0)}, expected alpha = 1`);
  expect(actGrad('elu', 0, 0.5) === 0.5, `elu'(0; alpha 0.5) = ${actGrad('elu', 0, 0.5)}, expected 0.5`);
  // Saturated tails stay finite.
  for (const act of ACTIVATIONS) {
    for (const x of [-1e4, -88, 88, 1e4]) {
      expect(Number.isFinite(actForward(act, x)) && Number.isFinite(actGrad(act, x)), `${act} at ${x} is not finite`);
    }
  }
});

test('the derivative from the output agrees with the derivative from the input (GRAD_FROM_OUTPUT)', () => {
  // The formulas of act_grad_from_output in activation_fns.wgsl, in float64.
  const fromOutput: Partial<Record<Activation, (y: number, alpha: number) => number>> = {
    identity: () => 1,
    relu: (y) => (y > 0 ? 1 : 0),
    leaky_relu: (y, a) => (y > 0 ? 1 : a),
    elu: (y, a) => (y > 0 ? 1 : y + a),
    tanh: (y) => 1 - y * y,
    sigmoid: (y) => y * (1 - y),
  };
  expect(
    [...GRAD_FROM_OUTPUT].sort().join() === Object.keys(fromOutput).sort().join(),
    `GRAD_FROM_OUTPUT is {${[...GRAD_FROM_OUTPUT].join(', ')}}; this test covers {${Object.keys(fromOutput).join(', ')}}`,
  );
  for (const act of GRAD_FROM_OUTPUT) {
    const alpha = act === 'leaky_relu' ? 0.01 : 1;
    const x = POINTS.filter((p) => Math.abs(p) < 15);
    const got = x.map((xi) => fromOutput[act]!(actForward(act, xi, alpha), alpha));
    expectClose(`${act}: f'(x) from y = f(x)`, got, x.map((xi) => actGrad(act, xi, alpha)), { atol: 1e-12, rtol: 1e-9 });
  }
});

test('the activation enum in src/kernels/activation-codes.ts matches the ACT_* codes of activation_fns.wgsl', () => {
  const src = WGSL_SOURCES['activation_fns'];
  expect(src !== undefined, 'activation_fns.wgsl is not embedded');
  const codes = new Map<string, number>();
  for (const m of src!.matchAll(/^const ACT_([A-Z_]+)\s*:\s*u32\s*=\s*(\d+)u?\s*;/gm)) codes.set(m[1]!.toLowerCase(), Number(m[2]));
  expect(codes.size === ACTIVATIONS.length, `activation_fns.wgsl declares ${codes.size} ACT_* codes (${[...codes.keys()].join(', ')}); TypeScript has ${ACTIVATIONS.length}`);
  for (const act of ACTIVATIONS) {
    const code = codes.get(act);
    expect(code === activationCode(act), `activation '${act}': WGSL code ${code}, TypeScript code ${activationCode(act)}`);
  }
});
