/**
 * Sequence datasets in the page: a source's lines fetched from the page's
 * own origin (demo/data/plugin.ts serves what the command line reads), then
 * tokenized, split 90/10 and encoded here exactly as the command line does
 * (prepareSequences with the split seed of src/data/sequence-sets.ts, the
 * vocabulary from the training split, the source's default maximum length).
 */
import { describeReport, prepareSequences, SEQUENCE_SPLIT_SEED, sequenceDataset } from '../../src/data/sequences.ts';
import type { DataSplit } from './datasets.ts';
import { decodeLines, type SequenceName } from './lines.ts';

/** Fetches and prepares a sequence dataset. */
export async function loadSequences(name: SequenceName): Promise<DataSplit> {
  const url = new URL(`data/${name}.lines.json`, document.baseURI).href;
  const r = await fetch(url);
  if (!r.ok) {
    const why = (await r.text()).slice(0, 300);
    throw new Error(`${name} could not be loaded from ${url} (${r.status})${why ? `: ${why}` : ''}`);
  }
  const src = decodeLines(await r.text(), url);
  const { train, test } = prepareSequences(src.name, src.lines, src.tokenizer, SEQUENCE_SPLIT_SEED, src.maxLength === null ? {} : { maxLength: src.maxLength });
  const filtered = src.filtered ? `; the filter left out ${Object.entries(src.filtered).map(([k, v]) => `${v} ${k}`).join(', ')}` : '';
  return {
    name,
    train: sequenceDataset(train),
    test: sequenceDataset(test),
    sequences: {
      source: name, kind: src.tokenizer === 'smiles' ? 'molecules' : 'text',
      vocab: train.vocab, maxLength: train.maxLength, trainTexts: train.texts, testTexts: test.texts,
      summary: `${src.name}: ${train.count} training and ${test.count} test sequences, ${train.vocab.size} tokens (${train.vocab.tokenizer}), up to ${train.maxLength} with the end token; ${describeReport(train.report)}${filtered}`,
    },
  };
}
