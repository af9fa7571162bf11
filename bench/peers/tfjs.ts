/**
 * TensorFlow.js peers: the benchmark step with tf.train.adam and
 * optimizer.minimize on the WebGPU backend and on the WASM backend (the
 * binaries served from the page's own origin). NHWC layout, TF.js's own
 * convolution kernels; 'same' padding gives the same shapes as padding 1
 * (and, for the transposed convolutions, output padding 1) at these sizes.
 * The smiles model's GRU runs as a JavaScript loop over its 66 steps
 * (tf.matMul, tf.sigmoid, tf.tanh), differentiated by TF.js's tape.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { initValues, PEER_BATCH, PEER_HIDDEN, PEER_LATENT, peerBatches, SMILES, smilesBatches, type PeerModel, type PeerStep } from './common.ts';
import { reparameterize, smilesLoss } from './tfjs-smiles.ts';

export type TfBackend = 'webgpu' | 'wasm';

let wasmConfigured = false;

/** Selects a TF.js backend, configuring the WASM binaries' URLs (same origin) first. */
export async function useTfBackend(backend: TfBackend): Promise<string> {
  if (backend === 'wasm' && !wasmConfigured) {
    setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
    // Threads need cross-origin isolation (SharedArrayBuffer); without it TF.js uses one.
    setThreadsCount(typeof navigator !== 'undefined' ? Math.max(1, navigator.hardwareConcurrency || 1) : 1);
    wasmConfigured = true;
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js could not start its '${backend}' backend`);
  await tf.ready();
  const detail = backend === 'wasm' ? `, SIMD ${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, threads ${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}` : '';
  return `tfjs ${tf.version.tfjs} ${tf.getBackend()}${detail}`;
}

/**
 * Removes a backend once its runs are done, destroying the WebGPU backend's
 * device, so that nothing of it is left to compete with later measurements.
 */
export function releaseTfBackend(backend: TfBackend): void {
  if (tf.findBackend(backend) === null) return;
  const device = backend === 'webgpu' ? (tf.findBackend('webgpu') as unknown as { device?: GPUDevice }).device : undefined;
  tf.removeBackend(backend);
  device?.destroy();
}

function param(shape: number[], fanIn: number, seed: number): tf.Variable {
  return tf.variable(tf.tensor(initValues(shape.reduce((a, b) => a * b, 1), fanIn, seed), shape));
}

/** Σ over pixels of BCE-with-logits plus KL, averaged over the batch. */
function elbo(logits: tf.Tensor, x: tf.Tensor, mu: tf.Tensor, logvar: tf.Tensor, batch: number): tf.Scalar {
  const bce = tf.relu(logits).sub(logits.mul(x)).add(tf.log1p(tf.exp(tf.neg(tf.abs(logits))))).sum();
  const kl = tf.sum(tf.onesLike(mu).add(logvar).sub(mu.square()).sub(logvar.exp())).mul(-0.5);
  return bce.add(kl).div(batch) as tf.Scalar;
}

/** The step of `model` on the current backend. */
export function tfStep(model: PeerModel): PeerStep {
  const B = PEER_BATCH[model], J = PEER_LATENT, H = PEER_HIDDEN;
  let seed = 1;
  const vars: tf.Variable[] = [];
  const p = (shape: number[], fanIn: number) => {
    const v = param(shape, fanIn, seed++);
    vars.push(v);
    return v;
  };
  if (model === 'smiles') {
    const { steps: T, vocab: V } = SMILES;
    const batches = smilesBatches().map((b) => ({ x: tf.tensor(b.x, [B, T, V]), prev: tf.tensor(b.prev, [B, T, V]), droppable: tf.tensor(b.droppable, [B, T, 1]) }));
    const kept: tf.Tensor[] = [];
    return adamStep(smilesLoss(p, kept), batches, vars, () => [...kept, ...batches.flatMap((b) => [b.x, b.prev, b.droppable])]);
  }
  const xs = peerBatches(model).map((b) => tf.tensor(b, model === 'mlp' ? [B, 784] : [B, 28, 28, 1]));
  let loss: (x: tf.Tensor) => tf.Scalar;
  if (model === 'mlp') {
    const w1 = p([784, H], 784), b1 = p([H], 784);
    const wmu = p([H, J], H), bmu = p([J], H), wlv = p([H, J], H), blv = p([J], H);
    const w3 = p([J, H], J), b3 = p([H], J), w4 = p([H, 784], H), b4 = p([784], H);
    loss = (x) => {
      const h = tf.relu(tf.matMul(x, w1).add(b1));
      const mu = tf.matMul(h, wmu).add(bmu), logvar = tf.matMul(h, wlv).add(blv);
      const z = reparameterize(mu, logvar);
      const logits = tf.matMul(tf.relu(tf.matMul(z, w3).add(b3)), w4).add(b4);
      return elbo(logits, x, mu, logvar, B);
    };
  } else {
    const c1 = p([3, 3, 1, 32], 9), cb1 = p([32], 9), c2 = p([3, 3, 32, 64], 288), cb2 = p([64], 288);
    const F = 64 * 7 * 7;
    const wmu = p([F, J], F), bmu = p([J], F), wlv = p([F, J], F), blv = p([J], F);
    const wd = p([J, F], J), bd = p([F], J);
    // conv2dTranspose filters are [h, w, out, in].
    const d1 = p([3, 3, 32, 64], 288), db1 = p([32], 288), d2 = p([3, 3, 1, 32], 288), db2 = p([1], 288);
    loss = (x) => {
      const h1 = tf.relu(tf.conv2d(x as tf.Tensor4D, c1 as tf.Tensor4D, 2, 'same').add(cb1));
      const h2 = tf.relu(tf.conv2d(h1 as tf.Tensor4D, c2 as tf.Tensor4D, 2, 'same').add(cb2)).reshape([B, F]);
      const mu = tf.matMul(h2, wmu).add(bmu), logvar = tf.matMul(h2, wlv).add(blv);
      const z = reparameterize(mu, logvar);
      const g = tf.relu(tf.matMul(z, wd).add(bd)).reshape([B, 7, 7, 64]) as tf.Tensor4D;
      const g1 = tf.relu(tf.conv2dTranspose(g, d1 as tf.Tensor4D, [B, 14, 14, 32], 2, 'same').add(db1)) as tf.Tensor4D;
      const logits = tf.conv2dTranspose(g1, d2 as tf.Tensor4D, [B, 28, 28, 1], 2, 'same').add(db2);
      return elbo(logits, x, mu, logvar, B);
    };
  }
  return adamStep(loss, xs, vars, () => xs);
}

/** Adam at 1e-3 on `vars`, step i on batch i % 4. */
function adamStep<X>(loss: (x: X) => tf.Scalar, batches: readonly X[], vars: tf.Variable[], data: () => tf.Tensor[]): PeerStep {
  const opt = tf.train.adam(1e-3);
  return {
    step: (i) => opt.minimize(() => loss(batches[i % batches.length]!), true, vars),
    loss: async (h) => {
      const t = h as tf.Scalar;
      const v = (await t.data())[0]!;
      t.dispose();
      return v;
    },
    drop: (h) => (h as tf.Scalar).dispose(),
    dispose: () => {
      opt.dispose();
      for (const v of [...vars, ...data()]) v.dispose();
    },
  };
}
