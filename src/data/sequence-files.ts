/**
 * Sources of sequences (Node): SMILES from Debian's rdkit-data (the WEHI set
 * and the NCI set, the latter filtered with the reasons counted), text from
 * Debian's fortunes (entries between `%` lines), and a user's .txt (a sample
 * per line), .smi (SMILES first on each line) or .csv (a named column). Every
 * line keeps its line number; a line that is not valid UTF-8 is kept as such,
 * to be reported.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DatasetError } from './dataset.ts';
import type { SourceLine } from './sequences.ts';
import type { Tokenizer } from './tokens.ts';

/** Where Debian's rdkit-data puts the molecules. */
export const WEHI_SMILES = '/usr/share/RDKit/Data/Pains/test_data/wehi_mols.csv';
export const NCI_SMILES = '/usr/share/RDKit/Data/NCI/first_5K.smi';
/** Where Debian's fortunes puts its files. */
export const FORTUNES_DIR = '/usr/share/games/fortunes';
/** Largest sequence file read (400 MiB, as a CSV table). */
export const MAX_SEQUENCE_FILE_BYTES = 400 * 2 ** 20;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readChecked(path: string, hint: string): Uint8Array {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new DatasetError(`${path}: no such file${hint ? ` (${hint})` : ''}`);
  }
  if (size > MAX_SEQUENCE_FILE_BYTES) throw new DatasetError(`${path}: ${size} bytes is above the ${MAX_SEQUENCE_FILE_BYTES}-byte limit for sequence files`);
  return new Uint8Array(readFileSync(path));
}

/** The lines of a file (\n or \r\n), each decoded as UTF-8 on its own (null when it is not valid). */
export function splitLines(bytes: Uint8Array): SourceLine[] {
  const out: SourceLine[] = [];
  let start = 0, line = 1;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    let end = i;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    if (!(i === bytes.length && start === bytes.length)) {
      let text: string | null;
      try {
        text = utf8.decode(bytes.subarray(start, end));
      } catch {
        text = null;
      }
      out.push({ text, line });
    }
    start = i + 1;
    line++;
  }
  return out;
}

/** The first field of each line, split at a tab or a space (a .smi file: SMILES, then an id). */
export function firstField(lines: readonly SourceLine[]): SourceLine[] {
  return lines.map((l) => ({ line: l.line, text: l.text === null ? null : l.text.trim().split(/[\t ]/)[0] ?? '' }));
}

/** The fields of one CSV line: comma-separated, a field in double quotes may hold commas and "" for a quote. */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new DatasetError(`unterminated quoted field: ${JSON.stringify(line.slice(0, 80))}`);
        field += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          field += '"';
          i++;
        } else break;
      }
    } else {
      const c = line.indexOf(',', i);
      field = line.slice(i, c < 0 ? line.length : c);
      i = c < 0 ? line.length : c;
    }
    out.push(field);
    if (line[i] !== ',') return out;
    i++;
  }
}

/**
 * A CSV column by its header name, or, with `column` null, the first column
 * of every line (a file without a header, like the WEHI set).
 */
export function csvColumn(bytes: Uint8Array, path: string, column: string | null): SourceLine[] {
  const lines = splitLines(bytes).filter((l) => l.text === null || l.text.trim() !== '');
  const field = (l: SourceLine, k: number): SourceLine => {
    if (l.text === null) return l;
    try {
      return { line: l.line, text: csvFields(l.text)[k] ?? '' };
    } catch (e) {
      throw new DatasetError(`${path}: line ${l.line}: ${(e as Error).message}`);
    }
  };
  if (column === null) return lines.map((l) => field(l, 0));
  const head = lines[0];
  const header = head?.text ? csvFields(head.text) : [];
  const k = header.indexOf(column);
  if (k < 0) throw new DatasetError(`${path}: no column named ${JSON.stringify(column)} (the header has: ${header.join(', ') || 'nothing'})`);
  return lines.slice(1).map((l) => field(l, k));
}

/** Fortune entries: the lines between `%` lines joined by spaces, whitespace collapsed; an entry's line number is its first line's. */
export function fortuneEntries(bytes: Uint8Array): SourceLine[] {
  const out: SourceLine[] = [];
  let parts: string[] = [], first = 0, invalid = false;
  const flush = () => {
    if (parts.length || invalid) out.push({ line: first, text: invalid ? null : parts.join(' ').replace(/\s+/g, ' ').trim() });
    parts = [];
    invalid = false;
  };
  for (const l of splitLines(bytes)) {
    if (l.text === '%') {
      flush();
      continue;
    }
    if (!parts.length && !invalid) first = l.line;
    if (l.text === null) invalid = true;
    else parts.push(l.text);
  }
  flush();
  return out;
}

