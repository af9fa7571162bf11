/**
 * Datasets of sequences (SMILES strings, lines of text): lines tokenized and
 * mapped to ids of a vocabulary built from the training split, each sequence
 * ended by END and padded with PAD to the maximum length. Lines that cannot
 * be used (empty, too long, not valid UTF-8, not tokenizable, tokens outside
 * the vocabulary) are counted by kind with the first line number of each, or
 * refused at the first one in strict mode.
 */
import { DatasetError, permutation, type Dataset } from './dataset.ts';
import { END, PAD, SPECIAL_IDS, tokenize, Vocabulary, type Tokenizer } from './tokens.ts';

/** One line of a source file: its text (null when it is not valid UTF-8), its 1-based line number and, for a source of several files, the file. */
export interface SourceLine {
  readonly text: string | null;
  readonly line: number;
  readonly file?: string;
}

/** Where a line is, for messages: "line 12" or "people:12". */
export function lineName(l: SourceLine): string {
  return l.file ? `${l.file}:${l.line}` : `line ${l.line}`;
}

export const REJECTIONS = ['empty', 'too-long', 'invalid-utf8', 'untokenizable', 'unknown-token'] as const;
export type Rejection = (typeof REJECTIONS)[number];

const WHY: Readonly<Record<Rejection, string>> = {
  empty: 'empty',
  'too-long': 'longer than the maximum length',
  'invalid-utf8': 'not valid UTF-8',
  untokenizable: 'not tokenizable as SMILES',
  'unknown-token': 'holding tokens outside the training vocabulary',
};

/** What was dropped, by kind: how many lines and the first one. */
export type SequenceReport = Partial<Record<Rejection, { count: number; first: string; example: string }>>;

/** Sequences as ids, (count, maxLength) row-major. */
export interface SequenceSet {
  readonly name: string;
  readonly vocab: Vocabulary;
  /** T: tokens per sequence, END included, padded with PAD. */
  readonly maxLength: number;
  readonly count: number;
  readonly ids: Uint16Array;
  /** Tokens of each sequence, END included. */
  readonly lengths: Uint16Array;
  /** The strings, as read. */
  readonly texts: readonly string[];
  readonly report: SequenceReport;
}

export interface PrepareOptions {
  /** Tokens per sequence with END (default: the longest training line's, plus one). */
  readonly maxLength?: number;
  /** Refuse the file at the first line that cannot be used, instead of counting it. */
  readonly strict?: boolean;
}

/** One sentence per kind of dropped line, e.g. "12 lines empty (first: line 40)". */
export function describeReport(r: SequenceReport): string {
  const parts = REJECTIONS.filter((k) => r[k]).map((k) => `${r[k]!.count} ${r[k]!.count === 1 ? 'line' : 'lines'} ${WHY[k]} (first: ${r[k]!.first}${r[k]!.example ? `, ${JSON.stringify(r[k]!.example.slice(0, 40))}` : ''})`);
  return parts.length ? parts.join('; ') : 'no line dropped';
}

interface Tokenized {
  readonly text: string;
  readonly tokens: readonly string[];
}

class Sorter {
  readonly report: SequenceReport = {};
  constructor(private readonly source: string, private readonly strict: boolean) {}

  reject(kind: Rejection, l: SourceLine, detail = ''): void {
    if (this.strict) throw new DatasetError(`${this.source}: ${lineName(l)} is ${WHY[kind]}${detail}${l.text ? `: ${JSON.stringify(l.text.slice(0, 80))}` : ''} (--strict)`);
    const r = this.report[kind];
    if (r) r.count++;
    else this.report[kind] = { count: 1, first: lineName(l), example: l.text ?? '' };
  }
}

function tokenizeAll(lines: readonly SourceLine[], tokenizer: Tokenizer, sorter: Sorter): (Tokenized & { line: SourceLine })[] {
  const out: (Tokenized & { line: SourceLine })[] = [];
  for (const l of lines) {
    if (l.text === null) sorter.reject('invalid-utf8', l);
    else if (l.text.trim() === '') sorter.reject('empty', l);
    else {
      const tokens = tokenize(tokenizer, l.text);
      if (!tokens) sorter.reject('untokenizable', l);
      else out.push({ text: l.text, tokens, line: l });
    }
  }
  return out;
}

