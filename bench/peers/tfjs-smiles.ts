/**
 * The smiles model in TensorFlow.js core ops (bench/peers/common.ts): the
 * loss of one batch, for tfStep to minimize on any backend.
 */
import * as tf from '@tensorflow/tfjs';
import { SPECIAL_IDS } from '../../src/data/tokens.ts';
import { PEER_BATCH, SMILES, WORD_DROPOUT } from './common.ts';

/** z = μ + σ·ε. */
export function reparameterize(mu: tf.Tensor, logvar: tf.Tensor): tf.Tensor {
  return mu.add(tf.exp(logvar.mul(0.5)).mul(tf.randomNormal(mu.shape)));
}

/**
 * The smiles model's loss on one batch (common.ts): NWC layout (tf.conv1d),
 * so the flattened encoder features are in (step, channel) order, a
 * permutation of ours that changes nothing else. The GRU's input product of
 * all steps (previous token and z) is one matMul before the loop; each step
 * multiplies h by the recurrent weights.
 */
export function smilesLoss(p: (shape: number[], fanIn: number) => tf.Variable, keep: tf.Tensor[]): (b: { x: tf.Tensor; prev: tf.Tensor; droppable: tf.Tensor }) => tf.Scalar {
  const B = PEER_BATCH.smiles, { steps: T, vocab: V, latent: J, hidden: H, encoderHidden: E } = SMILES;
  const L3 = T - 8 - 8 - 10, F = 10 * L3;
  const c1 = p([9, V, 9], 9 * V), cb1 = p([9], 9 * V), c2 = p([9, 9, 9], 81), cb2 = p([9], 81), c3 = p([11, 9, 10], 99), cb3 = p([10], 99);
  const wfc = p([F, E], F), bfc = p([E], F), wmu = p([E, J], E), bmu = p([J], E), wlv = p([E, J], E), blv = p([J], E);
  const wh0 = p([J, H], J), bh0 = p([H], J);
  // The GRU's input weights split by input (previous token, z): the same product as on their concatenation.
  const wip = p([V, 3 * H], H), wiz = p([J, 3 * H], H), bi = p([3 * H], H), whh = p([H, 3 * H], H), bhh = p([3 * H], H);
  const wo = p([H, V], H), bo = p([V], H);
  const unk = tf.tidy(() => tf.oneHot(tf.tensor1d([SPECIAL_IDS.unk], 'int32'), V).reshape([1, 1, V]));
  keep.push(unk);
  return ({ x, prev, droppable }) => {
    const h1 = tf.relu(tf.conv1d(x as tf.Tensor3D, c1 as tf.Tensor3D, 1, 'valid').add(cb1)) as tf.Tensor3D;
    const h2 = tf.relu(tf.conv1d(h1, c2 as tf.Tensor3D, 1, 'valid').add(cb2)) as tf.Tensor3D;
    const h3 = tf.relu(tf.conv1d(h2, c3 as tf.Tensor3D, 1, 'valid').add(cb3)).reshape([B, F]);
    const e = tf.relu(tf.matMul(h3, wfc).add(bfc));
    const mu = tf.matMul(e, wmu).add(bmu), logvar = tf.matMul(e, wlv).add(blv);
    const z = reparameterize(mu, logvar);
    // Word dropout: a droppable previous token becomes UNK with probability WORD_DROPOUT.
    const drop = droppable.mul(tf.less(tf.randomUniform([B, T, 1]), WORD_DROPOUT).toFloat());
    const prevIn = prev.add(drop.mul(unk.sub(prev)));
    const gi = tf.matMul(prevIn.reshape([B * T, V]), wip).reshape([B, T, 3 * H]).add(tf.matMul(z, wiz).add(bi).reshape([B, 1, 3 * H]));
    const giSteps = tf.split(gi, T, 1);
    let h = tf.tanh(tf.matMul(z, wh0).add(bh0));
    const hs: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const [ir, iz, inn] = tf.split(giSteps[t]!.reshape([B, 3 * H]), 3, 1);
      const [hr, hz, hn] = tf.split(tf.matMul(h, whh).add(bhh), 3, 1);
      const r = tf.sigmoid(ir!.add(hr!)), u = tf.sigmoid(iz!.add(hz!));
      const n = tf.tanh(inn!.add(r.mul(hn!)));
      h = n.add(u.mul(h.sub(n)));
      hs.push(h);
    }
    const logits = tf.matMul(tf.stack(hs, 1).reshape([B * T, H]), wo).add(bo);
    const recon = tf.neg(tf.sum(x.reshape([B * T, V]).mul(tf.logSoftmax(logits))));
    const kl = tf.sum(tf.onesLike(mu).add(logvar).sub(mu.square()).sub(logvar.exp())).mul(-0.5);
    return recon.add(kl).div(B) as tf.Scalar;
  };
}
