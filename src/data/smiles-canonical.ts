/**
 * SMILES in canonical form. A molecule has many SMILES strings; a file may
 * spell its molecules in any of them (the WEHI set starts at a nitrogen
 * where it can and numbers every ring afresh, so only 1 of its 10,000
 * strings is RDKit's canonical one). A model trained on one writer's
 * canonical strings learns one spelling per molecule: fewer distinct
 * patterns to learn from a small set, and shorter strings (ring-closure
 * digits reused). Data sets of generative SMILES models (ZINC in the
 * chemical VAE, MOSES) are written canonically for this reason.
 *
 * Lines are rewritten before tokenization and the split, so the split keeps
 * the same molecules (one line in, one line out) and the vocabulary is that
 * of the canonical training strings. A line the writer cannot read is kept
 * as read (and counted), so tokenization reports it as it would without
 * this step. The writer is passed in (src/cli/run-data.ts and the studio
 * make one from RDKit's MinimalLib), so this module needs no chemistry.
 */
import type { SourceLine } from './sequences.ts';

/** A molecule's canonical SMILES, or null when the writer cannot read the string. */
export type CanonicalWriter = (smiles: string) => string | null;

/** What canonicalization did to a source's lines. */
export interface Canonicalization {
  /** Lines written in another form. */
  readonly rewritten: number;
  /** Lines already canonical. */
  readonly unchanged: number;
  /** Lines the writer could not read, kept as read (first line number in `example`). */
  readonly unread: number;
  readonly example: number | null;
}

/** The lines with each SMILES in the writer's canonical form (empty and unreadable lines as they are). */
export function canonicalLines(lines: readonly SourceLine[], writer: CanonicalWriter): { lines: SourceLine[]; canonicalization: Canonicalization } {
  let rewritten = 0, unchanged = 0, unread = 0;
  let example: number | null = null;
  const out = lines.map((l) => {
    if (l.text === null || l.text.trim() === '') return l;
    const c = writer(l.text);
    if (c === null || c === '') {
      unread++;
      example ??= l.line;
      return l;
    }
    if (c === l.text) unchanged++;
    else rewritten++;
    return { ...l, text: c };
  });
  return { lines: out, canonicalization: { rewritten, unchanged, unread, example } };
}

/** One clause for a data summary. */
export function describeCanonicalization(c: Canonicalization): string {
  const unread = c.unread ? `, ${c.unread} not read by RDKit kept as read (e.g. line ${c.example})` : '';
  return `canonical SMILES (RDKit): ${c.rewritten} rewritten, ${c.unchanged} already canonical${unread}`;
}
