/**
 * The importance-weighted negative log-likelihood (Burda et al. 2016) of a
 * dataset, on the GPU: K posterior samples per input in chunks that fit in
 * memory (K = 5000 included), decoded in batches, with the log-sum-exp kept
 * on the GPU across chunks (shaders/iw.wgsl).
 */
import { createBuffer, destroyBuffer, readF32, STORAGE, uploadU32 } from '../gpu/buffers.ts';
import { modelLayout, type buildDecoder, type buildEncoder } from '../graph/build.ts';
import { gather } from '../kernels/data.ts';
import { elboRecon } from '../kernels/elbo.ts';
import { checkTokenIndices } from '../kernels/embedding.ts';
import { iwAccumulate, iwSample } from '../kernels/iw.ts';
import { encodeCalls, type KernelCall } from '../gpu/dispatch.ts';
import { inputSize, subset, type Dataset } from '../data/dataset.ts';
import { oneHotLabels, previousTokenRows } from '../data/model-inputs.ts';
import { SPECIAL_IDS } from '../data/tokens.ts';
import type { Program } from '../graph/program.ts';
import { datasetRows, type Inference } from './inference.ts';

/** Inputs per chunk and samples per chunk: nx·kc ≤ maxRows, kc divides k. */
export function iwChunking(k: number, maxRows: number): { nx: number; kc: number } {
  if (!Number.isInteger(k) || k <= 0) throw new Error(`iw-samples: expected a positive integer, got ${k}`);
  if (k <= maxRows) return { nx: Math.max(1, Math.floor(maxRows / k)), kc: k };
  let kc = maxRows;
  while (k % kc !== 0) kc--;
  return { nx: 1, kc };
}

/**
 * Per-sample log p(x) estimates with k importance samples; the noise of chunk
 * c of input batch b is the Philox stream (seed, b·(k/kc) + c, 4).
 */
