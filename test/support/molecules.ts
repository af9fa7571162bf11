/**
 * Molecule cases shared by test/node/molecules.test.ts and
 * test/browser/molecules.test.ts (the same answers in Node and in a page),
 * and the WEHI molecules of Debian's rdkit-data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './package.ts';

export const WEHI_CSV = '/usr/share/RDKit/Data/Pains/test_data/wehi_mols.csv';

/** The first (quoted) column of wehi_mols.csv, without its header: 10,000 SMILES. */
export function readWehi(): string[] {
  const out: string[] = [];
  for (const line of readFileSync(WEHI_CSV, 'utf8').split('\n')) {
    const m = /^"([^"]*)"/.exec(line);
    if (m && m[1] !== 'SMILES') out.push(m[1]!);
  }
  return out;
}

export const KNOWN_VALID: readonly string[] = [
  'c1ccccc1', 'CCO', 'C1CC1', 'C%10CC%10', '[Na+].[Cl-]', 'C[N+](C)(C)C', 'O=C=O', '[C@@H](F)(Cl)Br',
  'c1ccc2ccccc2c1', 'n1ccccc1', 'c1cc[nH]c1', 'Brc1ccccc1', 'N(NC(=O)C1CCC1)c2ccc(cc2)C(C)(C)C',
];

/** A molecule block of ethanol: MinimalLib's get_mol reads it, but it is no SMILES. */
const MOLBLOCK = '\n     RDKit          2D\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n    2.5981   -0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n  1  2  1  0\n  2  3  1  0\nM  END\n';
/** RDKit's JSON of methane: MinimalLib's get_mol reads it, but it is no SMILES. */
const JSON_MOL = '{"rdkitjson":{"version":11},"defaults":{"atom":{"z":6,"impHs":0,"chg":0,"nRad":0,"isotope":0,"stereo":"unspecified"},"bond":{"bo":1,"stereo":"unspecified"}},"molecules":[{"atoms":[{"impHs":4}],"bonds":[]}]}';

export const KNOWN_INVALID: readonly { readonly smiles: string; readonly why: string }[] = [
  { smiles: '', why: 'empty' },
  { smiles: 'C1CC', why: 'ring 1 never closed' },
  { smiles: 'C(C', why: 'unbalanced parenthesis' },
  { smiles: 'CC)C', why: 'unbalanced parenthesis' },
  { smiles: 'c1cccc1', why: 'five aromatic carbons cannot be kekulized' },
  { smiles: 'CC(C)(C)(C)(C)C', why: 'carbon with valence 6' },
  { smiles: 'C#N#C', why: 'nitrogen with valence 6' },
  { smiles: 'X', why: 'no such element' },
  { smiles: '[Xx]', why: 'no such element' },
  { smiles: 'C=C=C=', why: 'bond to nothing' },
  { smiles: 'CCO ethanol', why: 'whitespace (MinimalLib would read a name after it)' },
  { smiles: ' CCO', why: 'whitespace' },
  { smiles: MOLBLOCK, why: 'a molblock, not SMILES' },
  { smiles: JSON_MOL, why: 'RDKit JSON, not SMILES' },
];

/** Pairs that are one molecule, written two ways. */
export const SAME_MOLECULE: readonly (readonly [string, string])[] = [
  ['OCC', 'CCO'],
  ['C1=CC=CC=C1', 'c1ccccc1'],
  ['OC(=O)C', 'CC(O)=O'],
  ['C%12CC%12', 'C1CC1'],
  ['N(NC(=O)C1CCC1)c2ccc(cc2)C(C)(C)C', 'CC(C)(C)c1ccc(NNC(=O)C2CCC2)cc1'],
];

/** Pairs that are different molecules. */
export const DIFFERENT_MOLECULES: readonly (readonly [string, string])[] = [
  ['CCO', 'COC'],
  ['CCN', 'CN'],
  ['F[C@H](Cl)Br', 'F[C@@H](Cl)Br'],
];

/**
 * Metrics counted by hand. Valid: CCO, OCC, c1ccccc1, CC(=O)O, OC(C)=O,
 * c1ccncc1, CCN, CCO (8 of 12). Unique: CCO, c1ccccc1, CC(=O)O, c1ccncc1,
 * CCN (5). The training set is, canonically, CCO, c1ccccc1 (written in Kekulé
 * form) and CN (plus one invalid entry), so the novel ones are CC(=O)O,
 * c1ccncc1 and CCN (3).
 */
export const METRICS_CASE = {
  samples: ['CCO', 'OCC', 'c1ccccc1', 'C1CC', '', 'C(C', 'CC(=O)O', 'OC(C)=O', 'c1ccncc1', 'CCN', 'c1cccc1', 'CCO'],
  training: ['OCC', 'C1=CC=CC=C1', 'CN', 'not a smiles('],
  expected: {
    count: 12, valid: 8, validFraction: 8 / 12, unique: 5, uniqueFraction: 5 / 8, novel: 3, novelFraction: 3 / 5,
    invalidExamples: ['C1CC', '', 'C(C', 'c1cccc1'],
    // 'C(C' a branch left open, 'C1CC' a ring left open, '' and 'c1cccc1' (cannot be kekulized) other.
    invalidKinds: { branch: 1, ring: 1, other: 2 },
  },
} as const;

export interface FixtureEntry {
  readonly smiles: string;
  readonly valid: boolean;
  readonly canonical: string | null;
}

/** test/fixtures/rdkit/smiles.json, made by scripts/make_rdkit_fixture.py with Debian's python3-rdkit. */
export function readRdkitFixture(): { rdkit: string; entries: FixtureEntry[] } {
  return JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'rdkit', 'smiles.json'), 'utf8')) as { rdkit: string; entries: FixtureEntry[] };
}
