/**
 * The jax-js peer: the benchmark step as one jit-compiled function (loss,
 * valueAndGrad, Adam) on jax-js's WebGPU backend, NCHW like ours. jax-js
 * counts references: every array passed to a function is consumed, so values
 * used twice are passed as `.ref`. The smiles model's GRU is a JavaScript loop
 * over its 66 steps, unrolled into the traced function.
 */
import { defaultDevice, DType, getWebGPUDevice, init, jit, lax, nn, numpy as np, random, tree, valueAndGrad } from '@jax-js/jax';
import { SPECIAL_IDS } from '../../src/data/tokens.ts';
import { initValues, PEER_BATCH, PEER_HIDDEN, PEER_LATENT, peerBatches, SMILES, smilesBatches, WORD_DROPOUT, type PeerModel, type PeerStep } from './common.ts';

type Params = Record<string, np.Array>;

/** Starts jax-js's WebGPU backend (its own device on the same adapter). */
export async function useJaxWebGpu(): Promise<string> {
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error('jax-js found no WebGPU device');
  defaultDevice('webgpu');
  return 'jax-js webgpu';
}

/** Destroys jax-js's WebGPU device once its runs are done (jax-js is not used again in the page). */
export function releaseJaxWebGpu(): void {
  getWebGPUDevice().destroy();
}

const B1 = 0.9, B2 = 0.999, EPS = 1e-8, LR = 1e-3;

function param(shape: number[], fanIn: number, seed: number): np.Array {
  return np.array(initValues(shape.reduce((a, b) => a * b, 1), fanIn, seed)).reshape(shape);
}

/** Σ over pixels of BCE-with-logits plus KL, averaged over the batch (consumes its arguments). */
function elbo(logits: np.Array, x: np.Array, mu: np.Array, logvar: np.Array, batch: number): np.Array {
  const bce = nn.softplus(logits.ref).sub(logits.mul(x)).sum();
  const kl = logvar.ref.add(1).sub(np.square(mu)).sub(np.exp(logvar)).sum().mul(-0.5);
  return bce.add(kl).div(batch);
}

function latent(mu: np.Array, logvar: np.Array, key: np.Array): np.Array {
  const eps = random.normal(key, mu.shape as number[]);
  return mu.add(np.exp(logvar.mul(0.5)).mul(eps));
}

function mlpLoss(p: Params, x: np.Array, key: np.Array): np.Array {
  const B = PEER_BATCH.mlp;
  const h = nn.relu(np.matmul(x.ref, p.w1!).add(p.b1!));
  const mu = np.matmul(h.ref, p.wmu!).add(p.bmu!);
  const logvar = np.matmul(h, p.wlv!).add(p.blv!);
  const z = latent(mu.ref, logvar.ref, key);
  const logits = np.matmul(nn.relu(np.matmul(z, p.w3!).add(p.b3!)), p.w4!).add(p.b4!);
  return elbo(logits, x, mu, logvar, B);
}

const chan = (b: np.Array) => b.reshape([-1, 1, 1]);
const PAD1: [number, number][] = [[1, 1], [1, 1]];
// jax-js's convTranspose pads the dilated input by k-1-p on each side; PyTorch's padding 1 with output
// padding 1 pads it by (k-1-1, k-1-1+1) = (1, 2), so p = (1, 0).
const PADT: [number, number][] = [[1, 0], [1, 0]];

function convLoss(p: Params, x: np.Array, key: np.Array): np.Array {
  const B = PEER_BATCH.conv;
  const h1 = nn.relu(lax.conv(x.ref, p.c1!, [2, 2], PAD1).add(chan(p.cb1!)));
  const h2 = nn.relu(lax.conv(h1, p.c2!, [2, 2], PAD1).add(chan(p.cb2!))).reshape([B, 64 * 7 * 7]);
  const mu = np.matmul(h2.ref, p.wmu!).add(p.bmu!);
  const logvar = np.matmul(h2, p.wlv!).add(p.blv!);
  const z = latent(mu.ref, logvar.ref, key);
  const g = nn.relu(np.matmul(z, p.wd!).add(p.bd!)).reshape([B, 64, 7, 7]);
  const g1 = nn.relu(lax.convTranspose(g, p.d1!, [2, 2], PADT).add(chan(p.db1!)));
  const logits = lax.convTranspose(g1, p.d2!, [2, 2], PADT).add(chan(p.db2!));
  return elbo(logits, x, mu, logvar, B);
}

