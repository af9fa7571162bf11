/**
 * The views of a sequence model (molecules or text), decoded on the GPU
 * token by token (SequenceDecoder): strings from the prior at a temperature
 * with, for molecules, validity, uniqueness and novelty by RDKit (as the
 * command line's eval reports them); test sequences over their greedy
 * reconstructions from μ; the strings on the line between two test
 * sequences' means, step by step; the latent scatter of the test points
 * coloured by a descriptor RDKit computes (ring count, molecular weight) or
 * by length for text, a click decoding the code under it. Molecules are
 * drawn as structures by RDKit's MinimalLib, loaded from the page's origin.
 */
import { summarize } from '../../src/eval/inference.ts';
import { loadRdkit, type Chem, type MoleculeMetrics, type TrainingSet } from '../../src/eval/molecules.ts';
import { decodeRows, samplePriorStrings } from '../../src/eval/sequences.ts';
import type { DataSplit, SequenceInfo } from '../data/datasets.ts';
import type { Studio } from '../studio.ts';
import { byId, setText } from '../ui/dom.ts';
import { moleculeCard, showCards, textCard } from './cards.ts';
import { drawKlBars } from './kl.ts';
import { LatentView } from './latent.ts';
import { Refresher } from './refresher.ts';

const PRIOR_SEED = 20240;
/** Prior samples drawn, reconstructions and interpolation steps shown. */
const SHOWN_SAMPLES = 12;
const RECONSTRUCTIONS = 6;
const STEPS = 8;
const REFRESH_MS = 4000;

/** The figures of the prior samples: RDKit's for molecules; distinct and unseen strings for text. */
export type SampleFigures =
  | { readonly kind: 'molecules'; readonly metrics: MoleculeMetrics }
  | { readonly kind: 'text'; readonly count: number; readonly unique: number; readonly novel: number };

/** What the last refresh showed (for automation and tests). */
export interface SequenceViewState {
  readonly step: number;
  readonly temperature: number;
  readonly samples: readonly string[];
  readonly figures: SampleFigures;
  readonly reconstructions: readonly { readonly index: number; readonly input: string; readonly output: string }[];
  readonly interpolation: { readonly from: number; readonly to: number; readonly strings: readonly string[] };
  readonly latent: { readonly colour: string; readonly names: readonly string[]; readonly labels: readonly number[] };
}

/** Colour classes of the test points: ring count or molecular weight bins (molecules), length quarters (text). */
function latentClasses(seq: SequenceInfo, chem: Chem | null, texts: readonly string[], colour: string): { names: string[]; labels: number[] } {
  if (chem && (colour === 'rings' || colour === 'weight')) {
    const d = texts.map((s) => chem.descriptors(s));
    const names = colour === 'rings'
      ? ['no ring', '1 ring', '2 rings', '3 rings', '4+ rings']
      : ['< 250 g/mol', '250–300 g/mol', '300–350 g/mol', '350–400 g/mol', '≥ 400 g/mol'];
    const bin = (x: NonNullable<(typeof d)[number]>) => colour === 'rings' ? Math.min(4, x.rings) : Math.max(0, Math.min(4, Math.floor((x.molWeight - 200) / 50)));
    const labels = d.map((x) => (x ? bin(x) : names.length));
    if (labels.includes(names.length)) names.push('not read by RDKit');
    return { names, labels };
  }
  const lengths = texts.map((s) => seq.vocab.tokenize(s)?.length ?? s.length);
  const sorted = [...lengths].sort((a, b) => a - b);
  const m = sorted.length;
  const cuts = [0.25, 0.5, 0.75].map((q) => sorted[Math.floor(q * (m - 1))]!);
  const names = ['shortest quarter', 'second quarter', 'third quarter', 'longest quarter'].map((n, i) => `${n} (≤ ${i < 3 ? cuts[i] : sorted[m - 1]} tokens)`);
  return { names, labels: lengths.map((l) => cuts.filter((c) => l > c).length) };
}

/** RDKit's canonical SMILES of the training set (for novelty), made in slices so that the page stays responsive. */
async function trainingSet(chem: Chem, smiles: readonly string[]): Promise<TrainingSet> {
  const canonical = new Set<string>();
  let invalid = 0;
  for (let i = 0; i < smiles.length; i += 500) {
    const part = chem.trainingSet(smiles.slice(i, i + 500));
    for (const c of part.canonical) canonical.add(c);
    invalid += part.invalid;
    await new Promise((r) => setTimeout(r, 0));
  }
  return { canonical, count: smiles.length, invalid };
}

