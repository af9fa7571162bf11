/**
 * Writes what the PyTorch reference of a sequence preset needs into a
 * folder, so both sides train on exactly the same split with the same
 * model and recipe:
 *
 *   config.json         the run configuration `webgpu-vae train` makes from
 *                       the same options (the model definition, batch,
 *                       epochs, lr, KL schedule, free bits, word dropout in
 *                       the model's previous-token input); with vocab.json
 *                       it also makes the folder readable by `webgpu-vae eval`
 *                       once a model.safetensors is put beside them
 *   model.json          the model definition alone
 *   vocab.json          the vocabulary (pad 0, start 1, end 2, unk 3, then the tokens)
 *   train.npy, test.npy token ids (N, T) as int32, END included, PAD after
 *   train-strings.json, test-strings.json   the split's strings
 *
 *   node --import tsx scripts/export-sequences.ts --out DIR [train options: --dataset smiles --model smiles --epochs 30 ...]
 *
 * The options are `webgpu-vae train`'s (a dataset given as a file path is
 * stored as an absolute path); --out names the folder (created; it must
 * not hold a config.json already).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../src/data/npy.ts';
import { configFromOptions } from '../src/cli/train.ts';
import type { RunConfig } from '../src/cli/config.ts';
import { writeFileAtomic } from '../src/io/files.ts';

export interface SequenceExport {
  readonly dir: string;
  readonly config: RunConfig;
  readonly train: number;
  readonly test: number;
  readonly steps: number;
  readonly vocab: number;
}

/** `--dataset <file>` (or `--dataset=<file>`) made absolute, so the folder's config.json reads the same file from anywhere. */
function absoluteDataset(argv: readonly string[]): string[] {
  return argv.map((a, i) => {
    if (argv[i - 1] === '--dataset' && existsSync(a)) return resolve(a);
    const m = /^--dataset=(.+)$/.exec(a);
    return m && existsSync(m[1]!) ? `--dataset=${resolve(m[1]!)}` : a;
  });
}

/** Exports the split, vocabulary, model and recipe that `webgpu-vae train <argv>` would use. */
export async function exportSequences(argv: readonly string[]): Promise<SequenceExport> {
  const r = await configFromOptions(absoluteDataset(argv));
  if (r === 'help') throw new Error('export-sequences: --out DIR and the options of webgpu-vae train (see webgpu-vae train --help)');
  const { config, out, sets } = r;
  if (!out) throw new Error('export-sequences: give --out DIR, the folder to write');
  const seq = sets.sequences;
  if (!seq) throw new Error(`export-sequences: --dataset ${config.dataset} is not a sequence dataset (smiles, smiles-nci, text, a .smi, .txt or .csv file)`);
  if (existsSync(join(out, 'config.json'))) throw new Error(`export-sequences: ${out} already holds a config.json; choose a new folder`);
  mkdirSync(out, { recursive: true });
  const T = seq.maxLength;
  const ids = (d: typeof seq.train) => Int32Array.from(d.data as Float32Array);
  writeFileAtomic(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileAtomic(join(out, 'model.json'), `${JSON.stringify(config.model, null, 2)}\n`);
  writeFileAtomic(join(out, 'vocab.json'), `${JSON.stringify(seq.vocab.toJSON())}\n`);
  writeFileAtomic(join(out, 'train.npy'), encodeNpy('<i4', [seq.train.count, T], ids(seq.train)));
  writeFileAtomic(join(out, 'test.npy'), encodeNpy('<i4', [seq.test.count, T], ids(seq.test)));
  writeFileAtomic(join(out, 'train-strings.json'), `${JSON.stringify(seq.trainTexts)}\n`);
  writeFileAtomic(join(out, 'test-strings.json'), `${JSON.stringify(seq.testTexts)}\n`);
  return { dir: out, config, train: seq.train.count, test: seq.test.count, steps: T, vocab: seq.vocab.size };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    const e = await exportSequences(process.argv.slice(2));
    console.log(`wrote ${e.dir}: ${e.train} training and ${e.test} test sequences of ${e.steps} tokens (vocabulary ${e.vocab}), model ${e.config.modelName}, ${e.config.epochs} epochs, batch ${e.config.batch}, lr ${e.config.lr}, KL ${e.config.klSchedule}, free bits ${e.config.freeBits}`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}
