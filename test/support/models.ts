/** Small model definitions and seeded parameters for whole-model tests. */
import { buildForward } from '../../src/graph/build.ts';
import { mlpPreset, type LikelihoodSpec, type ModelSpec } from '../../src/model/spec.ts';
import { seeded } from './check.ts';

export function tinyMlp(likelihood: LikelihoodSpec = { type: 'bernoulli' }, extra: Partial<ModelSpec> = {}): ModelSpec {
  return { ...mlpPreset({ hidden: 7, latent: 3, likelihood }, 12), ...extra };
}

/** The conv preset's structure at 8×8 with few channels. */
export function tinyConv(likelihood: LikelihoodSpec = { type: 'bernoulli' }): ModelSpec {
  return {
    input: [1, 8, 8],
    latent: 3,
    encoder: [
      { type: 'conv2d', name: 'enc.conv1', out: 3, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
      { type: 'conv2d', name: 'enc.conv2', out: 4, kernel: 3, stride: 2, padding: 1, activation: 'elu' },
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.fc_mu', logvar: 'enc.fc_logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 4 * 2 * 2, activation: 'gelu' },
      { type: 'reshape', shape: [4, 2, 2] },
      { type: 'conv_transpose2d', name: 'dec.deconv1', out: 3, kernel: 3, stride: 2, padding: 1, outputPadding: 1, activation: 'tanh' },
      { type: 'conv_transpose2d', name: 'dec.deconv2', out: 1, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
    ],
    likelihood,
  };
}

/** Parameters drawn U(-bound, bound) as PyTorch's default init, seeded; keyed by state_dict name. */
export function seededParams(spec: ModelSpec, seed: number, scale = 1): Map<string, Float64Array> {
  const r = seeded(seed);
  const fg = buildForward(spec, 1);
  const out = new Map<string, Float64Array>();
  for (const p of fg.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    out.set(p.name, Float64Array.from({ length: n }, () => Math.fround((2 * r() - 1) * p.initBound * scale)));
  }
  return out;
}

/** A batch of inputs suited to the likelihood: probabilities, reals, or one-hot groups. */
export function sampleInputs(spec: ModelSpec, batch: number, seed: number): Float64Array {
  const r = seeded(seed);
  const D = spec.input.reduce((a, b) => a * b, 1);
  const x = new Float64Array(batch * D);
  const lk = spec.likelihood;
  if (lk.type === 'categorical') {
    for (let g = 0; g < (batch * D) / lk.classes; g++) x[g * lk.classes + Math.floor(r() * lk.classes)] = 1;
  } else {
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(lk.type === 'bernoulli' ? r() : 2 * r() - 1);
  }
  return x;
}
