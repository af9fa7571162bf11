/**
 * Strings a sequence model wrote, as cards: a molecule drawn by RDKit's
 * MinimalLib (its SVG) with its validity marked, or a line of text. Each
 * card carries its string and validity as data attributes (data-text,
 * data-valid) for automation.
 */
import type { Chem } from '../../src/eval/molecules.ts';

export interface CardOptions {
  /** A line above the string (e.g. "t = 0.25", "input"). */
  readonly caption?: string;
  readonly width?: number;
  readonly height?: number;
  /** An extra mark after the string (e.g. "= input"). */
  readonly note?: string;
}

function figure(text: string, caption: string | undefined): HTMLElement {
  const fig = document.createElement('figure');
  fig.className = 'seq-card';
  fig.dataset.text = text;
  if (caption) {
    const c = document.createElement('div');
    c.className = 'caption';
    c.textContent = caption;
    fig.append(c);
  }
  return fig;
}

function stringLine(text: string, mark: HTMLElement | null, note: string | undefined): HTMLElement {
  const cap = document.createElement('figcaption');
  if (mark) cap.append(mark, ' ');
  const code = document.createElement('code');
  code.textContent = text === '' ? '(empty)' : text;
  cap.append(code);
  if (note) cap.append(` ${note}`);
  return cap;
}

/** A molecule card: the structure when RDKit reads the SMILES (✓ valid), else a blank box (✗ invalid). */
export function moleculeCard(chem: Chem, smiles: string, o: CardOptions = {}): HTMLElement {
  const fig = figure(smiles, o.caption);
  const width = o.width ?? 150, height = o.height ?? 110;
  const svgText = chem.moleculeSvg(smiles, { width, height });
  const valid = svgText !== null;
  fig.dataset.valid = String(valid);
  fig.classList.add(valid ? 'valid' : 'invalid');
  if (svgText !== null) {
    const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
    fig.append(document.importNode(doc.documentElement, true));
  } else {
    const box = document.createElement('div');
    box.className = 'no-molecule';
    box.style.width = `${width}px`;
    box.style.height = `${height}px`;
    box.textContent = 'not a molecule';
    fig.append(box);
  }
  const mark = document.createElement('span');
  mark.className = 'mark';
  mark.textContent = valid ? '✓ valid' : '✗ invalid';
  fig.append(stringLine(smiles, mark, o.note));
  return fig;
}

/** A text card: the string as written. */
export function textCard(text: string, o: CardOptions = {}): HTMLElement {
  const fig = figure(text, o.caption);
  fig.classList.add('text');
  fig.append(stringLine(text, null, o.note));
  return fig;
}

/** Replaces the children of `el` with `cards`. */
export function showCards(el: HTMLElement, cards: readonly HTMLElement[]): void {
  el.replaceChildren(...cards);
}
