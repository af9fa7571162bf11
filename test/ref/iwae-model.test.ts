/**
 * The float64 whole-model reference of an importance-weighted training step
 * (src/model/reference.ts running the graph buildTraining makes for
 * `iwae:K` through the op references):
 * - its loss is −(1/B) Σ_b log (1/K) Σ_k w_bk computed independently, from
 *   the ELBO graph run on the B·K repeated rows with the same ε;
 * - for IWAE, every parameter gradient is the gradient of that loss
 *   (central finite differences), for an mlp, a conv model, a conditional
 *   mlp and a sequence VAE (extra inputs repeated for the K samples) and a
 *   learned per-feature σ;
 * - for DReG (an estimator, not the gradient of the bound) the decoder's
 *   gradients are IWAE's and the encoder's are those of its surrogate
 *   −(1/B) Σ_bk stop(w̃_bk²) log w_bk(z_bk(φ)) with q's parameters held in
 *   log q (Tucker et al. 2019, eq. 5), by finite differences;
 * - the encoder runs once per input: its nodes are at batch B, the decoder's at B·K;
 * - K samples too many for the adapter's buffer limits are refused naming the largest K that fits.
 */
import { test } from 'node:test';
import { buildTraining } from '../../src/graph/autodiff.ts';
import { buildEncoder } from '../../src/graph/build.ts';
import { checkPlanFits, checkSamplesFit, ModelTooLargeError } from '../../src/graph/limits.ts';
import { referenceStep, type ReferenceLoss } from '../../src/model/reference.ts';
import { mlpPreset, type ModelSpec } from '../../src/model/spec.ts';
import { elboReconRef } from '../../src/ref/elbo.ts';
import { checkGradient, expect, expectClose, expectThrows, randomF32 } from '../support/check.ts';
import { sampleInputs, sampleLabels, seededParams, tinyConditionalMlp, tinyConv, tinyMlp, tinySequenceVae } from '../support/models.ts';

type Values = ReadonlyMap<string, ArrayLike<number>>;

function repeatRows(x: ArrayLike<number>, batch: number, k: number): Float64Array {
  const d = x.length / batch;
  return Float64Array.from({ length: batch * k * d }, (_, i) => x[Math.floor(Math.floor(i / d) / k) * d + (i % d)]!);
}

function setup(spec: ModelSpec, batch: number, k: number, seed: number) {
  const params = seededParams(spec, seed, 2);
  const x = sampleInputs(spec, batch, seed + 1);
  const { extra } = sampleLabels(spec, batch, seed + 2, x);
  const eps = Float64Array.from(randomF32(batch * k * spec.latent, seed + 3, -1.5, 1.5));
  return { params, x, extra, eps };
}

/**
 * log w (B·K) of each sample, from the ELBO graph at batch B·K on the repeated
 * rows (encoder values repeated, z = μ + σ ε, the decoder on each z), with log q
 * evaluated at `q` (μ, log σ² per row; default: the rows' own).
 */
function logWeights(spec: ModelSpec, batch: number, k: number, params: Values, x: ArrayLike<number>, extra: Values, eps: Float64Array, q?: { mu: Float64Array; logvar: Float64Array }) {
  const rows = batch * k, J = spec.latent, D = x.length / batch;
  const rx = repeatRows(x, batch, k);
  const rextra = new Map([...extra].map(([n, v]) => [n, repeatRows(v, batch, k)]));
  const f = referenceStep(spec, rows, params, rx, eps, { beta: 1, freeBits: 0, latentL2: 0 }, rextra);
  const lk = spec.likelihood;
  const logSigma = lk.type === 'gaussian' && lk.learnSigma ? Float64Array.from({ length: rows * D }, (_, i) => params.get('log_sigma')![i % D]!) : null;
  const { recon } = elboReconRef(f.logits, rx, {
    batch: rows, features: D, likelihood: lk.type,
    ...(lk.type === 'categorical' ? { groups: D / lk.classes } : {}),
    ...(lk.type === 'gaussian' && !lk.learnSigma ? { logSigma: lk.logSigma ?? 0 } : {}),
  }, logSigma);
  const qm = q?.mu ?? f.mu, ql = q?.logvar ?? f.logvar;
  const logw = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let lp = 0;
    for (let j = 0; j < J; j++) {
      const i = r * J + j, z = f.z[i]!;
      // log p(z) − log q(z|x), the ½ log 2π terms cancel.
      lp += -0.5 * z * z + 0.5 * ((z - qm[i]!) ** 2 * Math.exp(-ql[i]!) + ql[i]!);
    }
    logw[r] = lp - recon[r]!;
  }
  return { logw, mu: f.mu, logvar: f.logvar };
}

