/**
 * Inference on the GPU with a model's parameter block: encode, decode,
 * reconstruct, sample from the prior, interpolate, traverse a latent
 * dimension, and the per-sample loss terms of a dataset. Programs are
 * compiled once per (part, batch) and reused; inputs are padded to the batch.
 */
import { addLoss } from '../graph/autodiff.ts';
import { buildDecoder, buildEncoder, buildForward } from '../graph/build.ts';
import { numel } from '../graph/ir.ts';
import { ModelTooLargeError } from '../graph/limits.ts';
import { Program } from '../graph/program.ts';
import { randomNormalRef } from '../ref/philox.ts';
import { sigmoid } from '../ref/activation.ts';
import { sampleSize, type Dataset } from '../data/dataset.ts';
import type { ModelSpec } from '../model/spec.ts';

export interface PerSample {
  /** Reconstruction NLL per sample (nats). */
  readonly recon: Float32Array;
  /** KL(q(z|x) || p(z)) per sample. */
  readonly kl: Float32Array;
  /** Posterior means (N, J) and log-variances. */
  readonly mu: Float32Array;
  readonly logvar: Float32Array;
}

export interface DatasetEvaluation {
  /** Means per sample: negative ELBO (recon + KL), reconstruction NLL, KL. */
  readonly loss: number;
  readonly recon: number;
  readonly kl: number;
  readonly elbo: number;
  /** Mean KL per latent dimension. */
  readonly klPerDim: number[];
  /** Variance over the data of each posterior mean. */
  readonly muVariance: number[];
  /** Dimensions whose posterior-mean variance exceeds 0.01 (Burda et al. 2016). */
  readonly activeUnits: number;
  readonly count: number;
}

/** Rows of a dataset as floats (N, D). */
export function datasetRows(ds: Dataset, start = 0, count = ds.count - start): Float32Array {
  const D = sampleSize(ds);
  const out = new Float32Array(count * D);
  if (ds.data instanceof Float32Array) out.set(ds.data.subarray(start * D, (start + count) * D));
  else for (let i = 0; i < count * D; i++) out[i] = ds.data[start * D + i]! / 255;
  return out;
}

export class Inference {
  private readonly programs = new Map<string, Program>();

  constructor(
    readonly device: GPUDevice,
    readonly spec: ModelSpec,
    /** The model's parameter block (see modelLayout). */
    readonly params: GPUBuffer,
    /** Rows per dispatch. */
    readonly batch = 256,
  ) {}

  /** The compiled program of a part at a batch size (made once, kept until destroy). */
  program(part: 'encoder' | 'decoder' | 'loss' | 'loss-mean', batch: number): Program {
    const key = `${part}:${batch}`;
    let p = this.programs.get(key);
    if (!p) {
      const loss = { beta: 1, freeBits: 0, latentL2: 0, seed: 0 };
      const fg = part === 'encoder' ? buildEncoder(this.spec, batch) : part === 'decoder' ? buildDecoder(this.spec, batch) : addLoss(buildForward(this.spec, batch));
      p = new Program(this.device, fg, { params: this.params }, loss, part === 'loss-mean' ? { sample: false } : {});
      this.programs.set(key, p);
    }
    return p;
  }