export class SequenceInspector {
  last: SequenceViewState | null = null;
  /** Whether each dimension was active at the last refresh. */
  active: boolean[] | null = null;
  /** Codes decoded from the latent plot, and the last one's string. */
  decodes = 0;
  lastDecoded: string | null = null;
  private readonly refresher = new Refresher(() => this.once(), 'sequence-views');
  private readonly latent: LatentView;
  private chem: Chem | null = null;
  /** Per dataset: the training set's canonical SMILES (for novelty) and the view's strings. */
  private cache: { data: DataSplit; texts: string[]; training: TrainingSet | null; colour: string; classes: { names: string[]; labels: number[] } } | null = null;

  constructor(private readonly studio: Studio) {
    this.latent = new LatentView(byId<HTMLCanvasElement>('seq-latent'), (z, at) => void this.decodeAt(z, at));
    for (const id of ['seq-interp-a', 'seq-interp-b', 'seq-temperature', 'seq-count', 'seq-colour']) byId(id).addEventListener('change', () => void this.refresh());
    setInterval(() => {
      if (studio.state === 'training' && studio.data?.sequences && !this.refresher.running) void this.refresh();
    }, REFRESH_MS);
  }

  get errors(): readonly string[] {
    return this.refresher.errors;
  }

  get refreshes(): number {
    return this.refresher.refreshes;
  }

  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  /** RDKit for molecules (loaded once, from the page's origin), null for text. */
  private async chemFor(seq: SequenceInfo): Promise<Chem | null> {
    if (seq.kind !== 'molecules') return null;
    this.chem ??= await loadRdkit();
    return this.chem;
  }

  private number(id: string, lo: number, hi: number, integer: boolean): number {
    const el = byId<HTMLInputElement>(id);
    let v = Number(el.value);
    if (!Number.isFinite(v)) v = lo;
    v = Math.min(hi, Math.max(lo, integer ? Math.round(v) : v));
    if (String(v) !== el.value) el.value = String(v);
    return v;
  }

  private async once(): Promise<void> {
    const data = this.studio.data, view = this.studio.view, seq = data?.sequences;
    if (!data || !view || !seq || !view.tokens) return;
    const chem = await this.chemFor(seq);
    const T = seq.maxLength;
    const colour = byId<HTMLSelectElement>('seq-colour').value;
    if (this.cache?.data !== data || this.cache.colour !== colour) {
      const texts = this.cache?.data === data ? this.cache.texts : decodeRows(seq.vocab, Uint16Array.from(view.data), T);
      const training = this.cache?.data === data ? this.cache.training : chem ? await trainingSet(chem, seq.trainTexts) : null;
      this.cache = { data, texts, training, colour, classes: latentClasses(seq, chem, texts, colour) };
    }
    const { texts, training, classes } = this.cache;
    const a = this.number('seq-interp-a', 0, view.count - 1, true), b = this.number('seq-interp-b', 0, view.count - 1, true);
    const temperature = this.number('seq-temperature', 0, 10, false);
    const count = this.number('seq-count', 1, 4096, true);
    const shown = Array.from({ length: Math.min(RECONSTRUCTIONS, view.count) }, (_, k) => Math.floor((k * view.count) / Math.min(RECONSTRUCTIONS, view.count)));
    const r = await this.studio.withInference(async (inf, spec, dec) => {
      if (!dec) throw new Error('no sequence decoder for this model');
      const J = spec.latent;
      const step = this.studio.trainer?.session.step ?? 0;
      const per = await inf.perSample(view, 0, { sample: false });
      const prior = await samplePriorStrings(dec, seq.vocab, count, { temperature, seed: PRIOR_SEED });
      // Greedy from μ: the shown test points, then the line from a to b.
      const z = new Float32Array((shown.length + STEPS) * J);
      shown.forEach((i, k) => z.set(per.mu.subarray(i * J, (i + 1) * J), k * J));
      for (let s = 0; s < STEPS; s++) {
        const t = s / (STEPS - 1);
        for (let j = 0; j < J; j++) z[(shown.length + s) * J + j] = (1 - t) * per.mu[a * J + j]! + t * per.mu[b * J + j]!;
      }
      const greedy = decodeRows(seq.vocab, await dec.decode(z, { temperature: 0, seed: 0 }), T);
      return { step, J, per, prior: prior.strings, greedy };
    });
    if (!r) return;
    const figures: SampleFigures = chem
      ? { kind: 'molecules', metrics: chem.moleculeMetrics(r.prior, training!) }
      : (() => {
          const distinct = new Set(r.prior), train = new Set(seq.trainTexts);
          return { kind: 'text' as const, count: r.prior.length, unique: distinct.size, novel: [...distinct].filter((s) => !train.has(s)).length };
        })();
    const state: SequenceViewState = {
      step: r.step, temperature, samples: r.prior, figures,
      reconstructions: shown.map((i, k) => ({ index: i, input: texts[i]!, output: r.greedy[k]! })),
      interpolation: { from: a, to: b, strings: r.greedy.slice(shown.length) },
      latent: { colour, names: classes.names, labels: classes.labels },
    };
    this.render(state, chem, r.per.mu, r.J, summarize(r.per, r.J));
    this.last = state;
  }

