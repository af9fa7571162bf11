/**
 * The views computed from the model on the test points: reconstructions,
 * samples from the prior, the latent scatter, interpolation, traversal,
 * active units and the worst-reconstructed inputs. Refreshed every couple of
 * seconds while training (between the trainer's steps, never blocking them)
 * and whenever the model or a view's input changes. For a model conditioned
 * on a label, the test points are encoded and decoded with their own labels
 * (an interpolation and a traversal with the first point's), and the prior
 * samples and codes picked in the latent plot with the class picker's
 * choice (classes.ts).
 */
import type { Dataset, DatasetEvaluation, ModelSpec } from '../../src/index.ts';
import { summarize, type PerSample } from '../../src/eval/inference.ts';
import { imageGrid, pairGrid } from '../../src/viz/grid.ts';
import type { Studio } from '../studio.ts';
import { byId, setText } from '../ui/dom.ts';
import { ClassPicker, labelsAt } from './classes.ts';
import { drawKlBars } from './kl.ts';
import { LatentView } from './latent.ts';
import { Refresher } from './refresher.ts';
import { grayBatch, paint, rowsOf } from './paint.ts';

/** The seed of the samples from the prior (Philox stream 3 of samplePrior). */
export const PRIOR_SEED = 20240;
/** The values a traversal sets its dimension to. */
export const TRAVERSAL = [-3, -2.25, -1.5, -0.75, 0, 0.75, 1.5, 2.25, 3];
const REFRESH_MS = 2000;

/** What one refresh computes. */
interface Computed {
  readonly per: PerSample;
  readonly summary: DatasetEvaluation;
  readonly x16: Float32Array;
  readonly rec16: Float32Array;
  readonly prior: Float32Array;
  /** The class of each prior sample (undefined for a model without a label). */
  readonly priorLabels: readonly number[] | undefined;
  readonly worst: readonly number[];
  readonly xw: Float32Array;
  readonly rw: Float32Array;
  readonly interp: Float32Array;
  readonly trav: Float32Array;
}

export class Inspector {
  /** Reconstructions of the 16 shown test inputs at the last refresh (for automation). */
  lastReconstructions: Float32Array | null = null;
  /** Everything the last refresh computed (for automation). */
  last: Computed | null = null;
  /** Whether each dimension was active at the last refresh. */
  active: boolean[] | null = null;
  /** Codes decoded from the latent plot. */
  decodes = 0;
  private readonly refresher = new Refresher(() => this.once());
  private dimTouched = false;
  private readonly latent: LatentView;
  /** The class the prior samples are drawn for (a model conditioned on a label). */
  readonly picker: ClassPicker;

  constructor(private readonly studio: Studio) {
    this.picker = new ClassPicker(() => void this.refresh());
    this.latent = new LatentView(byId<HTMLCanvasElement>('latent-plot'), (z, at) => void this.decodeAt(z, at));
    for (const id of ['interp-a', 'interp-b', 'trav-dim']) {
      byId(id).addEventListener('change', () => {
        if (id === 'trav-dim') this.dimTouched = true;
        void this.refresh();
      });
    }
    setInterval(() => {
      if (studio.state === 'training' && !this.refresher.running) void this.refresh();
    }, REFRESH_MS);
  }

  /** Errors met while drawing the views. */
  get errors(): readonly string[] {
    return this.refresher.errors;
  }

  /** Refreshes completed. */
  get refreshes(): number {
    return this.refresher.refreshes;
  }

  /** Forgets per-model choices (a new model). */
  newModel(): void {
    this.dimTouched = false;
    this.active = null;
    this.picker.sync(this.studio.spec, this.studio.data);
  }

  /** Recomputes every view; a call during a refresh runs once more afterwards. */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  private index(id: string, count: number): number {
    const el = byId<HTMLInputElement>(id);
    const v = Math.min(count - 1, Math.max(0, Math.round(Number(el.value) || 0)));
    el.max = String(count - 1);
    if (String(v) !== el.value) el.value = String(v);
    return v;
  }

