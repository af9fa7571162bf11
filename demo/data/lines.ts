/**
 * The form a sequence source reaches the page in: the lines Node's
 * loadSequenceSource (src/data/sequence-files.ts) reads from Debian's files,
 * as JSON, each with its line number (and file, for the fortunes), a line
 * that is not valid UTF-8 as null. The page tokenizes, splits and encodes
 * them itself with prepareSequences, as the command line does.
 */
import type { SourceLine } from '../../src/data/sequences.ts';
import type { Tokenizer } from '../../src/data/tokens.ts';

const FORMAT = 'webgpu-vae-lines-1';

/** The sequence datasets the page offers. */
export const SEQUENCE_SOURCES = ['smiles', 'smiles-nci', 'text'] as const;
export type SequenceName = (typeof SEQUENCE_SOURCES)[number];

export function isSequenceName(name: string): name is SequenceName {
  return (SEQUENCE_SOURCES as readonly string[]).includes(name);
}

/** A source's lines and what the command line knows of it (see SequenceSource). */
export interface ServedLines {
  readonly name: string;
  readonly tokenizer: Tokenizer;
  readonly lines: readonly SourceLine[];
  /** Default tokens per sequence with END (null: the longest training line's). */
  readonly maxLength: number | null;
  /** What a filter dropped before tokenization, and why. */
  readonly filtered: Readonly<Record<string, number>> | null;
}

interface Wire {
  readonly format: string;
  readonly name: string;
  readonly tokenizer: Tokenizer;
  readonly maxLength: number | null;
  readonly filtered: Record<string, number> | null;
  /** File names the lines point into. */
  readonly files: string[];
  /** [text, line number, index into files or -1]. */
  readonly lines: [string | null, number, number][];
}

/** The JSON text of a source (one entry per line; file names stored once). */
export function encodeLines(s: ServedLines): string {
  const files: string[] = [];
  const index = new Map<string, number>();
  const lines = s.lines.map((l): [string | null, number, number] => {
    if (l.file === undefined) return [l.text, l.line, -1];
    let k = index.get(l.file);
    if (k === undefined) {
      k = files.push(l.file) - 1;
      index.set(l.file, k);
    }
    return [l.text, l.line, k];
  });
  const wire: Wire = { format: FORMAT, name: s.name, tokenizer: s.tokenizer, maxLength: s.maxLength, filtered: s.filtered, files, lines };
  return JSON.stringify(wire);
}

/** A source from its JSON text, checked. */
export function decodeLines(text: string, source: string): ServedLines {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  let w: Wire;
  try {
    w = JSON.parse(text) as Wire;
  } catch (e) {
    return fail(`not JSON (${(e as Error).message})`);
  }
  if (!w || w.format !== FORMAT) fail(`expected the ${FORMAT} format, found ${JSON.stringify((w as Partial<Wire> | null)?.format)}`);
  if (w.tokenizer !== 'smiles' && w.tokenizer !== 'chars') fail(`tokenizer ${JSON.stringify(w.tokenizer)}; expected smiles or chars`);
  if (!Array.isArray(w.lines) || !Array.isArray(w.files)) fail('no "lines" or "files" array');
  const lines = w.lines.map(([text, line, file], i): SourceLine => {
    if ((text !== null && typeof text !== 'string') || !Number.isInteger(line) || !Number.isInteger(file) || file >= w.files.length) fail(`entry ${i} is not [text or null, line, file]`);
    return file < 0 ? { text, line } : { text, line, file: w.files[file]! };
  });
  return { name: w.name, tokenizer: w.tokenizer, lines, maxLength: w.maxLength ?? null, filtered: w.filtered ?? null };
}