/** The smiles model's inputs besides the parameters: a batch (common.ts), UNK's one-hot row [1, 1, V], and the keys of ε and of word dropout. */
interface SmilesIn {
  x: np.Array;
  prev: np.Array;
  droppable: np.Array;
  unk: np.Array;
  dropKey: np.Array;
}

/** The smiles model's loss (bench/peers/common.ts), NCW like ours; the GRU's input product of all steps is one matmul before the loop. */
function smilesLoss(p: Params, d: SmilesIn, key: np.Array): np.Array {
  const B = PEER_BATCH.smiles, { steps: T, vocab: V, hidden: H } = SMILES;
  const F = 10 * (T - 26);
  const { x, prev, droppable, unk, dropKey } = d;
  const h1 = nn.relu(lax.conv(np.transpose(x.ref, [0, 2, 1]), p.c1!, [1], 'VALID').add(p.cb1!.reshape([-1, 1])));
  const h2 = nn.relu(lax.conv(h1, p.c2!, [1], 'VALID').add(p.cb2!.reshape([-1, 1])));
  const h3 = nn.relu(lax.conv(h2, p.c3!, [1], 'VALID').add(p.cb3!.reshape([-1, 1]))).reshape([B, F]);
  const e = nn.relu(np.matmul(h3, p.wfc!).add(p.bfc!));
  const mu = np.matmul(e.ref, p.wmu!).add(p.bmu!);
  const logvar = np.matmul(e, p.wlv!).add(p.blv!);
  const z = latent(mu.ref, logvar.ref, key);
  // Word dropout: a droppable previous token becomes UNK with probability WORD_DROPOUT.
  const drop = droppable.mul(np.astype(random.bernoulli(dropKey, WORD_DROPOUT, [B, T, 1]), DType.Float32));
  const prevIn = prev.ref.add(drop.mul(unk.sub(prev)));
  const gi = np.matmul(prevIn.reshape([B * T, V]), p.wip!).reshape([B, T, 3 * H]).add(np.matmul(z.ref, p.wiz!).add(p.bi!).reshape([B, 1, 3 * H]));
  const giSteps = np.split(gi, T, 1);
  let h = np.tanh(np.matmul(z, p.wh0!).add(p.bh0!));
  const whh = p.whh!, bhh = p.bhh!;
  const hs: np.Array[] = [];
  for (let t = 0; t < T; t++) {
    const [ir, iz, inn] = np.split(giSteps[t]!.reshape([B, 3 * H]), 3, 1);
    const [hr, hz, hn] = np.split(np.matmul(h.ref, whh.ref).add(bhh.ref), 3, 1);
    const r = nn.sigmoid(ir!.add(hr!)), u = nn.sigmoid(iz!.add(hz!));
    const n = np.tanh(inn!.add(r.mul(hn!)));
    h = n.ref.add(u.mul(h.sub(n)));
    hs.push(h.ref);
  }
  h.dispose();
  whh.dispose();
  bhh.dispose();
  const logits = np.matmul(np.stack(hs, 1).reshape([B * T, H]), p.wo!).add(p.bo!);
  const recon = x.reshape([B * T, V]).mul(nn.logSoftmax(logits, -1)).sum().mul(-1);
  const kl = logvar.ref.add(1).sub(np.square(mu)).sub(np.exp(logvar)).sum().mul(-0.5);
  return recon.add(kl).div(B);
}

