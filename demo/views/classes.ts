/**
 * The class picker of a model conditioned on a label ("Draw class"): the
 * class that samples from the prior and codes picked in the latent plot are
 * decoded with, or every class, a row each. Disabled, with the reason beside
 * it, when the model takes no label or the data has none. The views of test
 * points decode with the points' own labels (labelsAt).
 */
import type { Dataset, ModelSpec } from '../../src/index.ts';
import { labelClasses } from '../../src/model/spec.ts';
import type { DataSplit } from '../data/datasets.ts';
import { conditionalUnavailable } from '../settings.ts';
import { byId, setText } from '../ui/dom.ts';

/** Samples from the prior per class (a row of the grid), and for a model without a label. */
export const PER_CLASS = 8;
export const UNCONDITIONAL_SAMPLES = 32;

/** A class, or every class (a row each). */
export type DrawClass = number | 'all';

/** The classes of the prior samples: `n` rows with `labels` (undefined for a model without a label). */
export interface PriorDraw {
  readonly n: number;
  readonly labels: number[] | undefined;
}

/** A class as the picker names it: its number, and the data's name for it when that says more. */
function className(c: number, names: readonly string[] | undefined): string {
  const n = names?.[c];
  return n !== undefined && n !== String(c) ? `${c}: ${n}` : String(c);
}

export class ClassPicker {
  private readonly el = byId<HTMLSelectElement>('prior-class');
  /** The model's classes (null: it takes no label), and the data's names for them. */
  private classes: number | null = null;
  private names: readonly string[] | undefined;
  private key = '';

  constructor(onChange: () => void) {
    this.el.addEventListener('change', () => {
      this.note();
      onChange();
    });
  }

  /** Offers the classes of the model (named as the data names them), or disables the picker and says why. */
  sync(spec: ModelSpec | null, data: DataSplit | null): void {
    const k = spec ? labelClasses(spec) : null;
    const names = data?.train.classes;
    const reason = k !== null ? null : conditionalUnavailable(data) ?? 'The model is not conditioned on a label: choose cvae-mlp or cvae-conv (Model) and press Reset to draw the class you ask for.';
    const key = JSON.stringify([k, names ?? null, reason]);
    if (key === this.key) return;
    this.key = key;
    this.classes = k;
    this.names = names;
    const was = this.el.value;
    const options = [new Option('all (a row per class)', 'all')];
    for (let c = 0; c < (k ?? 0); c++) options.push(new Option(className(c, names), String(c)));
    this.el.replaceChildren(...options);
    this.el.value = options.some((o) => o.value === was) ? was : 'all';
    this.el.disabled = k === null;
    this.el.title = reason ?? 'The class the samples from the prior are drawn for';
    this.note(reason);
  }

  private note(reason: string | null = null): void {
    const c = this.choice;
    const text = reason ?? (c === null ? '' : c === 'all'
      ? `A row per class, top to bottom: ${Array.from({ length: this.classes! }, (_, i) => className(i, this.names)).join(', ')}.`
      : `${UNCONDITIONAL_SAMPLES} samples of class ${className(c, this.names)}; a click in the latent plot decodes with this class.`);
    setText('prior-class-note', text);
  }

  /** The class chosen, 'all', or null for a model without a label. */
  get choice(): DrawClass | null {
    if (this.classes === null) return null;
    return this.el.value === 'all' ? 'all' : Number(this.el.value);
  }

  /** What to draw from the prior: 32 samples of the chosen class (or of a model without a label), or a row of 8 per class. */
  prior(): PriorDraw {
    const c = this.choice;
    if (c === null) return { n: UNCONDITIONAL_SAMPLES, labels: undefined };
    if (c !== 'all') return { n: UNCONDITIONAL_SAMPLES, labels: new Array<number>(UNCONDITIONAL_SAMPLES).fill(c) };
    const labels = Array.from({ length: this.classes! * PER_CLASS }, (_, i) => Math.floor(i / PER_CLASS));
    return { n: labels.length, labels };
  }

  /** The classes a code picked in the latent plot is decoded with: the chosen one, or each class in turn (undefined: no label). */
  pick(): number[] | undefined {
    const c = this.choice;
    if (c === null) return undefined;
    return c === 'all' ? Array.from({ length: this.classes! }, (_, i) => i) : [c];
  }
}

/** The labels of test points (for a model conditioned on a label; undefined for one without). */
export function labelsAt(ds: Dataset, indices: readonly number[], spec: ModelSpec): number[] | undefined {
  if (labelClasses(spec) === null) return undefined;
  const labels = ds.labels;
  if (!labels) throw new Error(`the model is conditioned on a label and ${ds.name} has no labels`);
  return indices.map((i) => labels[i]!);
}