function boundLoss(logw: Float64Array, batch: number, k: number): number {
  let s = 0;
  for (let b = 0; b < batch; b++) {
    const m = Math.max(...logw.subarray(b * k, b * k + k));
    let e = 0;
    for (let i = 0; i < k; i++) e += Math.exp(logw[b * k + i]! - m);
    s += m + Math.log(e / k);
  }
  return -s / batch;
}

function checkIwae(name: string, spec: ModelSpec, batch: number, k: number, seed = 21) {
  const { params, x, extra, eps } = setup(spec, batch, k, seed);
  const loss: ReferenceLoss = { beta: 1, freeBits: 0, latentL2: 0, objective: { kind: 'iwae', k, dreg: false } };
  const base = referenceStep(spec, batch, params, x, eps, loss, extra);
  const direct = boundLoss(logWeights(spec, batch, k, params, x, extra, eps).logw, batch, k);
  expect(Math.abs(base.loss - direct) <= 1e-10 * Math.abs(direct), `${name}: reference loss ${base.loss}, the bound computed directly ${direct}`);
  for (const [pname, value] of params) {
    const f = () => referenceStep(spec, batch, params, x, eps, loss, extra).loss;
    checkGradient(`${name}: ${pname}`, f, value as Float64Array, base.grads.get(pname)!, { atol: 1e-6, rtol: 1e-4 }, 24, 1e-6);
  }
}

test('IWAE step reference: the loss is the bound, every parameter gradient its gradient (mlp, each likelihood, K = 1, 4, 7)', () => {
  checkIwae('mlp bernoulli K=4', tinyMlp(), 3, 4);
  checkIwae('mlp bernoulli K=1', tinyMlp(), 3, 1);
  checkIwae('mlp gaussian K=7', tinyMlp({ type: 'gaussian', logSigma: -0.3 }), 2, 7);
  checkIwae('mlp gaussian with a learned σ per feature K=3', tinyMlp({ type: 'gaussian', learnSigma: true }), 2, 3);
  checkIwae('mlp categorical K=3', tinyMlp({ type: 'categorical', classes: 4 }), 2, 3);
});

test('IWAE step reference: conv decoder at B·K rows, extra inputs repeated for the K samples (labels, previous tokens)', () => {
  checkIwae('conv K=3', tinyConv(), 2, 3);
  checkIwae('conditional mlp K=4', tinyConditionalMlp(), 3, 4);
  checkIwae('sequence vae K=3', tinySequenceVae(), 2, 3);
});

test('DReG step reference: decoder gradients are IWAE\'s; encoder gradients are those of the DReG surrogate', () => {
  for (const [name, spec, batch, k] of [['mlp', tinyMlp(), 3, 5], ['conditional mlp', tinyConditionalMlp(), 2, 4]] as const) {
    const { params, x, extra, eps } = setup(spec, batch, k, 31);
    const iwae = referenceStep(spec, batch, params, x, eps, { beta: 1, freeBits: 0, latentL2: 0, objective: { kind: 'iwae', k, dreg: false } }, extra);
    const dreg = referenceStep(spec, batch, params, x, eps, { beta: 1, freeBits: 0, latentL2: 0, objective: { kind: 'iwae', k, dreg: true } }, extra);
    expect(dreg.loss === iwae.loss, `${name}: the DReG step reports the same bound (${dreg.loss} vs ${iwae.loss})`);
    const encoder = new Set(buildEncoder(spec, 1).params.map((p) => p.name));
    // The surrogate's weights and log q's parameters at the current encoder, held fixed.
    const at = logWeights(spec, batch, k, params, x, extra, eps);
    const w2 = new Float64Array(batch * k);
    for (let b = 0; b < batch; b++) {
      const lw = at.logw.subarray(b * k, b * k + k);
      const m = Math.max(...lw);
      const e = Array.from(lw, (v) => Math.exp(v - m));
      const s = e.reduce((a, c) => a + c, 0);
      e.forEach((v, i) => (w2[b * k + i] = (v / s) ** 2));
    }
    const q = { mu: at.mu, logvar: at.logvar };
    const surrogate = () => {
      const { logw } = logWeights(spec, batch, k, params, x, extra, eps, q);
      return -logw.reduce((a, v, r) => a + w2[r]! * v, 0) / batch;
    };
    let encoderDiffers = false;
    for (const [pname, value] of params) {
      const g = dreg.grads.get(pname)!;
      if (encoder.has(pname)) {
        checkGradient(`${name} DReG encoder ${pname}`, surrogate, value as Float64Array, g, { atol: 1e-6, rtol: 1e-4 }, 24, 1e-6);
        encoderDiffers ||= g.some((v, i) => Math.abs(v - iwae.grads.get(pname)![i]!) > 1e-6);
      } else {
        expectClose(`${name} DReG decoder ${pname} equals IWAE's`, g, iwae.grads.get(pname)!, { atol: 0, rtol: 0 });
      }
    }
    expect(encoderDiffers, `${name}: the DReG encoder gradients equal IWAE's: the estimator is not in effect`);
  }
});