function initParams(model: PeerModel): Params {
  const J = PEER_LATENT, H = PEER_HIDDEN;
  let seed = 1;
  const p = (shape: number[], fanIn: number) => param(shape, fanIn, seed++);
  if (model === 'smiles') {
    // The same values as the TF.js peer's, drawn in the same order; conv kernels [out, in, k], the GRU's input weights split by input.
    const { vocab: V, latent: L, hidden: G, encoderHidden: E } = SMILES;
    const F = 10 * (SMILES.steps - 26);
    return {
      c1: p([9, V, 9], 9 * V), cb1: p([9], 9 * V), c2: p([9, 9, 9], 81), cb2: p([9], 81), c3: p([10, 9, 11], 99), cb3: p([10], 99),
      wfc: p([F, E], F), bfc: p([E], F), wmu: p([E, L], E), bmu: p([L], E), wlv: p([E, L], E), blv: p([L], E), wh0: p([L, G], L), bh0: p([G], L),
      wip: p([V, 3 * G], G), wiz: p([L, 3 * G], G), bi: p([3 * G], G), whh: p([G, 3 * G], G), bhh: p([3 * G], G), wo: p([G, V], G), bo: p([V], G),
    };
  }
  if (model === 'mlp') {
    return {
      w1: p([784, H], 784), b1: p([H], 784), wmu: p([H, J], H), bmu: p([J], H), wlv: p([H, J], H), blv: p([J], H),
      w3: p([J, H], J), b3: p([H], J), w4: p([H, 784], H), b4: p([784], H),
    };
  }
  const F = 64 * 7 * 7;
  // Kernels are [out, in, kh, kw]; convTranspose (without transposeKernel) takes them the same way.
  return {
    c1: p([32, 1, 3, 3], 9), cb1: p([32], 9), c2: p([64, 32, 3, 3], 288), cb2: p([64], 288),
    wmu: p([F, J], F), bmu: p([J], F), wlv: p([F, J], F), blv: p([J], F), wd: p([J, F], J), bd: p([F], J),
    d1: p([32, 64, 3, 3], 288), db1: p([32], 288), d2: p([1, 32, 3, 3], 288), db2: p([1], 288),
  };
}

/** The jit-compiled step of `model` on jax-js's default device. */
export function jaxStep(model: PeerModel): PeerStep {
  const B = PEER_BATCH[model];
  type Data = np.Array | SmilesIn;
  const lossFn = (model === 'mlp' ? mlpLoss : model === 'conv' ? convLoss : smilesLoss) as (p: Params, x: Data, key: np.Array) => np.Array;
  const { steps: T, vocab: V } = SMILES;
  const xs: Data[] = model === 'smiles'
    ? smilesBatches().map((b) => ({ x: np.array(b.x).reshape([B, T, V]), prev: np.array(b.prev).reshape([B, T, V]), droppable: np.array(b.droppable).reshape([B, T, 1]) }) as SmilesIn)
    : peerBatches(model).map((b) => np.array(b).reshape(model === 'mlp' ? [B, 784] : [B, 1, 28, 28]));
  const unkRow = new Float32Array(V);
  unkRow[SPECIAL_IDS.unk] = 1;
  const unk = np.array(unkRow).reshape([1, 1, V]);
  // A batch for step t (its own word-dropout key for the smiles model).
  const data = (i: number, t: number): Data => {
    const d = xs[i % xs.length]!;
    return d instanceof np.Array ? d.ref : { ...(tree.ref(d) as SmilesIn), unk: unk.ref, dropKey: random.key(1_000_000 + t) };
  };
  let params = initParams(model);
  let m = tree.map((a: np.Array) => np.zerosLike(a), tree.ref(params)) as Params;
  let v = tree.map((a: np.Array) => np.zerosLike(a), tree.ref(params)) as Params;
  const update = jit((p: Params, m0: Params, v0: Params, x: Data, key: np.Array, lrt: np.Array) => {
    const [loss, g] = valueAndGrad(lossFn)(tree.ref(p), x, key) as [np.Array, Params];
    const p1: Params = {}, m1: Params = {}, v1: Params = {};
    for (const k of Object.keys(p)) {
      const gk = g[k]!;
      const mk = m0[k]!.mul(B1).add(gk.ref.mul(1 - B1));
      const vk = v0[k]!.mul(B2).add(np.square(gk).mul(1 - B2));
      p1[k] = p[k]!.sub(lrt.ref.mul(mk.ref).div(np.sqrt(vk.ref).add(EPS)));
      m1[k] = mk;
      v1[k] = vk;
    }
    lrt.dispose();
    return [loss, p1, m1, v1];
  });
  return {
    step: (i) => {
      const t = i + 1;
      const lrt = np.array(LR * Math.sqrt(1 - B2 ** t) / (1 - B1 ** t));
      const [loss, p1, m1, v1] = update(params, m, v, data(i, t), random.key(t), lrt) as unknown as [np.Array, Params, Params, Params];
      params = p1;
      m = m1;
      v = v1;
      return loss;
    },
    loss: async (h) => (await (h as np.Array).data())[0]!,
    drop: (h) => (h as np.Array).dispose(),
    dispose: () => {
      update.dispose?.();
      tree.dispose([params, m, v, xs, unk]);
    },
  };
}
