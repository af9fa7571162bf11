/**
 * The page's RDKit (MinimalLib from the page's own origin), loaded once and
 * shared: the SMILES datasets are written in its canonical form, and the
 * molecule views check and draw with it.
 */
import { loadRdkit, type Chem } from '../../src/eval/molecules.ts';

let chem: Promise<Chem> | null = null;

export function pageChem(): Promise<Chem> {
  chem ??= loadRdkit().catch((e: unknown) => {
    chem = null;
    throw e;
  });
  return chem;
}
