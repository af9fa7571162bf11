/**
 * SMILES in canonical form (src/data/smiles-canonical.ts) with RDKit's
 * MinimalLib: one line in, one line out, so the split keeps its molecules;
 * the strings are RDKit's canonical ones; `train --smiles-form canonical`
 * writes them so (as-read is the default), saves the choice in config.json
 * (older configs read as written), and refuses the option where it does not
 * apply.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parseRunConfig } from '../../src/cli/config.ts';
import { configFromOptions } from '../../src/cli/train.ts';
import { DatasetError } from '../../src/data/dataset.ts';
import { DEFAULT_SEQUENCE_OPTIONS, loadSequenceSets } from '../../src/data/sequence-sets.ts';
import { canonicalLines, describeCanonicalization, type CanonicalWriter } from '../../src/data/smiles-canonical.ts';
import { loadRdkit, type Chem } from '../../src/eval/molecules.ts';
import { runCli } from '../support/cli.ts';

let chem: Chem;
let writer: CanonicalWriter;

before(async () => {
  chem = await loadRdkit();
  writer = (s) => chem.canonicalSmiles(s);
});

test('canonicalLines rewrites each line in place, keeps what the writer cannot read, and counts both', () => {
  const fake: CanonicalWriter = (s) => (s === 'bad' ? null : s.toUpperCase());
  const lines = [{ text: 'cc', line: 1 }, { text: 'CC', line: 2 }, { text: 'bad', line: 3 }, { text: null, line: 4 }, { text: '', line: 5 }, { text: 'bad', line: 6 }, { text: 'n', line: 7, file: 'f.smi' }];
  const { lines: out, canonicalization: c } = canonicalLines(lines, fake);
  assert.deepEqual(out, [{ text: 'CC', line: 1 }, { text: 'CC', line: 2 }, { text: 'bad', line: 3 }, { text: null, line: 4 }, { text: '', line: 5 }, { text: 'bad', line: 6 }, { text: 'N', line: 7, file: 'f.smi' }]);
  assert.deepEqual(c, { rewritten: 2, unchanged: 1, unread: 2, example: 3 });
  assert.equal(describeCanonicalization(c), 'canonical SMILES (RDKit): 2 rewritten, 1 already canonical, 2 not read by RDKit kept as read (e.g. line 3)');
});

test('the smiles set in canonical form: the same molecules in the same split, each string RDKit\'s canonical one', () => {
  const asRead = loadSequenceSets('smiles', DEFAULT_SEQUENCE_OPTIONS);
  const canon = loadSequenceSets('smiles', { ...DEFAULT_SEQUENCE_OPTIONS, canonical: true }, undefined, writer);
  assert.equal(canon.trainTexts.length, asRead.trainTexts.length);
  assert.equal(canon.testTexts.length, asRead.testTexts.length);
  for (const [a, b] of [[asRead.trainTexts, canon.trainTexts], [asRead.testTexts, canon.testTexts]] as const) {
    a.forEach((s, i) => assert.equal(chem.canonicalSmiles(s), b[i], `molecule ${i}: ${s} should become ${b[i]}`));
    assert.ok(b.every((s) => chem.canonicalSmiles(s) === s), 'every string is a fixed point of canonicalization');
  }
  // Nearly every WEHI string is spelled another way; canonical strings reuse ring digits and come out shorter.
  const changed = asRead.trainTexts.filter((s, i) => s !== canon.trainTexts[i]).length;
  assert.ok(changed > 8900, `${changed} of 9000 training strings rewritten`);
  assert.ok(canon.maxLength < asRead.maxLength, `T ${canon.maxLength} (canonical) against ${asRead.maxLength} (as read)`);
  assert.match(canon.summary, /; canonical SMILES \(RDKit\): \d+ rewritten, \d+ already canonical$/);
  // Token ids decode back to the canonical strings.
  const T = canon.maxLength;
  const row = Array.from(canon.train.data.subarray(0, T));
  const text = row.slice(0, row.indexOf(2)).map((id) => canon.vocab.tokens[id]).join('');
  assert.equal(text, canon.trainTexts[0]);
});

test('canonical form is refused for text and without a writer', () => {
  assert.throws(() => loadSequenceSets('text', { ...DEFAULT_SEQUENCE_OPTIONS, canonical: true }, undefined, writer), (e: unknown) => e instanceof DatasetError && /text: canonical SMILES asked for, but the source is tokenized as chars/.test((e as Error).message));
  assert.throws(() => loadSequenceSets('smiles', { ...DEFAULT_SEQUENCE_OPTIONS, canonical: true }), /smiles: canonical SMILES asked for without a writer/);
});

test('train --smiles-form canonical writes SMILES canonically; as-read (the default) keeps the file\'s; config.json keeps the choice and older configs read as written', async () => {
  const r = await configFromOptions(['--dataset', 'smiles', '--epochs', '1', '--smiles-form', 'canonical']);
  assert.notEqual(r, 'help');
  if (r === 'help') return;
  assert.equal(r.config.sequence?.canonical, true);
  assert.ok(r.sets.sequences!.trainTexts.slice(0, 50).every((s) => chem.canonicalSmiles(s) === s));
  const saved = JSON.parse(JSON.stringify(r.config)) as Record<string, unknown>;
  assert.equal(parseRunConfig(saved, 'config.json').sequence?.canonical, true);
  const older = { ...saved, sequence: { ...(saved.sequence as object), canonical: undefined } };
  assert.equal(parseRunConfig(JSON.parse(JSON.stringify(older)), 'config.json').sequence?.canonical, false);
  assert.throws(() => parseRunConfig({ ...saved, sequence: { ...(saved.sequence as object), canonical: 'yes' } }, 'config.json'), /config\.json: field 'sequence\.canonical' is "yes"; expected true or false/);

  for (const args of [[], ['--smiles-form', 'as-read']]) {
    const a = await configFromOptions(['--dataset', 'smiles', '--epochs', '1', ...args]);
    if (a === 'help') return assert.fail('help');
    assert.equal(a.config.sequence?.canonical, false, args.join(' '));
    assert.deepEqual(a.sets.sequences!.trainTexts.slice(0, 20), loadSequenceSets('smiles', DEFAULT_SEQUENCE_OPTIONS).trainTexts.slice(0, 20));
  }
  const t = await configFromOptions(['--dataset', 'text', '--epochs', '1']);
  if (t === 'help') return assert.fail('help');
  assert.equal(t.config.sequence?.canonical, false);
});

test('--smiles-form on text, on images or with an unknown value is a one-line error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'canonical-'));
  const text = await runCli(dir, ['train', '--dataset', 'text', '--smiles-form', 'canonical']);
  assert.equal(text.code, 2);
  assert.match(text.stderr, /--smiles-form applies to SMILES \(the smiles tokenizer\); text is read as chars/);
  const images = await runCli(dir, ['train', '--dataset', 'mnist', '--smiles-form', 'as-read']);
  assert.equal(images.code, 2);
  assert.match(images.stderr, /--smiles-form applies to sequence datasets/);
  const bad = await runCli(dir, ['train', '--dataset', 'smiles', '--smiles-form', 'kekule']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--smiles-form: got "kekule"; expected one of as-read, canonical/);
});