  private async once(): Promise<void> {
    const view = this.studio.view;
    // Sequences have views of their own (sequences.ts).
    if (!view || view.tokens) return;
    const a = this.index('interp-a', view.count), b = this.index('interp-b', view.count);
    const r = await this.studio.withInference(async (inf, spec): Promise<Computed & { spec: ModelSpec; step: number }> => {
      const J = spec.latent;
      const step = this.studio.trainer?.session.step ?? 0;
      this.picker.sync(spec, this.studio.data);
      const at = (indices: readonly number[]) => labelsAt(view, indices, spec);
      const per = await inf.perSample(view, 0, { sample: false });
      const summary = summarize(per, J);
      if (!this.dimTouched) byId<HTMLInputElement>('trav-dim').value = String(summary.klPerDim.indexOf(Math.max(...summary.klPerDim)));
      const dim = this.index('trav-dim', J);
      const shown = Array.from({ length: 16 }, (_, k) => Math.floor((k * view.count) / 16));
      const x16 = rowsOf(view.data, shown);
      const rec16 = await inf.reconstruct(x16, at(shown));
      const draw = this.picker.prior();
      const prior = (await inf.samplePrior(draw.n, PRIOR_SEED, draw.labels)).x;
      const worst = Array.from(per.recon.keys()).sort((i, j) => per.recon[j]! - per.recon[i]!).slice(0, 8);
      const xw = rowsOf(view.data, worst);
      const rw = await inf.reconstruct(xw, at(worst));
      const ab = at([a, b]) as [number, number] | undefined;
      const interp = await inf.interpolate(rowsOf(view.data, [a]), rowsOf(view.data, [b]), 10, ab);
      const trav = await inf.traverse(rowsOf(view.data, [a]), dim, TRAVERSAL, ab?.[0]);
      return { spec, step, per, summary, x16, rec16, prior, priorLabels: draw.labels, worst, xw, rw, interp, trav };
    });
    if (!r) return;
    this.render(view, r.spec, r);
    setText('views-step', String(r.step));
  }

  private render(view: Dataset, spec: ModelSpec, r: Computed): void {
    const J = spec.latent;
    paint(byId<HTMLCanvasElement>('recons'), pairGrid(grayBatch(r.x16, 16), grayBatch(r.rec16, 16), { cols: 8, scale: 2 }));
    paint(byId<HTMLCanvasElement>('prior'), imageGrid(grayBatch(r.prior, r.prior.length / 784), { cols: 8, scale: 2 }));
    paint(byId<HTMLCanvasElement>('worst'), pairGrid(grayBatch(r.xw, r.worst.length), grayBatch(r.rw, r.worst.length), { cols: 8, scale: 2 }));
    paint(byId<HTMLCanvasElement>('interp'), imageGrid(grayBatch(r.interp, 10), { cols: 10, scale: 2 }));
    paint(byId<HTMLCanvasElement>('traversal'), imageGrid(grayBatch(r.trav, TRAVERSAL.length), { cols: TRAVERSAL.length, scale: 2 }));
    setText('worst-scores', `reconstruction NLL (nats): ${r.worst.map((i) => `#${i} ${r.per.recon[i]!.toFixed(1)}`).join(', ')}`);
    this.latent.render(r.per.mu, view.count, J, view.labels, view.classes);
    this.active = r.summary.muVariance.map((v) => v > 0.01);
    setText('active', `${r.summary.activeUnits} / ${J}`);
    if (this.studio.state !== 'training') drawKlBars(byId<HTMLCanvasElement>('kl-bars'), r.summary.klPerDim, this.active);
    this.lastReconstructions = r.rec16;
    this.last = r;
  }

  /** Decodes a code picked in the latent plot. */
  private async decodeAt(z: Float32Array, at: [number, number]): Promise<void> {
    // A model conditioned on a label decodes the code with the picker's class, or once per class.
    const labels = this.picker.pick();
    const n = labels?.length ?? 1;
    const zs = new Float32Array(n * z.length);
    for (let i = 0; i < n; i++) zs.set(z, i * z.length);
    const x = await this.studio.withInference((inf) => inf.decode(zs, labels));
    if (!x) return;
    paint(byId<HTMLCanvasElement>('decoded'), imageGrid(grayBatch(x, n), { cols: n, pad: 0 }), n === 1 ? 3 : 1.5);
    setText('decoded-at', `decoded (${at[0].toFixed(2)}, ${at[1].toFixed(2)})`);
    this.decodes++;
  }
}
