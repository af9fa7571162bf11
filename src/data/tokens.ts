/**
 * Sequences as tokens: the atom-level SMILES tokenizer (bracket atoms, two-
 * letter halogens, two-digit ring closures, bonds, branches), a character
 * tokenizer for text, and the vocabulary (pad, start, end and unknown, then
 * the tokens of the training split in sorted order) that maps them to ids.
 */

export type Tokenizer = 'smiles' | 'chars';

/**
 * One SMILES token at the start of the rest of a string: a bracket atom
 * ([nH], [C@@H], [N+]), Br and Cl, an organic-subset atom (aromatic or not),
 * a ring closure (%nn or one digit), a bond, a branch, a dot, a wildcard.
 * The pattern of Schwaller et al. 2019 (Molecular Transformer), anchored.
 */
const SMILES_TOKEN = /^(\[[^\]]+\]|Br|Cl|B|C|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|%\d{2}|\d)/;

/** The SMILES tokens of `s`, or the position of the first character no token starts with. */
export function tokenizeSmiles(s: string): { tokens: string[] } | { bad: number } {
  const tokens: string[] = [];
  let i = 0;
  while (i < s.length) {
    const m = SMILES_TOKEN.exec(s.slice(i));
    if (!m) return { bad: i };
    tokens.push(m[0]);
    i += m[0].length;
  }
  return { tokens };
}

/** The characters of `s` (code points, so a character outside the BMP is one token). */
export function tokenizeChars(s: string): string[] {
  return Array.from(s);
}

/** The tokens of `s` (null when a SMILES string does not tokenize). */
export function tokenize(tokenizer: Tokenizer, s: string): string[] | null {
  if (tokenizer === 'chars') return tokenizeChars(s);
  const r = tokenizeSmiles(s);
  return 'tokens' in r ? r.tokens : null;
}

/** Ids of the special tokens. */
export const PAD = 0;
export const START = 1;
export const END = 2;
export const UNK = 3;
export const SPECIALS = ['<pad>', '<start>', '<end>', '<unk>'] as const;
/** The special ids every vocabulary of this format has (the model format's sequence models assume them). */
export const SPECIAL_IDS = { pad: PAD, start: START, end: END, unk: UNK } as const;

export class VocabularyError extends Error {
  override readonly name = 'VocabularyError';
}

/** Tokens ↔ ids: the four specials, then the tokens in sorted order. */
export class Vocabulary {
  private readonly ids: ReadonlyMap<string, number>;

  private constructor(readonly tokenizer: Tokenizer, readonly tokens: readonly string[]) {
    this.ids = new Map(tokens.map((t, i) => [t, i]));
  }

  /** The vocabulary of token lists (a training split): every token seen, sorted. */
  static fromTokens(tokenizer: Tokenizer, lists: Iterable<readonly string[]>): Vocabulary {
    const seen = new Set<string>();
    for (const l of lists) for (const t of l) seen.add(t);
    return new Vocabulary(tokenizer, [...SPECIALS, ...[...seen].sort()]);
  }

  /** A vocabulary saved by toJSON (vocab.json of a run folder), validated. */
  static fromJSON(raw: unknown, source: string): Vocabulary {
    const v = raw as { tokenizer?: unknown; tokens?: unknown } | null;
    if (!v || typeof v !== 'object') throw new VocabularyError(`${source}: expected { "tokenizer", "tokens" }`);
    if (v.tokenizer !== 'smiles' && v.tokenizer !== 'chars') throw new VocabularyError(`${source}: tokenizer ${JSON.stringify(v.tokenizer)}; expected smiles or chars`);
    if (!Array.isArray(v.tokens) || v.tokens.some((t) => typeof t !== 'string')) throw new VocabularyError(`${source}: tokens must be an array of strings`);
    const tokens = v.tokens as string[];
    SPECIALS.forEach((s, i) => {
      if (tokens[i] !== s) throw new VocabularyError(`${source}: token ${i} is ${JSON.stringify(tokens[i])}; expected ${s}`);
    });
    if (new Set(tokens).size !== tokens.length) throw new VocabularyError(`${source}: a token appears twice`);
    return new Vocabulary(v.tokenizer, tokens);
  }

  toJSON(): { tokenizer: Tokenizer; tokens: readonly string[] } {
    return { tokenizer: this.tokenizer, tokens: this.tokens };
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The id of a token (UNK for one the vocabulary does not have). */
  id(token: string): number {
    return this.ids.get(token) ?? UNK;
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }

  /** The string of ids up to the first END (PAD and START skipped; UNK shown as �). */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      if (t === END) break;
      if (t === PAD || t === START) continue;
      s += t === UNK ? '\uFFFD' : this.tokens[t] ?? '\uFFFD';
    }
    return s;
  }

  /** The tokens of a string, by this vocabulary's tokenizer (null when a SMILES string does not tokenize). */
  tokenize(s: string): string[] | null {
    return tokenize(this.tokenizer, s);
  }
}