/** NCI molecules kept for `smiles-nci`: one fragment, only the organic-subset elements; the reasons for the others, counted. */
export function filterNci(lines: readonly SourceLine[]): { kept: SourceLine[]; dropped: Record<string, number> } {
  const ORGANIC = new Set(['B', 'C', 'N', 'O', 'P', 'S', 'F', 'Cl', 'Br', 'I', 'H', 'b', 'c', 'n', 'o', 'p', 's', 'se', 'Se', 'Si']);
  const dropped: Record<string, number> = {};
  const drop = (why: string) => (dropped[why] = (dropped[why] ?? 0) + 1);
  const kept: SourceLine[] = [];
  for (const l of lines) {
    const s = l.text ?? '';
    if (l.text !== null && s.includes('.')) {
      drop('several fragments (salts, mixtures)');
      continue;
    }
    const elements = [...s.matchAll(/\[([A-Za-z][a-z]?)/g)].map((m) => m[1]!);
    const odd = elements.find((e) => !ORGANIC.has(e) && !ORGANIC.has(e[0]!.toUpperCase() + e.slice(1)));
    if (odd) {
      drop('elements outside B, C, N, O, P, S, F, Cl, Br, I, Si, Se (metals and others)');
      continue;
    }
    kept.push(l);
  }
  return { kept, dropped };
}

export interface SequenceSource {
  readonly name: string;
  readonly tokenizer: Tokenizer;
  readonly lines: SourceLine[];
  /** Default --max-length (tokens with END) for this source, when its lines are long. */
  readonly maxLength?: number;
  /** What a filter dropped before tokenization, and why (for smiles-nci). */
  readonly filtered?: Readonly<Record<string, number>>;
}

/**
 * The tokenizer a sequence dataset is read with: characters for `text`,
 * SMILES for `smiles`, `smiles-nci` and .smi files; for a .txt or .csv file
 * the one asked for, else characters for .txt and SMILES for .csv.
 */
export function tokenizerOf(name: string, asked: Tokenizer | null): Tokenizer {
  const lower = name.toLowerCase();
  if (name === 'text') return 'chars';
  if (lower.endsWith('.txt')) return asked ?? 'chars';
  if (lower.endsWith('.csv')) return asked ?? 'smiles';
  return 'smiles';
}

/**
 * The sequence datasets by name: `smiles` (the 10,000 WEHI molecules),
 * `smiles-nci` (the NCI molecules, filtered; up to 80 tokens by default), `text` (Debian's fortunes, up
 * to 64 characters per entry), or a path: a .smi file (SMILES), a .txt file
 * (text, a line per sample) or a .csv file (`column` names the column;
 * SMILES when `tokenizer` is smiles).
 */
export function loadSequenceSource(name: string, o: { readonly column?: string; readonly tokenizer?: Tokenizer } = {}): SequenceSource {
  const apt = 'apt-get install rdkit-data';
  if (name === 'smiles') return { name, tokenizer: 'smiles', lines: csvColumn(readChecked(WEHI_SMILES, apt), WEHI_SMILES, null) };
  if (name === 'smiles-nci') {
    const { kept, dropped } = filterNci(firstField(splitLines(readChecked(NCI_SMILES, apt))));
    // 99% of the filtered molecules have at most 80 tokens; the few long ones would make every sequence 269 steps long.
    return { name, tokenizer: 'smiles', lines: kept, filtered: dropped, maxLength: 81 };
  }
  if (name === 'text') {
    let files: string[];
    try {
      files = readdirSync(FORTUNES_DIR).filter((f) => !f.includes('.')).sort();
    } catch {
      throw new DatasetError(`${FORTUNES_DIR}: not found (apt-get install fortunes)`);
    }
    const lines = files.flatMap((f) => fortuneEntries(readChecked(join(FORTUNES_DIR, f), '')).map((l) => ({ ...l, file: f })));
    return { name, tokenizer: 'chars', lines, maxLength: 65 };
  }
  const lower = name.toLowerCase();
  const bytes = readChecked(name, '');
  const base = basename(name).replace(/\.(smi|txt|csv)$/i, '');
  if (lower.endsWith('.smi')) return { name: base, tokenizer: 'smiles', lines: firstField(splitLines(bytes)) };
  if (lower.endsWith('.txt')) return { name: base, tokenizer: tokenizerOf(name, o.tokenizer ?? null), lines: splitLines(bytes) };
  if (lower.endsWith('.csv')) return { name: base, tokenizer: tokenizerOf(name, o.tokenizer ?? null), lines: csvColumn(bytes, name, o.column ?? null) };
  throw new DatasetError(`${name}: expected smiles, smiles-nci, text, or a .smi, .txt or .csv file`);
}
