/**
 * SMILES enumeration (src/data/smiles-variants.ts) with RDKit's MinimalLib:
 * the variants are other spellings of the same molecule, deterministic, and
 * only in the training split; `train --augment` keeps the test split, the
 * vocabulary and the strings novelty is judged against, saves the count in
 * config.json, and refuses data that is not SMILES.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parseRunConfig } from '../../src/cli/config.ts';
import { configFromOptions } from '../../src/cli/train.ts';
import { loadSequenceSets, DEFAULT_SEQUENCE_OPTIONS } from '../../src/data/sequence-sets.ts';
import { enumerateSmiles, smilesVariants, type SmilesWriter } from '../../src/data/smiles-variants.ts';
import { loadRdkit, type Chem } from '../../src/eval/molecules.ts';
import { runCli } from '../support/cli.ts';

let chem: Chem;
let writer: SmilesWriter;

before(async () => {
  chem = await loadRdkit();
  writer = { atoms: (s) => chem.atomCount(s), rooted: (s, r) => chem.rootedSmiles(s, r) };
});

const decode = (ids: ArrayLike<number>, tokens: readonly string[]) => {
  let s = '';
  for (const id of Array.from(ids)) {
    if (id === 2) break; // END
    s += tokens[id];
  }
  return s;
};

test('variants are rooted at atoms ⌊j·A/R⌋, deduplicated, and skip what the writer cannot write', () => {
  const roots: number[] = [];
  const fake: SmilesWriter = {
    atoms: (s) => (s === 'bad' ? null : s.length),
    rooted: (s, r) => {
      roots.push(r);
      return r === 2 ? null : r === 4 ? s : `${s}@${r >> 1}`;
    },
  };
  // 10 atoms, 5 strings: roots 2 (unwritable), 4 (the string itself), 6 (→ @3), 8 (→ @4).
  assert.deepEqual(smilesVariants('ABCDEFGHIJ', 5, fake), ['ABCDEFGHIJ@3', 'ABCDEFGHIJ@4']);
  assert.deepEqual(roots, [2, 4, 6, 8]);
  // 4 strings of 10 atoms: roots 2, 5, 7 → (null), @2, @3.
  assert.deepEqual(smilesVariants('ABCDEFGHIJ', 4, fake), ['ABCDEFGHIJ@2', 'ABCDEFGHIJ@3']);
  assert.deepEqual(smilesVariants('bad', 5, fake), []);
  assert.deepEqual(smilesVariants('A', 5, fake), [], 'a one-atom molecule has one spelling');
  assert.deepEqual(smilesVariants('ABCDEFGHIJ', 1, fake), []);
});

test('with RDKit, every variant is another spelling of the same molecule, and the same call gives the same strings', () => {
  for (const s of ['CC(=O)Oc1ccccc1C(=O)O', 'c1ccc2c(c1)[nH]c1ccccc12', 'O=C(O)C[N+](C)(C)C', 'Cl.NCCc1ccc(O)c(O)c1']) {
    const v = smilesVariants(s, 6, writer);
    assert.ok(v.length >= 3, `${s}: ${v.length} variants`);
    assert.equal(new Set(v).size, v.length);
    assert.ok(!v.includes(s));
    for (const x of v) assert.equal(chem.canonicalSmiles(x), chem.canonicalSmiles(s), `${x} is not ${s}`);
    assert.deepEqual(smilesVariants(s, 6, writer), v);
  }
  assert.throws(() => chem.rootedSmiles('CCO', 3), /rootedSmiles: root atom 3 of CCO; expected a whole number from 0 to 2/);
  assert.equal(chem.rootedSmiles('C1CC', 0), null);
});

test('enumeration of the WEHI set adds variants to the training split only, each a training molecule within the length', () => {
  const sets = loadSequenceSets('smiles', DEFAULT_SEQUENCE_OPTIONS);
  const { sets: aug, enumeration } = enumerateSmiles(sets, 3, writer);
  const T = sets.maxLength;
  assert.equal(aug.train.count, sets.train.count + enumeration.added);
  assert.ok(enumeration.added > 1.5 * sets.train.count, `${enumeration.added} variants of ${sets.train.count} molecules`);
  assert.deepEqual(aug.train.data.subarray(0, sets.train.data.length), sets.train.data, 'the strings as read come first, unchanged');
  assert.equal(aug.test, sets.test);
  assert.equal(aug.trainTexts, sets.trainTexts);
  assert.equal(aug.vocab, sets.vocab);
  assert.match(aug.summary, /SMILES enumeration: \d+ more strings of the training molecules \(3 per molecule asked for/);
  const training = new Set(sets.trainTexts.map((s) => chem.canonicalSmiles(s)));
  const test_ = new Set(sets.testTexts.map((s) => chem.canonicalSmiles(s)));
  for (let i = sets.train.count; i < aug.train.count; i += 97) {
    const row = aug.train.data.subarray(i * T, (i + 1) * T);
    assert.ok(Array.from(row).includes(2), `row ${i} has an end token within ${T}`);
    const c = chem.canonicalSmiles(decode(row, sets.vocab.tokens));
    assert.ok(c !== null && training.has(c), `row ${i}: ${decode(row, sets.vocab.tokens)} is not a training molecule`);
    assert.ok(!test_.has(c) || training.has(c));
  }
  const again = enumerateSmiles(sets, 3, writer);
  assert.deepEqual(again.sets.train.data, aug.train.data, 'the same data and count give the same training set');
  assert.equal(enumerateSmiles(sets, 1, writer).sets, sets);
});

test('enumeration refuses counts out of range and data that is not SMILES', () => {
  const smiles = loadSequenceSets('smiles', DEFAULT_SEQUENCE_OPTIONS);
  assert.throws(() => enumerateSmiles(smiles, 0, writer), /SMILES enumeration: 0 strings per molecule; expected an integer from 1 to 64/);
  assert.throws(() => enumerateSmiles(smiles, 65, writer), /expected an integer from 1 to 64/);
  const text = loadSequenceSets('text', DEFAULT_SEQUENCE_OPTIONS);
  assert.throws(() => enumerateSmiles(text, 2, writer), /SMILES enumeration: text-train is tokenized as chars; enumeration needs SMILES \(the smiles tokenizer\)/);
});

test('train --augment: the training set grows, config.json keeps the count, and older configs read as 1', async () => {
  const r = await configFromOptions(['--dataset', 'smiles', '--augment', '2', '--epochs', '1']);
  assert.notEqual(r, 'help');
  if (r === 'help') return;
  assert.equal(r.config.sequence?.augment, 2);
  assert.ok(r.sets.train.count > 9000 && r.sets.test.count === 1000, `${r.sets.train.count} training, ${r.sets.test.count} test`);
  const saved = JSON.parse(JSON.stringify(r.config)) as Record<string, unknown>;
  assert.equal(parseRunConfig(saved, 'config.json').sequence?.augment, 2);
  const older = { ...saved, sequence: { ...(saved.sequence as object), augment: undefined } };
  assert.equal(parseRunConfig(JSON.parse(JSON.stringify(older)), 'config.json').sequence?.augment, 1);
  assert.throws(() => parseRunConfig({ ...saved, sequence: { ...(saved.sequence as object), augment: 0 } }, 'config.json'), /config\.json: field 'sequence\.augment' is 0; expected an integer from 1 to 64/);
});

test('train --augment on images or out of range is a one-line error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'augment-'));
  const images = await runCli(dir, ['train', '--dataset', 'mnist', '--augment', '3']);
  assert.equal(images.code, 2);
  assert.match(images.stderr, /--augment applies to sequence datasets \(smiles, smiles-nci, text, \.smi, \.txt, or \.csv with --column\); mnist is not one/);
  const zero = await runCli(dir, ['train', '--dataset', 'smiles', '--augment', '0']);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--augment: got "0"; expected an integer from 1 to 64/);
});
