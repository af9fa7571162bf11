/**
 * Why a generated SMILES is invalid (src/eval/smiles-syntax.ts): unbalanced
 * branches, an unclosed ring label, or other. Every real molecule of the
 * WEHI set balances; RDKit refuses every string the classifier flags; the
 * PyTorch reference script's port classifies the same strings the same way;
 * moleculeMetrics counts the invalid samples by kind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadSequenceSource } from '../../src/data/sequence-files.ts';
import { loadRdkit } from '../../src/eval/molecules.ts';
import { invalidKinds, smilesSyntaxError } from '../../src/eval/smiles-syntax.ts';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

const CASES: [string, 'branch' | 'ring' | null][] = [
  ['CC(=O)Oc1ccccc1C(=O)O', null],
  ['CC(=O', 'branch'],
  ['CC)C', 'branch'],
  ['C(C))(C', 'branch'], // closes below zero before it balances again
  ['c1ccccc1C(', 'branch'],
  ['c1ccccc', 'ring'],
  ['C1CC1C1CC', 'ring'], // a label reused after it closed, then left open
  ['C%12CC%12', null],
  ['C%12CC', 'ring'],
  ['C%1CC1', null], // "%1" is no two-digit label: the 1s balance, and the stray % is the parser's matter (other)
  ['[13CH3]C', null], // digits inside a bracket atom are no ring labels
  ['[nH]1cc[C@@H](Cl)Br', 'ring'],
  ['C(C1CC1', 'branch'], // both wrong: branches first
  ['C[N', null], // an unclosed bracket: neither kind (other)
  ['CC(C)(C)C', null],
  ['', null],
];

test('branches and ring labels: the classifier on hand-made cases', () => {
  for (const [s, want] of CASES) assert.equal(smilesSyntaxError(s), want, s);
  assert.deepEqual(invalidKinds(['CC(', 'c1cc', 'C[N', 'CC)']), { branch: 2, ring: 1, other: 1 });
});

test('every WEHI molecule balances, and RDKit refuses every string the classifier flags', async () => {
  const lines = loadSequenceSource('smiles').lines.map((l) => l.text!);
  const flagged = lines.filter((s) => smilesSyntaxError(s) !== null);
  assert.deepEqual(flagged, []);
  const chem = await loadRdkit();
  for (const [s, want] of CASES) if (want !== null) assert.equal(chem.isValid(s), false, `${s} is flagged ${want} but RDKit reads it`);
  // Cut molecules: every prefix that leaves a branch or ring open is flagged, and is invalid.
  let cut = 0;
  for (const s of lines.slice(0, 300)) {
    const p = s.slice(0, Math.floor(s.length / 2));
    if (smilesSyntaxError(p) === null) continue;
    cut++;
    assert.equal(chem.isValid(p), false, `${p} (half of ${s}) is flagged but valid`);
  }
  assert.ok(cut > 100, `${cut} of 300 half molecules flagged`);
  const m = chem.moleculeMetrics(['CCO', 'CC(', 'c1cc', 'C(C)(C)(C)(C)C', 'CCO'], ['CCO']);
  assert.equal(m.valid, 2);
  assert.deepEqual(m.invalidKinds, { branch: 1, ring: 1, other: 1 }); // a pentavalent carbon is "other"
});

test('the PyTorch reference script classifies the same strings the same way', async () => {
  const strings = [...CASES.map((c) => c[0]), ...loadSequenceSource('smiles').lines.slice(0, 200).map((l) => l.text!.slice(0, 17))];
  const code = `import json,sys; sys.path.insert(0, ${JSON.stringify(join(process.cwd(), 'scripts'))}); from torch_sequence_reference import smiles_syntax_error; print(json.dumps([smiles_syntax_error(s) for s in json.load(sys.stdin)]))`;
  const p = promisify(execFile)(PYTHON, ['-c', code], { maxBuffer: 1 << 24 });
  p.child.stdin!.end(JSON.stringify(strings));
  const got = JSON.parse((await p).stdout) as (string | null)[];
  assert.deepEqual(got, strings.map((s) => smilesSyntaxError(s)));
  assert.ok(got.filter((g) => g !== null).length > 50, 'the cut molecules give both kinds');
});
