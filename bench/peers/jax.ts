/**
 * The jax-js peer: the benchmark step as one jit-compiled function (loss,
 * valueAndGrad, Adam) on jax-js's WebGPU backend, NCHW like ours. jax-js
 * counts references: every array passed to a function is consumed, so values
 * used twice are passed as `.ref`.
 */
import { defaultDevice, getWebGPUDevice, init, jit, lax, nn, numpy as np, random, tree, valueAndGrad } from '@jax-js/jax';
import { initValues, PEER_BATCH, PEER_HIDDEN, PEER_LATENT, peerBatches, type PeerModel, type PeerStep } from './common.ts';

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

function initParams(model: PeerModel): Params {
  const J = PEER_LATENT, H = PEER_HIDDEN;
  let seed = 1;
  const p = (shape: number[], fanIn: number) => param(shape, fanIn, seed++);
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
  const lossFn = model === 'mlp' ? mlpLoss : convLoss;
  const xs = peerBatches(model).map((b) => np.array(b).reshape(model === 'mlp' ? [B, 784] : [B, 1, 28, 28]));
  let params = initParams(model);
  let m = tree.map((a: np.Array) => np.zerosLike(a), tree.ref(params)) as Params;
  let v = tree.map((a: np.Array) => np.zerosLike(a), tree.ref(params)) as Params;
  const update = jit((p: Params, m0: Params, v0: Params, x: np.Array, key: np.Array, lrt: np.Array) => {
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
      const [loss, p1, m1, v1] = update(params, m, v, xs[i % xs.length]!.ref, random.key(t), lrt) as unknown as [np.Array, Params, Params, Params];
      params = p1;
      m = m1;
      v = v1;
      return loss;
    },
    loss: async (h) => (await (h as np.Array).data())[0]!,
    drop: (h) => (h as np.Array).dispose(),
    dispose: () => {
      update.dispose?.();
      tree.dispose([params, m, v, xs]);
    },
  };
}
