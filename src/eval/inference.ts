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
import { inputSize, sampleSize, type Dataset } from '../data/dataset.ts';
import { oneHotTokens, previousTokenRows } from '../data/model-inputs.ts';
import { SPECIAL_IDS } from '../data/tokens.ts';
import type { ModelSpec } from '../model/spec.ts';
import { checkTokenIndices } from '../kernels/embedding.ts';

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

/** Rows of a dataset as the model sees them (N, D): floats, or one-hot rows for token sequences. */
export function datasetRows(ds: Dataset, start = 0, count = ds.count - start): Float32Array {
  const D = sampleSize(ds);
  if (ds.tokens) return oneHotTokens((ds.data as Float32Array).subarray(start * D, (start + count) * D), count, D, ds.tokens.vocab, ds.tokens.ids.pad);
  const out = new Float32Array(count * D);
  if (ds.data instanceof Float32Array) out.set(ds.data.subarray(start * D, (start + count) * D));
  else for (let i = 0; i < count * D; i++) out[i] = ds.data[start * D + i]! / 255;
  return out;
}

/** What a run needs besides its main input: a class per row (conditional models), the previous tokens (a sequence model's decoder). */
interface RowOptions {
  readonly labels?: ArrayLike<number> | undefined;
  readonly previous?: Float32Array | undefined;
}

