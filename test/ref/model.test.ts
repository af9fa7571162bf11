/** The float64 whole-model reference: every parameter gradient against central finite differences. */
import { test } from 'node:test';
import { referenceStep, type ReferenceLoss } from '../../src/model/reference.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { checkGradient, randomF32 } from '../support/check.ts';
import { sampleInputs, sampleLabels, seededParams, tinyConditionalMlp, tinyConv, tinyConv1d, tinyCvae, tinyMlp, tinyNormConv, tinyNormMlp, tinyResidualConv, tinyResidualMlp, tinySequenceVae, tinyUpsampleConcat, tinySeq, tinySeqConv } from '../support/models.ts';

function check(name: string, spec: ModelSpec, loss: ReferenceLoss, batch = 3) {
  const params = seededParams(spec, 11, 2);
  const x = sampleInputs(spec, batch, 12);
  const { extra } = sampleLabels(spec, batch, 14, x);
  const eps = Float64Array.from(randomF32(batch * spec.latent, 13, -1.5, 1.5));
  const base = referenceStep(spec, batch, params, x, eps, loss, extra);
  for (const [pname, value] of params) {
    const f = () => referenceStep(spec, batch, params, x, eps, loss, extra).loss;
    checkGradient(`${name}: ${pname}`, f, value, base.grads.get(pname)!, { atol: 1e-6, rtol: 1e-4 }, 24, 1e-6);
  }
}

test('reference model gradients: mlp with each likelihood, β ≠ 1, latent L2', () => {
  check('mlp bernoulli', tinyMlp(), { beta: 0.7, freeBits: 0, latentL2: 0.05 });
  check('mlp gaussian', tinyMlp({ type: 'gaussian', logSigma: -0.5 }), { beta: 1.3, freeBits: 0, latentL2: 0 });
  check('mlp gaussian with a learned σ per feature', tinyMlp({ type: 'gaussian', learnSigma: true }), { beta: 1, freeBits: 0, latentL2: 0 });
  check('mlp categorical', tinyMlp({ type: 'categorical', classes: 4 }), { beta: 1, freeBits: 0, latentL2: 0.1 });
});

test('reference model gradients: free bits on, autoencoder mode', () => {
  // λ between the dimensions' KLs, so some are held and some are not.
  check('mlp free bits', tinyMlp(), { beta: 2, freeBits: 0.05, latentL2: 0 });
  check('mlp autoencoder', tinyMlp({ type: 'bernoulli' }, { autoencoder: true }), { beta: 1, freeBits: 0, latentL2: 0.01 });
});

test('reference model gradients: conv encoder and transposed-conv decoder', () => {
  check('conv bernoulli', tinyConv(), { beta: 0.5, freeBits: 0, latentL2: 0.02 }, 2);
  check('conv gaussian', tinyConv({ type: 'gaussian', logSigma: 0.3 }), { beta: 1, freeBits: 0, latentL2: 0 }, 2);
});

test('reference model gradients: DAGs with skip connections (residual blocks, a broadcast add)', () => {
  check('residual mlp bernoulli', tinyResidualMlp(), { beta: 0.8, freeBits: 0, latentL2: 0.03 });
  check('residual mlp gaussian', tinyResidualMlp({ type: 'gaussian', logSigma: 0.2 }), { beta: 1, freeBits: 0, latentL2: 0 });
  check('residual conv', tinyResidualConv(), { beta: 1, freeBits: 0, latentL2: 0.01 }, 2);
  check('conditional mlp (a label input in the encoder and the decoder)', tinyConditionalMlp(), { beta: 1, freeBits: 0, latentL2: 0 }, 4);
});

test('reference model gradients: conv1d (causal, dilated, strided, padded), upsample + concat of a skip, a conditional VAE', () => {
  check('conv1d gaussian', tinyConv1d(), { beta: 0.9, freeBits: 0, latentL2: 0.02 }, 2);
  check('conv1d bernoulli', tinyConv1d({ type: 'bernoulli' }), { beta: 1, freeBits: 0, latentL2: 0 }, 3);
  check('upsample + concat', tinyUpsampleConcat(), { beta: 1, freeBits: 0, latentL2: 0.01 }, 2);
  check('cvae (concat of a one-hot label to x and z)', tinyCvae(), { beta: 0.8, freeBits: 0, latentL2: 0 }, 4);
});

test('reference model gradients: group and layer norm (on the input, on (B, C), in a residual conv block, over trailing dimensions)', () => {
  check('norm mlp', tinyNormMlp(), { beta: 0.9, freeBits: 0, latentL2: 0.02 });
  check('residual conv block with group norm', tinyNormConv(), { beta: 1, freeBits: 0, latentL2: 0.01 }, 2);
});

test('reference model gradients: embedding and stacked GRU layers (an encoder from zero states, a decoder from h0 = f(z))', () => {
  check('sequence vae', tinySeq(), { beta: 0.9, freeBits: 0, latentL2: 0.02 });
  check('transposed embedding into conv1d, gru decoder from zeros', tinySeqConv(), { beta: 1, freeBits: 0, latentL2: 0 });
});

test('reference model gradients: a sequence VAE (transpose, conv1d, repeat, concat on the last axis, a GRU on the previous tokens, dense at each step)', () => {
  check('sequence vae', tinySequenceVae(), { beta: 1, freeBits: 0, latentL2: 0 }, 3);
});