function encode(name: string, vocab: Vocabulary, rows: readonly Tokenized[], maxLength: number, report: SequenceReport): SequenceSet {
  const ids = new Uint16Array(rows.length * maxLength).fill(PAD);
  const lengths = new Uint16Array(rows.length);
  rows.forEach((r, i) => {
    r.tokens.forEach((t, j) => (ids[i * maxLength + j] = vocab.id(t)));
    ids[i * maxLength + r.tokens.length] = END;
    lengths[i] = r.tokens.length + 1;
  });
  return { name, vocab, maxLength, count: rows.length, ids, lengths, texts: rows.map((r) => r.text), report };
}

/**
 * Training and test sets from the lines of one source: the fixed 90/10
 * split (permutation(count, seed): the first tenth of it is the test set),
 * the vocabulary and the maximum length from the training lines. Test lines
 * with tokens the training lines lack are dropped (and reported).
 */
export function prepareSequences(source: string, lines: readonly SourceLine[], tokenizer: Tokenizer, seed: number, o: PrepareOptions = {}): { train: SequenceSet; test: SequenceSet } {
  if (o.maxLength !== undefined && (!Number.isInteger(o.maxLength) || o.maxLength < 2)) throw new DatasetError(`--max-length: ${o.maxLength}; expected an integer ≥ 2 (tokens with the end token)`);
  const sorter = new Sorter(source, !!o.strict);
  let rows = tokenizeAll(lines, tokenizer, sorter);
  if (o.maxLength !== undefined) {
    const keep = rows.filter((r) => r.tokens.length + 1 <= o.maxLength!);
    for (const r of rows) if (r.tokens.length + 1 > o.maxLength) sorter.reject('too-long', r.line, ` (${r.tokens.length} tokens and the end token; --max-length ${o.maxLength})`);
    rows = keep;
  }
  if (rows.length < 2) throw new DatasetError(`${source}: ${rows.length} usable lines (${describeReport(sorter.report)}); a train/test split needs at least 2`);
  const p = permutation(rows.length, seed);
  const nTest = Math.max(1, Math.floor(rows.length / 10));
  const testIdx = Array.from(p.subarray(0, nTest)).sort((a, b) => a - b);
  const trainIdx = Array.from(p.subarray(nTest)).sort((a, b) => a - b);
  const trainRows = trainIdx.map((i) => rows[i]!);
  const vocab = Vocabulary.fromTokens(tokenizer, trainRows.map((r) => r.tokens));
  const maxLength = o.maxLength ?? Math.max(...trainRows.map((r) => r.tokens.length)) + 1;
  const testRows = testIdx.map((i) => rows[i]!).filter((r) => {
    if (r.tokens.length + 1 > maxLength) {
      sorter.reject('too-long', r.line, ` (the training lines have at most ${maxLength - 1} tokens)`);
      return false;
    }
    const unknown = r.tokens.find((t) => !vocab.has(t));
    if (unknown !== undefined) sorter.reject('unknown-token', r.line, ` (${JSON.stringify(unknown)})`);
    return unknown === undefined;
  });
  return { train: encode(`${source}-train`, vocab, trainRows, maxLength, sorter.report), test: encode(`${source}-test`, vocab, testRows, maxLength, sorter.report) };
}

/** Sequences of other lines against an existing vocabulary and length (a run's, for eval or score): lines it cannot encode are reported. */
export function encodeWith(source: string, lines: readonly SourceLine[], vocab: Vocabulary, maxLength: number, strict = false): SequenceSet {
  const sorter = new Sorter(source, strict);
  const rows = tokenizeAll(lines, vocab.tokenizer, sorter).filter((r) => {
    if (r.tokens.length + 1 > maxLength) {
      sorter.reject('too-long', r.line, ` (the model takes at most ${maxLength - 1} tokens)`);
      return false;
    }
    const unknown = r.tokens.find((t) => !vocab.has(t));
    if (unknown !== undefined) sorter.reject('unknown-token', r.line, ` (${JSON.stringify(unknown)})`);
    return unknown === undefined;
  });
  if (rows.length === 0) throw new DatasetError(`${source}: no usable line (${describeReport(sorter.report)})`);
  return encode(source, vocab, rows, maxLength, sorter.report);
}

/** The seed of the fixed 90/10 split of a sequence source. */
export const SEQUENCE_SPLIT_SEED = 0x5eed0002;

/** A split as a dataset: T token ids per sample (f32), read by the model as T one-hot rows of the vocabulary. */
export function sequenceDataset(s: SequenceSet): Dataset {
  return { name: s.name, shape: [s.maxLength], count: s.count, data: Float32Array.from(s.ids), labels: null, tokens: { vocab: s.vocab.size, ids: SPECIAL_IDS } };
}