/** The compiled parts of a model inference runs. */
export type Part = 'encoder' | 'decoder' | 'loss' | 'loss-mean';

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
  program(part: Part, batch: number): Program {
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

  /**
   * The values of the part's extra inputs for n rows: a label input gets the
   * one-hot of `labels` (a class per row), which a conditioned model requires;
   * previous tokens come from x (the rows of the encoder or the loss) or, for
   * the decoder alone, from `previous`.
   */
  private extraRows(p: Program, o: RowOptions, n: number, input: Float32Array): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const fromX = p.fg.graph.name(p.fg.input) === 'x';
    for (const name of p.inputs.keys()) {
      if (name === 'x' || name === 'z') continue;
      const e = this.spec.extraInputs?.[name];
      if (!e) throw new Error(`inference: the model's input '${name}' is not an extra input of its definition`);
      if (e.type === 'previous-tokens') {
        const [T, V] = this.spec.input as [number, number];
        if (fromX) out.set(name, previousTokenRows(input, n, T, V, SPECIAL_IDS));
        else if (o.previous && o.previous.length === n * T * V) out.set(name, o.previous);
        else throw new Error('this model decodes token by token (its decoder reads the previous tokens): decode sequences with the sequence sampler');
        continue;
      }
      const labels = o.labels;
      if (!labels) throw new Error(`this model is conditioned on a label (extraInputs.${name}, ${e.classes} classes): give the class of each row`);
      if (labels.length !== n) throw new Error(`${labels.length} labels for ${n} rows; give one class per row`);
      const v = new Float32Array(n * e.classes);
      for (let i = 0; i < n; i++) {
        const c = labels[i]!;
        if (!Number.isInteger(c) || c < 0 || c >= e.classes) throw new Error(`label ${c} of row ${i} is outside the model's ${e.classes} classes (0..${e.classes - 1})`);
        v[i * e.classes + c] = 1;
      }
      out.set(name, v);
    }
    return out;
  }

  /**
   * Runs `part` over n rows of `input` (rowSize floats each; `labels`, a
   * class per row, for a conditioned model) in batches; returns the requested
   * tensors' rows.
   */
  private async run(part: Part, input: Float32Array, rowSize: number, outputs: (p: Program) => { t: number; row: number }[], opts: RowOptions & { readonly setup?: (p: Program, start: number) => void } = {}): Promise<Float32Array[]> {
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
    const rowsOf = new Map([[p.fg.graph.name(p.fg.input), { data: input, row: rowSize }]]);
    for (const [name, data] of this.extraRows(p, opts, n, input)) rowsOf.set(name, { data, row: data.length / n });
    for (const [name, { data, row }] of rowsOf) {
      const tokens = p.tokenInputs.get(name);
      if (tokens) checkTokenIndices(data, tokens.vocab, `${part}: input '${name}' (token indices of ${tokens.layers.join(', ')})`, row);
    }
    const outs = outputs(p);
    const results = outs.map((o) => new Float32Array(n * o.row));
    for (let start = 0; start < n; start += B) {
      const rows = Math.min(B, n - start);
      for (const [name, { data, row }] of rowsOf) {
        const chunk = new Float32Array(B * row);
        chunk.set(data.subarray(start * row, (start + rows) * row));
        this.device.queue.writeBuffer(p.inputs.get(name)!, 0, chunk);
      }
      opts.setup?.(p, start);
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

  /** Posterior parameters μ and log σ² (N, J) of inputs x (N, D); `labels`: a class per row, for a conditioned model. */
  async encode(x: Float32Array, labels?: ArrayLike<number>): Promise<{ mu: Float32Array; logvar: Float32Array }> {
    const D = numel(this.spec.input);
    const J = this.spec.latent;
    const [mu, logvar] = await this.run('encoder', x, D, (p) => {
      const fg = p.fg as ReturnType<typeof buildEncoder>;
      return [{ t: fg.mu, row: J }, { t: fg.logvar, row: J }];
    }, { labels });
    return { mu: mu!, logvar: logvar! };
  }

  /** The decoder's raw output (logits or means) for codes z (N, J); `labels` as for encode. */
  async decodeRaw(z: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array> {
    const D = numel(this.spec.input);
    const [y] = await this.run('decoder', z, this.spec.latent, (p) => [{ t: (p.fg as ReturnType<typeof buildDecoder>).logits, row: D }], { labels });
    return y!;
  }

  /** The likelihood's mean for codes z: probabilities (Bernoulli, categorical) or means (Gaussian), (N, D). */
  async decode(z: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array> {
    return this.toMean(await this.decodeRaw(z, labels));
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

  /** Mean reconstructions of x (decode of the posterior mean, with the same labels). */
  async reconstruct(x: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array> {
    return this.decode((await this.encode(x, labels)).mu, labels);
  }

  /**
   * n samples from the prior: z ~ N(0, I) from the Philox stream (seed, 0,
   * stream 3), decoded (for a conditioned model, with the class of each sample in `labels`).
   */
  async samplePrior(n: number, seed: number, labels?: ArrayLike<number>): Promise<{ z: Float32Array; x: Float32Array }> {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`samplePrior: n = ${n}; expected a positive integer`);
    const z = Float32Array.from(randomNormalRef({ seed, step: 0, stream: 3 }, n * this.spec.latent));
    return { z, x: await this.decode(z, labels) };
  }

  /**
   * Decodes `steps` points on the line between the posterior means of a and
   * b (for a conditioned model, each encoded with its own class and the line
   * decoded with a's).
   */
  async interpolate(a: Float32Array, b: Float32Array, steps: number, labels?: readonly [number, number]): Promise<Float32Array> {
    const J = this.spec.latent;
    const { mu } = await this.encode(new Float32Array([...a, ...b]), labels);
    const z = new Float32Array(steps * J);
    for (let s = 0; s < steps; s++) {
      const t = steps === 1 ? 0 : s / (steps - 1);
      for (let j = 0; j < J; j++) z[s * J + j] = (1 - t) * mu[j]! + t * mu[J + j]!;
    }
    return this.decode(z, labels && new Array<number>(steps).fill(labels[0]));
  }

  /** Decodes the posterior mean of x (the first row) with dimension `dim` set to each of `values`; `label`: x's class, for a conditioned model. */
  async traverse(x: Float32Array, dim: number, values: readonly number[], label?: number): Promise<Float32Array> {
    const J = this.spec.latent;
    if (!Number.isInteger(dim) || dim < 0 || dim >= J) throw new Error(`traverse: dimension ${dim} is outside 0..${J - 1}`);
    const rows = x.length / numel(this.spec.input);
    const { mu } = await this.encode(x, label === undefined ? undefined : new Array<number>(rows).fill(label));
    const z = new Float32Array(values.length * J);
    values.forEach((v, s) => {
      z.set(mu.subarray(0, J), s * J);
      z[s * J + dim] = v;
    });
    return this.decode(z, label === undefined ? undefined : new Array<number>(values.length).fill(label));
  }

  /**
   * Per-sample reconstruction NLL and KL with one posterior sample each
   * (stream seeded by `seed`), and the posterior parameters. With
   * `sample: false` the reconstruction term is taken at z = μ.
   */
  async perSample(ds: Dataset, seed = 0, opts: { readonly sample?: boolean } = {}): Promise<PerSample> {
    const D = inputSize(ds);
    const J = this.spec.latent;
    let batchIndex = 0;
    const [recon, kl, mu, logvar] = await this.run(opts.sample === false ? 'loss-mean' : 'loss', datasetRows(ds), D, (p) => {
      const fg = p.fg as ReturnType<typeof addLoss>;
      return [{ t: fg.loss.recon, row: 1 }, { t: fg.loss.kl, row: 1 }, { t: fg.mu, row: J }, { t: fg.logvar, row: J }];
    }, {
      labels: ds.labels ?? undefined,
      // The program's seed is fixed when it is compiled; the RNG step names the batch.
      setup: (p) => p.setStep((seed * 100003 + batchIndex++) >>> 0, 1),
    });
    return { recon: recon!, kl: kl!, mu: mu!, logvar: logvar! };
  }

  /**
   * The decoder's raw outputs (N, ...input) for the rows of a dataset at
   * z = μ, through the whole model: for a sequence model, the logits of
   * every position given the true previous tokens (teacher forcing).
   */
  async meanLogits(ds: Dataset, start = 0, count = ds.count - start): Promise<Float32Array> {
    const [y] = await this.run('loss-mean', datasetRows(ds, start, count), inputSize(ds), (p) => [{ t: (p.fg as ReturnType<typeof addLoss>).logits, row: numel(this.spec.input) }], {
      labels: ds.labels?.subarray(start, start + count) ?? undefined,
    });
    return y!;
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