  /** Runs `part` over n rows of `input` (rowSize floats each) in batches; returns the requested tensors' rows. */
  private async run(part: 'encoder' | 'decoder' | 'loss' | 'loss-mean', input: Float32Array, rowSize: number, outputs: (p: Program) => { t: number; row: number }[], setup?: (p: Program, start: number) => void): Promise<Float32Array[]> {
    const n = input.length / rowSize;
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${part}: ${input.length} values is not a whole number (≥ 1) of rows of ${rowSize}`);
    let B = Math.min(this.batch, n);
    let p: Program;
    for (;;) {
      try {
        p = this.program(part, B);
        break;
      } catch (e) {
        // A batch too large for the adapter's buffer limits: halve it (refused before anything is allocated).
        if (!(e instanceof ModelTooLargeError) || B === 1) throw e;
        B = Math.ceil(B / 2);
      }
    }
    const outs = outputs(p);
    const results = outs.map((o) => new Float32Array(n * o.row));
    for (let start = 0; start < n; start += B) {
      const rows = Math.min(B, n - start);
      const chunk = new Float32Array(B * rowSize);
      chunk.set(input.subarray(start * rowSize, (start + rows) * rowSize));
      this.device.queue.writeBuffer(p.input, 0, chunk);
      setup?.(p, start);
      const enc = this.device.createCommandEncoder({ label: part });
      p.encode(enc);
      this.device.queue.submit([enc.finish()]);
      for (let i = 0; i < outs.length; i++) {
        const v = await p.read(outs[i]!.t);
        results[i]!.set(v.subarray(0, rows * outs[i]!.row), start * outs[i]!.row);
      }
    }
    return results;
  }

  /** Posterior parameters μ and log σ² (N, J) of inputs x (N, D). */
  async encode(x: Float32Array): Promise<{ mu: Float32Array; logvar: Float32Array }> {
    const D = numel(this.spec.input);
    const J = this.spec.latent;
    const [mu, logvar] = await this.run('encoder', x, D, (p) => {
      const fg = p.fg as ReturnType<typeof buildEncoder>;
      return [{ t: fg.mu, row: J }, { t: fg.logvar, row: J }];
    });
    return { mu: mu!, logvar: logvar! };
  }

  /** The decoder's raw output (logits or means) for codes z (N, J). */
  async decodeRaw(z: Float32Array): Promise<Float32Array> {
    const D = numel(this.spec.input);
    const [y] = await this.run('decoder', z, this.spec.latent, (p) => [{ t: (p.fg as ReturnType<typeof buildDecoder>).logits, row: D }]);
    return y!;
  }

  /** The likelihood's mean for codes z: probabilities (Bernoulli, categorical) or means (Gaussian), (N, D). */
  async decode(z: Float32Array): Promise<Float32Array> {
    return this.toMean(await this.decodeRaw(z));
  }

  /** Converts decoder outputs to the likelihood's mean. */
  toMean(y: Float32Array): Float32Array {
    const lk = this.spec.likelihood;
    switch (lk.type) {
      case 'bernoulli':
        return y.map((v) => sigmoid(v));
      case 'gaussian':
        return y;
      case 'categorical': {
        const V = lk.classes;
        const out = new Float32Array(y.length);
        for (let g = 0; g < y.length / V; g++) {
          let m = -Infinity;
          for (let v = 0; v < V; v++) m = Math.max(m, y[g * V + v]!);
          let s = 0;
          for (let v = 0; v < V; v++) s += Math.exp(y[g * V + v]! - m);
          for (let v = 0; v < V; v++) out[g * V + v] = Math.exp(y[g * V + v]! - m) / s;
        }
        return out;
      }
    }
  }

  /** Mean reconstructions of x (decode of the posterior mean). */
  async reconstruct(x: Float32Array): Promise<Float32Array> {
    return this.decode((await this.encode(x)).mu);
  }

  /** n samples from the prior: z ~ N(0, I) from the Philox stream (seed, 0, stream 3), decoded. */
  async samplePrior(n: number, seed: number): Promise<{ z: Float32Array; x: Float32Array }> {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`samplePrior: n = ${n}; expected a positive integer`);
    const z = Float32Array.from(randomNormalRef({ seed, step: 0, stream: 3 }, n * this.spec.latent));
    return { z, x: await this.decode(z) };
  }

  /** Decodes `steps` points on the line between the posterior means of a and b. */
  async interpolate(a: Float32Array, b: Float32Array, steps: number): Promise<Float32Array> {
    const J = this.spec.latent;
    const { mu } = await this.encode(new Float32Array([...a, ...b]));
    const z = new Float32Array(steps * J);
    for (let s = 0; s < steps; s++) {
      const t = steps === 1 ? 0 : s / (steps - 1);
      for (let j = 0; j < J; j++) z[s * J + j] = (1 - t) * mu[j]! + t * mu[J + j]!;
    }
    return this.decode(z);
  }

  /** Decodes the posterior mean of x with dimension `dim` set to each of `values`. */
  async traverse(x: Float32Array, dim: number, values: readonly number[]): Promise<Float32Array> {
    const J = this.spec.latent;
    if (!Number.isInteger(dim) || dim < 0 || dim >= J) throw new Error(`traverse: dimension ${dim} is outside 0..${J - 1}`);
    const { mu } = await this.encode(x);
    const z = new Float32Array(values.length * J);
    values.forEach((v, s) => {
      z.set(mu.subarray(0, J), s * J);
      z[s * J + dim] = v;
    });
    return this.decode(z);
  }

  /**
   * Per-sample reconstruction NLL and KL with one posterior sample each
   * (stream seeded by `seed`), and the posterior parameters. With
   * `sample: false` the reconstruction term is taken at z = μ.
   */
  async perSample(ds: Dataset, seed = 0, opts: { readonly sample?: boolean } = {}): Promise<PerSample> {
    const D = sampleSize(ds);
    const J = this.spec.latent;
    let batchIndex = 0;
    const [recon, kl, mu, logvar] = await this.run(opts.sample === false ? 'loss-mean' : 'loss', datasetRows(ds), D, (p) => {
      const fg = p.fg as ReturnType<typeof addLoss>;
      return [{ t: fg.loss.recon, row: 1 }, { t: fg.loss.kl, row: 1 }, { t: fg.mu, row: J }, { t: fg.logvar, row: J }];
    }, (p) => {
      // The program's seed is fixed when it is compiled; the RNG step names the batch.
      p.setStep((seed * 100003 + batchIndex++) >>> 0, 1);
    });
    return { recon: recon!, kl: kl!, mu: mu!, logvar: logvar! };
  }

  /** ELBO terms over a dataset, per-dimension KL and active units. */
  async evaluate(ds: Dataset, seed = 0): Promise<DatasetEvaluation> {
    const r = await this.perSample(ds, seed);
    return summarize(r, this.spec.latent);
  }

  destroy(): void {
    for (const p of this.programs.values()) p.destroy();
    this.programs.clear();
  }
}

/** Means, per-dimension KL and active units from per-sample results. */
export function summarize(r: PerSample, J: number): DatasetEvaluation {
  const n = r.recon.length;
  let recon = 0, kl = 0;
  for (let i = 0; i < n; i++) {
    recon += r.recon[i]!;
    kl += r.kl[i]!;
  }
  recon /= n;
  kl /= n;
  const klPerDim = new Array<number>(J).fill(0);
  const mean = new Array<number>(J).fill(0);
  const sq = new Array<number>(J).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < J; j++) {
      const m = r.mu[i * J + j]!, lv = r.logvar[i * J + j]!;
      klPerDim[j]! += 0.5 * (m * m + Math.expm1(lv) - lv);
      mean[j]! += m;
      sq[j]! += m * m;
    }
  }
  const muVariance = mean.map((s, j) => sq[j]! / n - (s / n) ** 2);
  return {
    loss: recon + kl, recon, kl, elbo: -(recon + kl),
    klPerDim: klPerDim.map((v) => v / n), muVariance,
    activeUnits: muVariance.filter((v) => v > 0.01).length, count: n,
  };
}

