/**
 * Optimizer updates on the GPU against the float64 references over several
 * steps (one call per optimizer, advanced with setStep as a training loop
 * does): Adam, Adam with L2, AdamW, SGD plain / momentum with dampening /
 * nesterov, gradient scaling, the global-norm clip computed on the GPU, and
 * skipping a step whose gradient holds NaN or Inf.
 *
 * Tolerances: the GPU keeps param, m and v in f32 and the reference in
 * float64, from the same f32 gradients and initial values. One step rounds
 * each of them a few times (relative 2⁻²⁴ each); Adam's update
 * m̂ / (√v̂ + eps) is a ratio of such values, so its relative error stays
 * near 1e-6 and the parameter error near lr·1e-6 + a few ULP of p. rtol 4e-6
 * with atol 4e-7 (param, m) and 1e-10 (v ≈ 1e-3·g², so checked relatively)
 * hold over three steps with a margin of about 10 on SwiftShader (worst seen:
 * 11% of the tolerance, param at lr = 0.1, step 3).
 */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import { adam, clipGradNorm, clipScale, GRAD_CTL_LENGTH, sgd, type AdamOptions, type OptimizerCall, type SgdOptions } from '../../src/kernels/optim.ts';
import { fill, sumSquaresPartials } from '../../src/kernels/reduce.ts';
import { adamStepRef, clipScaleRef, sgdStepRef, type AdamRefOptions } from '../../src/ref/optim.ts';
import { sumSquaresRef } from '../../src/ref/reduce.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

const TOL_P = { atol: 4e-7, rtol: 4e-6 };
const TOL_V = { atol: 1e-10, rtol: 4e-6 };
const STEPS = 3;

async function submit(device: GPUDevice, what: string, calls: readonly KernelCall[]): Promise<void> {
  await gpuScope(device, what, async () => submitCalls(device, calls));
}

function destroyAll(device: GPUDevice, bufs: readonly (GPUBuffer | undefined)[], calls: readonly KernelCall[] = []): void {
  for (const c of calls) c.destroy();
  for (const b of bufs) if (b) destroyBuffer(device, b);
}

type AdamCase = Omit<AdamOptions, 'n' | 'step'> & { readonly gradScale?: number };

