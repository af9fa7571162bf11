/**
 * Why a generated SMILES string is not a molecule, as far as its syntax
 * tells: a sequence model has to count (branches opened and closed, ring
 * labels opened and closed) before any chemistry comes into it, and the
 * split tells which of the two a model gets wrong.
 *
 * - `branch`: a `)` with no open branch, or a branch still open at the end.
 * - `ring`: a ring-closure label (`1`…`9`, `%nn`, outside bracket atoms)
 *   used an odd number of times, so a ring is still open at the end.
 * - `null`: branches and ring labels balance; the string may still not be a
 *   molecule (valence, aromaticity, an unclosed `[`: the chemistry's and
 *   the parser's other rules, which RDKit checks).
 *
 * Branches are checked first: a string with both errors counts as `branch`.
 */
export type SmilesSyntaxError = 'branch' | 'ring';

export function smilesSyntaxError(smiles: string): SmilesSyntaxError | null {
  let depth = 0;
  const open = new Set<string>();
  for (let i = 0; i < smiles.length; i++) {
    const c = smiles[i]!;
    if (c === '[') {
      const end = smiles.indexOf(']', i + 1);
      if (end < 0) break; // the rest is an unclosed bracket atom: not a branch or ring matter
      i = end;
    } else if (c === '(') depth++;
    else if (c === ')') {
      if (--depth < 0) return 'branch';
    } else if (c === '%' && /^\d\d$/.test(smiles.slice(i + 1, i + 3))) {
      toggle(open, smiles.slice(i, i + 3));
      i += 2;
    } else if (c >= '0' && c <= '9') toggle(open, c);
  }
  if (depth > 0) return 'branch';
  return open.size > 0 ? 'ring' : null;
}

function toggle(open: Set<string>, label: string): void {
  if (open.has(label)) open.delete(label);
  else open.add(label);
}

/** Invalid samples by what is wrong (see smilesSyntaxError); `other` balances but is still no molecule. */
export interface InvalidKinds {
  readonly branch: number;
  readonly ring: number;
  readonly other: number;
}

/** The kinds of the given invalid strings. */
export function invalidKinds(invalid: Iterable<string>): InvalidKinds {
  let branch = 0, ring = 0, other = 0;
  for (const s of invalid) {
    const e = smilesSyntaxError(s);
    if (e === 'branch') branch++;
    else if (e === 'ring') ring++;
    else other++;
  }
  return { branch, ring, other };
}
