/** SMILES and text as tokens: the tokenizer, the vocabulary, the split, and the report of dropped lines. */
import { test } from 'node:test';
import { describeReport, encodeWith, prepareSequences, type SourceLine } from '../../src/data/sequences.ts';
import { csvFields, filterNci, fortuneEntries, loadSequenceSource, splitLines } from '../../src/data/sequence-files.ts';
import { END, PAD, SPECIALS, tokenizeSmiles, Vocabulary } from '../../src/data/tokens.ts';
import { expect, expectThrows } from '../support/check.ts';

const lines = (texts: (string | null)[]): SourceLine[] => texts.map((text, i) => ({ text, line: i + 1 }));

test('SMILES tokens: bracket atoms, Cl and Br, two-digit ring closures, bonds, branches; the tokens join back to the string', () => {
  const cases: [string, string[]][] = [
    ['CC(=O)Oc1ccccc1C(=O)O', ['C', 'C', '(', '=', 'O', ')', 'O', 'c', '1', 'c', 'c', 'c', 'c', 'c', '1', 'C', '(', '=', 'O', ')', 'O']],
    ['[nH]1cc[C@@H](Cl)Br', ['[nH]', '1', 'c', 'c', '[C@@H]', '(', 'Cl', ')', 'Br']],
    ['C%12CC%12[N+](=O)[O-]', ['C', '%12', 'C', 'C', '%12', '[N+]', '(', '=', 'O', ')', '[O-]']],
    ['C#N.Cl/C=C\\Br', ['C', '#', 'N', '.', 'Cl', '/', 'C', '=', 'C', '\\', 'Br']],
  ];
  for (const [s, want] of cases) {
    const r = tokenizeSmiles(s);
    expect('tokens' in r && JSON.stringify(r.tokens) === JSON.stringify(want), `${s}: ${JSON.stringify(r)}`);
    expect('tokens' in r && r.tokens.join('') === s, `${s} round trip`);
  }
  const bad = tokenizeSmiles('CCX');
  expect('bad' in bad && bad.bad === 2, `CCX: ${JSON.stringify(bad)}`);
});

test('the real WEHI molecules tokenize, round trip and give a small vocabulary', () => {
  const src = loadSequenceSource('smiles');
  expect(src.lines.length === 10000, `${src.lines.length} WEHI lines`);
  const { train, test: te } = prepareSequences('smiles', src.lines, 'smiles', 7);
  expect(train.count + te.count === 10000 && te.count === 1000, `split ${train.count}/${te.count}`);
  expect(train.vocab.size > 20 && train.vocab.size < 60, `vocabulary of ${train.vocab.size}: ${train.vocab.tokens.join(' ')}`);
  for (let i = 0; i < train.count; i += 97) {
    const row = train.ids.subarray(i * train.maxLength, (i + 1) * train.maxLength);
    expect(train.vocab.decode(row) === train.texts[i], `row ${i}: ${train.vocab.decode(row)} vs ${train.texts[i]}`);
    const L = train.lengths[i]!;
    expect(row[L - 1] === END && row.subarray(L).every((v) => v === PAD), `row ${i}: END at ${L - 1}, PAD after`);
  }
});

test('vocabulary: specials first, tokens sorted, JSON round trip, bad files refused', async () => {
  const v = Vocabulary.fromTokens('chars', [['b', 'a'], ['c', 'a']]);
  expect(JSON.stringify(v.tokens) === JSON.stringify([...SPECIALS, 'a', 'b', 'c']), `tokens ${v.tokens}`);
  const w = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v)), 'vocab.json');
  expect(w.id('c') === 6 && w.decode([1, 4, 5, 3, 2, 6]) === 'ab\uFFFD', `round trip: ${w.decode([1, 4, 5, 3, 2, 6])}`);
  await expectThrows('specials', () => Vocabulary.fromJSON({ tokenizer: 'chars', tokens: ['a', '<start>', '<end>', '<unk>'] }, 'v.json'), /^v\.json: token 0 is "a"; expected <pad>/);
  await expectThrows('tokenizer', () => Vocabulary.fromJSON({ tokenizer: 'words', tokens: [...SPECIALS] }, 'v.json'), /tokenizer "words"; expected smiles or chars/);
});

test('dropped lines are counted by kind with the first line of each; --strict refuses the first', async () => {
  const src = lines(['CCO', '', 'CC(=O)O', 'C[Xx]Q', null, 'CCN', 'c1ccccc1', 'CCCC', 'CC', 'OCC', 'CCl', 'CCCCCCCCCCCCCCCCCCCC']);
  const { train, test: te } = prepareSequences('tiny', src, 'smiles', 3, { maxLength: 12 });
  const r = train.report;
  expect(r.empty?.count === 1 && r.empty.first === 'line 2', `empty: ${JSON.stringify(r.empty)}`);
  expect(r['invalid-utf8']?.count === 1 && r['invalid-utf8'].first === 'line 5', `utf8: ${JSON.stringify(r['invalid-utf8'])}`);
  expect(r.untokenizable?.first === 'line 4', `untokenizable: ${JSON.stringify(r.untokenizable)}`);
  expect(r['too-long']?.first === 'line 12', `too long: ${JSON.stringify(r['too-long'])}`);
  expect(train.count + te.count + (r['unknown-token']?.count ?? 0) === 8, `kept ${train.count} + ${te.count}`);
  expect(/1 line empty \(first: line 2\)/.test(describeReport(r)), describeReport(r));
  await expectThrows('strict', () => prepareSequences('tiny', src, 'smiles', 3, { maxLength: 12, strict: true }), /^tiny: line 2 is empty \(--strict\)/);
  // A line whose tokens the training split lacks is reported when encoded against its vocabulary.
  const other = encodeWith('other', lines(['CCO', 'CCBr']), train.vocab, train.maxLength);
  expect(other.count === 1 && other.report['unknown-token']?.first === 'line 2', `unknown: ${JSON.stringify(other.report)}`);
});

test('files: lines with CRLF and bad UTF-8, CSV fields, fortune entries, the NCI filter with reasons', () => {
  const ls = splitLines(Uint8Array.from([0x61, 0x0d, 0x0a, 0xff, 0xfe, 0x0a, 0x62]));
  expect(ls.length === 3 && ls[0]!.text === 'a' && ls[1]!.text === null && ls[2]!.text === 'b', JSON.stringify(ls));
  expect(JSON.stringify(csvFields('"a,b",c,"d""e"')) === JSON.stringify(['a,b', 'c', 'd"e']), JSON.stringify(csvFields('"a,b",c,"d""e"')));
  const f = fortuneEntries(new TextEncoder().encode('One line.\n%\nTwo\n  lines.\n%\n'));
  expect(f.length === 2 && f[1]!.text === 'Two lines.' && f[1]!.line === 3, JSON.stringify(f));
  const { kept, dropped } = filterNci(lines(['CCO', 'CC[O-].[Na+]', 'C[Pt](Cl)Cl', 'c1cc[nH]c1']));
  expect(kept.length === 2 && Object.values(dropped).reduce((a, b) => a + b, 0) === 2, `${kept.length} kept, dropped ${JSON.stringify(dropped)}`);
  const nci = loadSequenceSource('smiles-nci');
  expect(nci.lines.length > 3000 && nci.lines.length < 4999 && Object.keys(nci.filtered!).length === 2, `NCI kept ${nci.lines.length}, dropped ${JSON.stringify(nci.filtered)}`);
  const text = loadSequenceSource('text');
  expect(text.lines.length > 10000 && text.lines[0]!.file !== undefined, `${text.lines.length} fortune entries`);
});