/** STEPS Adam updates of n parameters on the GPU and in float64; compares param, m, v after each. */
async function checkAdam(device: GPUDevice, n: number, o: AdamCase, seed: number): Promise<Float32Array> {
  const what = `${o.decoupled ? 'adamw' : 'adam'} n=${n} lr=${o.lr} wd=${o.weightDecay ?? 0}${o.gradScale !== undefined ? ` gradScale=${o.gradScale}` : ''}`;
  const p0 = randomF32(n, seed, -1, 1);
  const grads = Array.from({ length: STEPS }, (_, t) => randomF32(n, seed + 1 + t, -1, 1));
  const ref = { param: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
  const gp = uploadF32(device, p0), gg = createBuffer(device, n * 4), gm = uploadF32(device, new Float32Array(n)), gv = uploadF32(device, new Float32Array(n));
  const gs = o.gradScale !== undefined ? uploadF32(device, [o.gradScale, 0, 0, 0]) : undefined;
  let call: OptimizerCall | undefined;
  try {
    const { gradScale, ...opts } = o;
    call = adam(device, { param: gp, grad: gg, m: gm, v: gv, ...(gs ? { gradScale: gs } : {}) }, { ...opts, n, step: 1 });
    for (let t = 1; t <= STEPS; t++) {
      device.queue.writeBuffer(gg, 0, new Float32Array(grads[t - 1]!));
      call.setStep(t);
      await submit(device, `${what} step ${t}`, [call]);
      const refOpts: AdamRefOptions = { ...opts, step: t, ...(gradScale !== undefined ? { gradScale } : {}) };
      adamStepRef(ref, grads[t - 1]!, refOpts);
      expectClose(`${what} step ${t}: param`, await readF32(device, gp, n), ref.param, TOL_P);
      expectClose(`${what} step ${t}: m`, await readF32(device, gm, n), ref.m, TOL_P);
      expectClose(`${what} step ${t}: v`, await readF32(device, gv, n), ref.v, TOL_V);
    }
    return await readF32(device, gp, n);
  } finally {
    destroyAll(device, [gp, gg, gm, gv, gs], call ? [call] : []);
  }
}

type SgdCase = Omit<SgdOptions, 'n' | 'step'>;

async function checkSgd(device: GPUDevice, n: number, o: SgdCase, seed: number): Promise<void> {
  const what = `sgd n=${n} lr=${o.lr} momentum=${o.momentum ?? 0} dampening=${o.dampening ?? 0} nesterov=${!!o.nesterov} wd=${o.weightDecay ?? 0}`;
  const p0 = randomF32(n, seed, -1, 1);
  const grads = Array.from({ length: STEPS }, (_, t) => randomF32(n, seed + 1 + t, -1, 1));
  const hasMomentum = (o.momentum ?? 0) !== 0;
  const ref = { param: Float64Array.from(p0), momentum: hasMomentum ? new Float64Array(n) : null };
  // The momentum buffer starts as garbage: step 1 must overwrite it (buf = g), not read it.
  const gp = uploadF32(device, p0), gg = createBuffer(device, n * 4), gb = hasMomentum ? uploadF32(device, randomF32(n, seed + 99, 50, 60)) : undefined;
  let call: OptimizerCall | undefined;
  try {
    call = sgd(device, { param: gp, grad: gg, ...(gb ? { momentum: gb } : {}) }, { ...o, n, step: 1 });
    for (let t = 1; t <= STEPS; t++) {
      device.queue.writeBuffer(gg, 0, new Float32Array(grads[t - 1]!));
      call.setStep(t);
      await submit(device, `${what} step ${t}`, [call]);
      sgdStepRef(ref, grads[t - 1]!, { ...o, step: t });
      expectClose(`${what} step ${t}: param`, await readF32(device, gp, n), ref.param, TOL_P);
      if (gb) expectClose(`${what} step ${t}: momentum buffer`, await readF32(device, gb, n), ref.momentum!, TOL_P);
    }
  } finally {
    destroyAll(device, [gp, gg, gb], call ? [call] : []);
  }
}

/** Reads the 4-float control block [scale, norm, skip, skips]. */
async function readCtl(device: GPUDevice, ctl: GPUBuffer) {
  const [scale, norm, skip, skips] = await readF32(device, ctl, GRAD_CTL_LENGTH);
  return { scale: scale!, norm: norm!, skip: skip!, skips: skips! };
}

export const optimCases: GpuCase[] = [
  {
    name: 'optim: Adam over 3 steps for n = 1, 1000, 100003, 100004 (scalar and vec4 kernels), with a learning-rate change',
    async run(device) {
      await checkAdam(device, 1, { lr: 0.1 }, 1);
      await checkAdam(device, 1000, { lr: 1e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6 }, 10);
      await checkAdam(device, 100003, { lr: 1e-3 }, 20);
      await checkAdam(device, 100004, { lr: 1e-3 }, 25);
      // n = 1000 and 100004 ran the vec4 kernel (sixteen parameters per invocation), n = 1 and 100003 the scalar one.
      for (const [k, vec4] of [[1000, true], [1001, false]] as const) {
        const b = [0, 1, 2, 3].map(() => createBuffer(device, 1004 * 4));
        const c = adam(device, { param: b[0]!, grad: b[1]!, m: b[2]!, v: b[3]! }, { n: k, lr: 0.1, step: 1 });
        try {
          expect(c.label.endsWith('[vec4]') === vec4, `adam n=${k}: label '${c.label}' ${vec4 ? 'should' : 'should not'} name the vec4 kernel`);
        } finally {
          destroyAll(device, b, [c]);
        }
      }
      // setStep(t, lr) changes the learning rate too (a schedule): compare with the reference at the new rate.
      const n = 777;
      const p0 = randomF32(n, 30), g = randomF32(n, 31);
      const gp = uploadF32(device, p0), gg = uploadF32(device, g), gm = uploadF32(device, new Float32Array(n)), gv = uploadF32(device, new Float32Array(n));
      const call = adam(device, { param: gp, grad: gg, m: gm, v: gv }, { n, lr: 0.5, step: 1 });
      try {
        call.setStep(1, 0.01);
        await submit(device, 'adam lr change', [call]);
        const ref = { param: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
        adamStepRef(ref, g, { lr: 0.01, step: 1 });
        expectClose('adam after setStep(1, 0.01): param', await readF32(device, gp, n), ref.param, TOL_P);
      } finally {
        destroyAll(device, [gp, gg, gm, gv], [call]);
      }
    },
  },
  {
    name: 'optim: Adam with L2 weight decay and AdamW (decoupled) each match PyTorch semantics and differ',
    async run(device) {
      const n = 1000;
      const l2 = await checkAdam(device, n, { lr: 0.01, weightDecay: 0.1 }, 40);
      const w = await checkAdam(device, n, { lr: 0.01, weightDecay: 0.1, decoupled: true }, 40);
      const plain = await checkAdam(device, n, { lr: 0.01 }, 40);
      // Same data and seed: the three must move apart by clearly more than the tolerance.
      let dW = 0, dL2 = 0;
      for (let i = 0; i < n; i++) {
        dW = Math.max(dW, Math.abs(w[i]! - l2[i]!));
        dL2 = Math.max(dL2, Math.abs(l2[i]! - plain[i]!));
      }
      expect(dW > 1e-4 && dL2 > 1e-4, `AdamW and Adam(L2) should differ (max |diff| ${dW}), as should Adam(L2) and Adam (${dL2})`);
      await checkAdam(device, 100003, { lr: 1e-3, weightDecay: 0.01, decoupled: true }, 50);
    },
  },
  {
    name: 'optim: SGD plain, momentum with dampening and weight decay, nesterov, over 3 steps',
    async run(device) {
      await checkSgd(device, 1000, { lr: 0.1 }, 60);
      await checkSgd(device, 1, { lr: 0.1, momentum: 0.9 }, 70);
      await checkSgd(device, 1000, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }, 80);
      await checkSgd(device, 100003, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }, 90);
    },
  },
  {
    name: 'optim: a gradient scale buffer multiplies the gradient before weight decay',
    async run(device) {
      await checkAdam(device, 1000, { lr: 0.01, weightDecay: 0.1, gradScale: 0.25 }, 100);
    },
  },
  {
    name: 'optim: clipGradNorm on the GPU feeds Adam its clip factor (torch.nn.utils.clip_grad_norm_)',
    async run(device) {
      const n = 100003;
      const p0 = randomF32(n, 110);
      const grad = randomF32(n, 111, -3, 3); // norm ≈ √(n·3) ≈ 548
      const maxNorm = 5;
      const gp = uploadF32(device, p0), gg = uploadF32(device, grad), gm = uploadF32(device, new Float32Array(n)), gv = uploadF32(device, new Float32Array(n));
      const gpart = createBuffer(device, sumSquaresPartials(n) * 4), gss = createBuffer(device, 4), gctl = uploadF32(device, new Float32Array(GRAD_CTL_LENGTH));
      const calls: KernelCall[] = [];
      try {
        calls.push(...clipGradNorm(device, { grad: gg, partials: gpart, ss: gss, ctl: gctl }, { n, maxNorm }));
        calls.push(adam(device, { param: gp, grad: gg, m: gm, v: gv, gradScale: gctl }, { n, lr: 1e-3, step: 1, skipNonFinite: true }));
        await submit(device, 'clip + adam', calls);
        const clip = clipScaleRef(sumSquaresRef(grad), maxNorm);
        const ctl = await readCtl(device, gctl);
        expectClose('clip: norm, scale', [ctl.norm, ctl.scale], [clip.norm, clip.scale], { atol: 0, rtol: 2e-6 });
        expect(ctl.skip === 0 && ctl.skips === 0, `finite gradient flagged as skipped: ${JSON.stringify(ctl)}`);
        const ref = { param: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
        adamStepRef(ref, grad, { lr: 1e-3, step: 1, gradScale: clip.scale });
        expectClose('clip + adam: param', await readF32(device, gp, n), ref.param, TOL_P);
        expectClose('clip + adam: m', await readF32(device, gm, n), ref.m, TOL_P);
        expectClose('clip + adam: v', await readF32(device, gv, n), ref.v, { atol: 1e-12, rtol: 1e-5 }); // the clip factor's own f32 error (~1e-6) enters v squared
        // Under the limit the factor is exactly 1; maxNorm 0 disables clipping.
        for (const [mn, want] of [[1e4, 1], [0, 1]] as const) {
          const c = clipScale(device, { ss: gss, ctl: gctl }, { maxNorm: mn });
          calls.push(c);
          await submit(device, `clipScale maxNorm=${mn}`, [c]);
          const r = await readCtl(device, gctl);
          expect(r.scale === want, `clipScale maxNorm=${mn}: scale ${r.scale}, expected ${want}`);
        }
      } finally {
        destroyAll(device, [gp, gg, gm, gv, gpart, gss, gctl], calls);
      }
    },
  },
  {
    name: 'optim: a NaN or Inf gradient is flagged by clipScale and the Adam and SGD steps are skipped',
    async run(device) {
      const n = 5000;
      const p0 = randomF32(n, 120), m0 = randomF32(n, 121), v0 = randomF32(n, 122, 0, 1);
      const gp = uploadF32(device, p0), gm = uploadF32(device, m0), gv = uploadF32(device, v0), gg = createBuffer(device, n * 4);
      const gpart = createBuffer(device, sumSquaresPartials(n) * 4), gss = createBuffer(device, 4), gctl = createBuffer(device, GRAD_CTL_LENGTH * 4);
      const calls: KernelCall[] = [];
      try {
        const zero = fill(device, { x: gctl }, { n: GRAD_CTL_LENGTH, value: 0 });
        calls.push(zero);
        await submit(device, 'zero ctl', [zero]);
        const clip = clipGradNorm(device, { grad: gg, partials: gpart, ss: gss, ctl: gctl }, { n, maxNorm: 1 });
        const ad = adam(device, { param: gp, grad: gg, m: gm, v: gv, gradScale: gctl }, { n, lr: 0.1, step: 2, skipNonFinite: true });
        const sg = sgd(device, { param: gp, grad: gg, momentum: gm, gradScale: gctl }, { n, lr: 0.1, momentum: 0.9, step: 2, skipNonFinite: true });
        calls.push(...clip, ad, sg);
        let expectedSkips = 0;
        for (const bad of [NaN, Infinity, -Infinity]) {
          const g = randomF32(n, 123);
          g[1234] = bad;
          device.queue.writeBuffer(gg, 0, new Float32Array(g));
          await submit(device, `step with a ${bad} gradient`, [...clip, ad, sg]);
          expectedSkips++;
          const ctl = await readCtl(device, gctl);
          expect(ctl.skip === 1 && ctl.scale === 0 && ctl.skips === expectedSkips, `gradient with ${bad}: control block ${JSON.stringify(ctl)}, expected skip 1, scale 0, skips ${expectedSkips}`);
          expectClose(`${bad} gradient: param untouched`, await readF32(device, gp, n), p0, { atol: 0, rtol: 0 });
          expectClose(`${bad} gradient: m untouched`, await readF32(device, gm, n), m0, { atol: 0, rtol: 0 });
          expectClose(`${bad} gradient: v untouched`, await readF32(device, gv, n), v0, { atol: 0, rtol: 0 });
        }
        // A finite gradient afterwards clears the flag and the update runs again.
        device.queue.writeBuffer(gg, 0, new Float32Array(randomF32(n, 124)));
        await submit(device, 'finite step after skips', [...clip, ad]);
        const ctl = await readCtl(device, gctl);
        expect(ctl.skip === 0 && ctl.skips === expectedSkips && ctl.scale > 0 && ctl.scale <= 1, `finite gradient: control block ${JSON.stringify(ctl)}`);
        const p = await readF32(device, gp, n);
        expect(p.some((v, i) => v !== p0[i]), 'a finite gradient did not update the parameters');
      } finally {
        destroyAll(device, [gp, gm, gv, gg, gpart, gss, gctl], calls);
      }
    },
  },
  {
    name: 'optim: bad hyperparameters and missing buffers are refused with clear errors',
    async run(device) {
      const buf = createBuffer(device, 64);
      try {
        const b = { param: buf, grad: buf, m: buf, v: buf };
        await expectThrows('step 0', () => adam(device, b, { n: 4, lr: 0.1, step: 0 }), /step = 0; expected a 1-based integer/);
        await expectThrows('beta1 = 1', () => adam(device, b, { n: 4, lr: 0.1, step: 1, beta1: 1 }), /beta1 = 1; expected 0 ≤ beta1 < 1/);
        await expectThrows('n = 0', () => adam(device, b, { n: 0, lr: 0.1, step: 1 }), /n = 0; expected a positive integer/);
        await expectThrows('short m', () => adam(device, b, { n: 17, lr: 0.1, step: 1 }), /buffer 'param' holds 64 bytes; expected at least 68/);
        await expectThrows('skip without gradScale', () => adam(device, b, { n: 4, lr: 0.1, step: 1, skipNonFinite: true }), /skipNonFinite reads the skip flag/);
        await expectThrows('nesterov with dampening', () => sgd(device, { param: buf, grad: buf, momentum: buf }, { n: 4, lr: 0.1, step: 1, momentum: 0.9, dampening: 0.5, nesterov: true }), /nesterov needs momentum > 0 and dampening = 0/);
        await expectThrows('momentum without buffer', () => sgd(device, { param: buf, grad: buf }, { n: 4, lr: 0.1, step: 1, momentum: 0.9 }), /buffer 'momentum' is required/);
        await expectThrows('infinite maxNorm', () => clipScale(device, { ss: buf, ctl: buf }, { maxNorm: Infinity }), /maxNorm must be finite/);
      } finally {
        destroyBuffer(device, buf);
      }
    },
  },
];
