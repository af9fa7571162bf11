/**
 * The sample-quality panel: on request (the "Sample quality" button), the
 * Fréchet distance between the shipped classifier's features of N samples
 * from the prior and of the test set, its floor (the test set's two halves),
 * the classifier's accuracy on reconstructions and, for a model conditioned
 * on a label, how often it finds the class a sample was drawn for. Offered
 * for the datasets a classifier is shipped for (MNIST, Fashion-MNIST); for
 * others the button is disabled and says why. The work runs in
 * demo/views/quality-run.ts, loaded when first asked for.
 */
import { hasClassifier, type ClassifierDataset } from '../../src/eval/classifier-datasets.ts';
import type { DataSplit } from '../data/datasets.ts';
import type { Studio } from '../studio.ts';
import { byId, clearMessage, showMessage } from '../ui/dom.ts';
import type { Floor, SampleQuality } from './quality-run.ts';

/** The seed of the prior samples (the command line's default for `eval --seed`). */
export const QUALITY_SEED = 0;

/** What one press computed, for the page and for automation. */
export interface QualityResult extends SampleQuality {
  readonly floor: Floor | null;
  /** The training step of the model scored. */
  readonly step: number;
  readonly seconds: number;
}

/** Why the figures cannot be computed for this data (null: they can). */
export function qualityUnavailable(data: DataSplit | null): string | null {
  if (!data) return 'No dataset is loaded yet.';
  if (data.sequences) return `Sample quality is measured with an image classifier (MNIST, Fashion-MNIST); ${data.name} is a dataset of sequences.`;
  if (!hasClassifier(data.name)) return `Not available for ${data.name}: the Fréchet distance needs the features of a classifier trained on the dataset, and one ships for MNIST and Fashion-MNIST only.`;
  return null;
}

const fmt = (v: number, digits: number) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (v: number) => `${fmt(100 * v, 1)}%`;

export class QualityPanel {
  /** The last figures shown (null before the first press and after the model changes). */
  last: QualityResult | null = null;
  /** Presses that completed, and the errors met. */
  runs = 0;
  readonly errors: string[] = [];
  private running = false;
  /** Counts model replacements: a result for an older model is not shown. */
  private generation = 0;
  private readonly floors = new Map<ClassifierDataset, Floor>();
  private readonly button = byId<HTMLButtonElement>('sq-run');

  constructor(private readonly studio: Studio) {
    this.button.addEventListener('click', () => void this.run());
  }

  /** The model was replaced: its figures are gone. */
  newModel(): void {
    this.generation++;
    this.last = null;
    byId('sq-figures').replaceChildren();
    this.update();
  }

  /** Enables the button when the figures can be computed, and says why not otherwise. */
  update(): void {
    const why = qualityUnavailable(this.studio.data) ?? (this.studio.trainer ? null : 'No model yet.');
    this.button.disabled = why !== null || this.running;
    this.button.title = why ?? 'Score samples of the model with the classifier of the dataset';
    byId('sq-reason').textContent = why ?? '';
  }

  /** Computes and shows the figures of the current model. */
  async run(): Promise<void> {
    const data = this.studio.data;
    if (this.running || qualityUnavailable(data) || !data || !hasClassifier(data.name)) return;
    const name = data.name;
    const n = Number(byId<HTMLSelectElement>('sq-n').value);
    const generation = this.generation;
    this.running = true;
    this.update();
    const status = byId('sq-status');
    status.textContent = `Computing: ${fmt(n, 0)} samples and the ${fmt(data.test.count, 0)} test images through the classifier…`;
    const t0 = performance.now();
    try {
      const { measure } = await import('./quality-run.ts');
      const r = await this.studio.withInference(async (inf) => {
        const step = this.studio.trainer?.session.step ?? 0;
        return { step, ...(await measure(inf, name, data.test, { n, seed: QUALITY_SEED, floor: !this.floors.has(name) })) };
      });
      if (!r || generation !== this.generation) {
        status.textContent = 'The model changed while the figures were computed: press again.';
        return;
      }
      if (r.floor) this.floors.set(name, r.floor);
      this.last = { ...r.quality, floor: this.floors.get(name) ?? null, step: r.step, seconds: (performance.now() - t0) / 1000 };
      this.runs++;
      this.render(this.last, data);
      status.textContent = `Computed in ${fmt(this.last.seconds, 1)} s.`;
      clearMessage('sample-quality');
    } catch (e) {
      this.errors.push((e as Error).message);
      status.textContent = '';
      showMessage(`Sample quality: ${(e as Error).message}`, 'error', 'sample-quality');
    } finally {
      this.running = false;
      this.update();
    }
  }

  private render(q: QualityResult, data: DataSplit): void {
    const line = (...parts: (string | Node)[]) => {
      const p = document.createElement('p');
      p.append(...parts);
      return p;
    };
    const figure = (testid: string, text: string) => {
      const b = document.createElement('b');
      b.dataset.testid = testid;
      b.textContent = text;
      return b;
    };
    const lines = [
      line('Fréchet distance ', figure('sq-distance', fmt(q.distance, 3)), ` with N = `, figure('sq-n', fmt(q.n, 0)),
        ` samples from the prior (seed ${q.seed}) against the ${fmt(q.testCount, 0)} test images; model at step ${q.step}`),
    ];
    if (q.floor) lines.push(line('floor ', figure('sq-floor', fmt(q.floor.distance, 3)), ` (the test set's halves, ${q.floor.halves[0]} against ${q.floor.halves[1]} images)`));
    if (q.reconAccuracy !== null) {
      lines.push(line('classifier accuracy on reconstructions ', figure('sq-recon-accuracy', pct(q.reconAccuracy)),
        q.testAccuracy === null ? '' : ` (on the test images themselves ${pct(q.testAccuracy)})`));
    }
    if (q.classAccuracy !== null && q.perClassAccuracy) {
      const names = data.test.classes;
      const per = q.perClassAccuracy.map((a, c) => `${names?.[c] ?? c} ${Number.isNaN(a) ? '–' : pct(a)}`).join(' · ');
      lines.push(line('class agreement of conditional samples ', figure('sq-class-accuracy', pct(q.classAccuracy)), ': ', figure('sq-per-class', per)));
    }
    byId('sq-figures').replaceChildren(...lines);
  }
}
