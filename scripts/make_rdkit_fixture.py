#!/usr/bin/python3
"""Makes test/fixtures/rdkit/smiles.json: Debian's RDKit (python3-rdkit)
judging about 200 strings, as a reference for the WebAssembly build that
src/eval/molecules.ts uses (@rdkit/rdkit, RDKit's MinimalLib).

The strings, all deterministic (seeded):
- 100 WEHI molecules (Debian's rdkit-data, Pains/test_data/wehi_mols.csv);
- 30 other spellings of 15 of them (RDKit's random SMILES, and the Kekulé
  form), so canonical equality has groups to compare;
- 60 mutations of other WEHI molecules (a character deleted, inserted,
  replaced or two swapped; a ring-closure digit or a parenthesis dropped):
  some stay valid, most do not;
- a few hand-written cases (empty, bad rings, valences, brackets, salts).

For each: valid (RDKit parses and sanitizes it as SMILES into a molecule of
at least one atom, the definition of src/eval/molecules.ts) and RDKit's
canonical SMILES (null when invalid). No string holds whitespace or '{',
which molecules.ts rejects before parsing.

Run once (rdkit-data and python3-rdkit installed):
    /usr/bin/python3 scripts/make_rdkit_fixture.py
test/node/molecules.test.ts reads the file; Python is not needed to run it.
"""
import csv
import json
import os
import random

import rdkit
from rdkit import Chem, RDLogger

RDLogger.DisableLog('rdApp.*')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEHI = '/usr/share/RDKit/Data/Pains/test_data/wehi_mols.csv'
OUT = os.path.join(ROOT, 'test', 'fixtures', 'rdkit', 'smiles.json')

HAND = [
    '', 'c1ccccc1', 'C1CC', 'C(C', 'c1cccc1', 'CC)C', 'C1CC1', 'C%10CC%10',
    'CC(C)(C)(C)(C)C', '[NH4+]', '[Na+].[Cl-]', 'C[N+](C)(C)C', 'N(=O)=O',
    'FC(F)(F)F', 'C=1CC=1', '[C@@H](F)(Cl)Br', 'c1ccc2ccccc2c1', 'X', '[Xx]',
    'C#N#C', 'O=C=O', '[2H]C', 'C1CC2', 'Brc1ccccc1', 'cc', 'n1ccccc1',
]
ALPHABET = sorted(set('CNOSFPIBrcnos()=#[]@+-123456789%H/\\.'))


def judge(s):
    m = Chem.MolFromSmiles(s)
    if m is None or m.GetNumAtoms() == 0:
        return {'smiles': s, 'valid': False, 'canonical': None}
    return {'smiles': s, 'valid': True, 'canonical': Chem.MolToSmiles(m)}


def mutate(s, rng):
    kind = rng.randrange(6)
    i = rng.randrange(len(s))
    if kind == 0:
        return s[:i] + s[i + 1:]
    if kind == 1:
        return s[:i] + rng.choice(ALPHABET) + s[i:]
    if kind == 2:
        return s[:i] + rng.choice(ALPHABET) + s[i + 1:]
    if kind == 3 and len(s) > 1:
        i = min(i, len(s) - 2)
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    digits = [k for k, ch in enumerate(s) if ch.isdigit()]
    parens = [k for k, ch in enumerate(s) if ch in '()']
    pool = digits if kind == 4 else parens
    if not pool:
        return s[:i] + s[i + 1:]
    k = rng.choice(pool)
    return s[:k] + s[k + 1:]


def main():
    with open(WEHI, newline='') as f:
        wehi = [row[0] for row in csv.reader(f) if row and row[0] != 'SMILES']
    rng = random.Random(14)
    picked = rng.sample(range(len(wehi)), 175)
    originals = [wehi[k] for k in picked[:100]]
    strings = list(originals)
    for s in originals[:15]:
        m = Chem.MolFromSmiles(s)
        alt = Chem.MolToSmiles(m, doRandom=True, canonical=False)
        Chem.Kekulize(m, clearAromaticFlags=True)
        kek = Chem.MolToSmiles(m, kekuleSmiles=True)
        strings += [alt, kek]
    for k in picked[100:160]:
        strings.append(mutate(wehi[k], rng))
    strings += HAND
    seen, entries = set(), []
    for s in strings:
        if s in seen:
            continue
        assert not any(ch.isspace() or ch == '{' for ch in s), s
        seen.add(s)
        entries.append(judge(s))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump({
            'made_by': 'scripts/make_rdkit_fixture.py',
            'rdkit': rdkit.__version__,
            'valid': 'Chem.MolFromSmiles(s) is not None and GetNumAtoms() > 0',
            'canonical': 'Chem.MolToSmiles(mol)',
            'entries': entries,
        }, f, indent=1)
        f.write('\n')
    valid = sum(e['valid'] for e in entries)
    print(f'{OUT}: {len(entries)} strings, {valid} valid, RDKit {rdkit.__version__}')


main()