  private render(s: SequenceViewState, chem: Chem | null, mu: Float32Array, J: number, summary: ReturnType<typeof summarize>): void {
    const card = (text: string, o: Parameters<typeof textCard>[1] = {}) => (chem ? moleculeCard(chem, text, o) : textCard(text, o));
    showFigures(s.figures, s.temperature);
    showCards(byId('seq-samples'), s.samples.slice(0, SHOWN_SAMPLES).map((t) => card(t)));
    showCards(byId('seq-recons'), s.reconstructions.flatMap((p) => {
      const same = p.input === p.output;
      return [card(p.input, { caption: `test #${p.index}` }), card(p.output, { caption: 'reconstruction', note: same ? '= input' : '≠ input' })];
    }));
    showCards(byId('seq-interp'), s.interpolation.strings.map((t, k) => card(t, { caption: `t = ${(k / (STEPS - 1)).toFixed(2)}` })));
    setText('seq-interp-note', `test #${s.interpolation.from} → test #${s.interpolation.to}, greedy from the posterior means`);
    this.latent.render(mu, s.latent.labels.length, J, Int32Array.from(s.latent.labels), s.latent.names);
    this.active = summary.muVariance.map((v) => v > 0.01);
    setText('active', `${summary.activeUnits} / ${J}`);
    if (this.studio.state !== 'training') drawKlBars(byId<HTMLCanvasElement>('kl-bars'), summary.klPerDim, this.active);
    setText('views-step', String(s.step));
  }

  /** Decodes (greedy) a code picked in the latent plot. */
  private async decodeAt(z: Float32Array, at: [number, number]): Promise<void> {
    const seq = this.studio.data?.sequences;
    if (!seq) return;
    const ids = await this.studio.withInference(async (_inf, _spec, dec) => (dec ? dec.decode(z, { temperature: 0, seed: 0 }) : null));
    if (!ids) return;
    const text = decodeRows(seq.vocab, ids, seq.maxLength)[0]!;
    const chem = await this.chemFor(seq);
    const caption = `decoded at (${at[0].toFixed(2)}, ${at[1].toFixed(2)})`;
    showCards(byId('seq-decoded'), [chem ? moleculeCard(chem, text, { caption, width: 220, height: 160 }) : textCard(text, { caption })]);
    this.lastDecoded = text;
    this.decodes++;
  }
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The figures line: validity, uniqueness and novelty (molecules) or distinct and unseen strings (text). */
function showFigures(f: SampleFigures, temperature: number): void {
  const el = byId('seq-figures');
  const span = (id: string, text: string) => {
    const s = document.createElement('span');
    s.dataset.testid = id;
    s.textContent = text;
    return s;
  };
  if (f.kind === 'molecules') {
    const m = f.metrics;
    el.replaceChildren(
      `${m.count} samples at temperature ${temperature}: valid `, span('seq-valid', pct(m.validFraction)), ` (${m.valid}), unique `,
      span('seq-unique', pct(m.uniqueFraction)), ` of the valid (${m.unique}), novel `, span('seq-novel', pct(m.novelFraction)),
      ` of the unique (${m.novel}), by RDKit's canonical SMILES`,
      ...(m.valid < m.count ? [`; invalid: `, span('seq-invalid-kinds', `${m.invalidKinds.branch} unbalanced branches, ${m.invalidKinds.ring} an unclosed ring, ${m.invalidKinds.other} other`)] : []),
    );
  } else {
    el.replaceChildren(
      `${f.count} samples at temperature ${temperature}: `, span('seq-unique', String(f.unique)), ' distinct, ',
      span('seq-novel', String(f.novel)), ' of them not in the training set',
    );
  }
}