test('IWAE graph: the encoder runs once on the B inputs, the decoder on the B·K samples', () => {
  const spec = tinyMlp();
  const tg = buildTraining(spec, 3, undefined, { kind: 'iwae', k: 5, dreg: false });
  const rows = (label: string) => tg.graph.shape(tg.graph.nodes.find((n) => n.label === label)!.outs.y!)[0];
  expect(tg.graph.nodes.filter((n) => n.label === 'fc1 forward').length === 1 && rows('fc1 forward') === 3, `fc1 runs once at batch 3: ${rows('fc1 forward')}`);
  expect(rows('fc3 forward') === 15 && rows('fc4 forward') === 15, `decoder at 15 rows: ${rows('fc3 forward')}, ${rows('fc4 forward')}`);
  expect(tg.graph.shape(tg.x)[0] === 3, 'the batch input has B rows');
});

test('IWAE limits: K samples that do not fit the adapter are refused naming the largest K that fits at this batch', async () => {
  const spec = mlpPreset();
  const limits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 2 ** 30 };
  const graph = (k: number) => buildTraining(spec, 128, undefined, { kind: 'iwae', k, dreg: false });
  const fits = (k: number) => {
    try {
      checkPlanFits(limits, graph(k), 'training');
      return true;
    } catch (e) {
      if (e instanceof ModelTooLargeError) return false;
      throw e;
    }
  };
  let message = '';
  try {
    checkSamplesFit(limits, graph(1000), 'training', graph);
  } catch (e) {
    expect(e instanceof ModelTooLargeError, `${(e as Error).name}: ${(e as Error).message}`);
    message = (e as Error).message;
  }
  const m = /^training: 1000 samples per input do not fit this GPU at batch 128: the decoder runs on B·K = 128000 rows and '[^']+' needs \d+ bytes \([\d.]+ MiB\), above the adapter's maxStorageBufferBindingSize \(134217728 bytes, 128\.0 MiB\); at most K = (\d+) fits at batch 128, or K = 1000 at a batch of at most (\d+)$/.exec(message);
  expect(m !== null, `message: ${message}`);
  const k = Number(m![1]), b = Number(m![2]);
  expect(fits(k) && !fits(k + 1), `K = ${k} is named as the largest that fits: fits(${k}) = ${fits(k)}, fits(${k + 1}) = ${fits(k + 1)}`);
  expect(!message.includes('\n'), 'one line');
  checkPlanFits(limits, buildTraining(spec, b, undefined, { kind: 'iwae', k: 1000, dreg: false }), 'training');
  checkSamplesFit(limits, graph(k), 'training', graph);
  // One sample per input that does not fit either: the batch is what is too large.
  await expectThrows('K = 1 does not fit', () => checkSamplesFit({ maxStorageBufferBindingSize: 2 ** 16, maxBufferSize: 2 ** 30 }, buildTraining(spec, 128, undefined, { kind: 'iwae', k: 5, dreg: false }), 'training', graph), /^training: the model is too large for this GPU/);
});