export async function iwLogLikelihood(inf: Inference, ds: Dataset, k: number, seed: number, maxRows = 512): Promise<Float64Array> {
  const device = inf.device;
  const spec = inf.spec;
  const D = inputSize(ds);
  const J = spec.latent;
  const { nx, kc } = iwChunking(k, maxRows);
  const R = nx * kc;
  const enc = inf.program('encoder', nx);
  const dec = inf.program('decoder', R);
  const encG = enc.fg as ReturnType<typeof buildEncoder>;
  const decG = dec.fg as ReturnType<typeof buildDecoder>;
  const order = uploadU32(device, Array.from({ length: R }, (_, r) => Math.floor(r / kc)), 'iw order');
  const mk = (floats: number, label: string) => createBuffer(device, floats * 4, STORAGE, label);
  const lk = spec.likelihood;
  const learnedSigma = lk.type === 'gaussian' && !!lk.learnSigma;
  const bufs: Record<string, GPUBuffer> = {
    xrep: mk(R * D, 'iw x'), recon: mk(R, 'iw recon'), dlogits: mk(R * D, 'iw dlogits'), lw: mk(R, 'iw lw'), state: mk(2 * nx, 'iw state'),
    // The kernel writes the gradient of a learned log σ too; IW needs only the NLL.
    ...(learnedSigma ? { dlogSigma: mk(R * D, 'iw dlog sigma') } : {}),
  };
  const calls: KernelCall[] = [];
  try {
    const o = { nx, k: kc, latent: J, seed, step: 0 };
    const rep = gather(device, { data: enc.input, order, x: bufs.xrep }, { batch: R, features: D, count: nx, dtype: 'f32' });
    const sample = iwSample(device, { mu: enc.place(encG.mu), logvar: enc.place(encG.logvar), z: dec.input, lw: bufs.lw }, o);
    // A learned log σ lives in the parameter block with the model's other parameters.
    const learned = learnedSigma ? { buffer: inf.params, offset: modelLayout(spec).names.get('log_sigma')! * 4, size: D * 4 } : null;
    const recon = elboRecon(device, {
      logits: dec.place(decG.logits), x: bufs.xrep, recon: bufs.recon, dlogits: bufs.dlogits,
      ...(learned ? { logSigma: learned, dlogSigma: bufs.dlogSigma! } : {}),
    }, {
      batch: R, features: D, likelihood: lk.type,
      ...(lk.type === 'categorical' ? { groups: D / lk.classes } : {}),
      ...(lk.type === 'gaussian' ? (learned ? { logSigmaPerFeature: true } : { logSigma: lk.logSigma ?? 0 }) : {}),
    });
    const acc = iwAccumulate(device, { recon: bufs.recon, lw: bufs.lw, state: bufs.state }, { ...o, first: true });
    calls.push(rep, sample, recon, acc);
    const tokens = enc.tokenInputs.get('x');
    if (tokens) checkTokenIndices(datasetRows(ds, 0, ds.count), tokens.vocab, `${ds.name} (token indices of ${tokens.layers.join(', ')})`, D);
    const out = new Float64Array(ds.count);
    const chunks = k / kc;
    let step = 0;
    for (let start = 0; start < ds.count; start += nx) {
      const rows = Math.min(nx, ds.count - start);
      const x = new Float32Array(nx * D);
      x.set(datasetRows(ds, start, rows));
      device.queue.writeBuffer(enc.input, 0, x);
      writeExtras(device, spec, enc, ds, start, rows, nx, 1);
      writeExtras(device, spec, dec, ds, start, rows, nx, kc);
      for (let c = 0; c < chunks; c++) {
        sample.setParams({ step: step++ });
        acc.setParams({ first: c === 0 ? 1 : 0 });
        const e = device.createCommandEncoder({ label: 'iw chunk' });
        encodeCalls(e, [...(c === 0 ? [...enc.calls(), rep] : []), sample, ...dec.calls(), recon, acc]);
        device.queue.submit([e.finish()]);
      }
      const st = await readF32(device, bufs.state, 2 * nx);
      for (let i = 0; i < rows; i++) out[start + i] = st[2 * i]! + Math.log(st[2 * i + 1]!) - Math.log(k);
    }
    return out;
  } finally {
    for (const c of calls) c.destroy();
    destroyBuffer(device, order);
    for (const b of Object.values(bufs)) destroyBuffer(device, b);
  }
}

/**
 * The extra inputs of `p` for samples start..start+rows of `ds`, every row
 * repeated `repeat` times (the decoder's K samples of one input), padded to
 * nx inputs: a label's one-hot class, or the previous tokens of a sequence.
 */
function writeExtras(device: GPUDevice, spec: Inference['spec'], p: Program, ds: Dataset, start: number, rows: number, nx: number, repeat: number): void {
  for (const [name, buffer] of p.inputs) {
    const e = spec.extraInputs?.[name];
    if (!e) continue;
    const one = e.type === 'label' ? oneHotLabels(subsetRows(ds, start, rows), e.classes, name) : previousOf(ds, start, rows, spec);
    const width = one.length / rows;
    const v = new Float32Array(nx * repeat * width);
    for (let i = 0; i < rows; i++) for (let r = 0; r < repeat; r++) v.set(one.subarray(i * width, (i + 1) * width), (i * repeat + r) * width);
    device.queue.writeBuffer(buffer, 0, v);
  }
}

function subsetRows(ds: Dataset, start: number, rows: number): Dataset {
  return subset(ds, Uint32Array.from({ length: rows }, (_, i) => start + i));
}

function previousOf(ds: Dataset, start: number, rows: number, spec: Inference['spec']): Float32Array {
  const [T, V] = spec.input as [number, number];
  return previousTokenRows(datasetRows(ds, start, rows), rows, T, V, SPECIAL_IDS);
}

/** Mean IW-NLL (nats per sample) of a dataset with k importance samples. */
export async function iwNll(inf: Inference, ds: Dataset, k: number, seed: number, maxRows = 512): Promise<number> {
  const lp = await iwLogLikelihood(inf, ds, k, seed, maxRows);
  return -lp.reduce((a, b) => a + b, 0) / lp.length;
}
