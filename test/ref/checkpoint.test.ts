/**
 * Nothing lost on disk: a checkpoint with NaN or Inf is never written, and a
 * full disk or a permission error while writing leaves the last good
 * checkpoint byte for byte, with no temporary files, and an error that says
 * what happened.
 */
import { test, after } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildForward } from '../../src/graph/build.ts';
import { CheckpointError, loadOptimizer, loadParams, saveCheckpoint } from '../../src/io/checkpoint.ts';
import { FileWriteError, nodeFileOps, writeFileAtomic, type FileOps } from '../../src/io/files.ts';
import { expect, expectThrows } from '../support/check.ts';
import { tinyMlp } from '../support/models.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vae-ckpt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const spec = tinyMlp();

function params(fill: number): Map<string, Float32Array> {
  return new Map(buildForward(spec, 1).params.map((p) => [p.name, new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(fill)]));
}

const optimizer = (fill: number) => ({ type: 'adam', blocks: new Map([['m', new Float32Array(10).fill(fill)], ['v', new Float32Array(10).fill(fill)]]) });

function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

/** File operations that fail with `code` at the `n`-th call of `op` (counting from 1). */
function failing(op: keyof FileOps, n: number, code: string): FileOps {
  let calls = 0;
  return {
    ...nodeFileOps,
    [op]: (...args: unknown[]) => {
      if (++calls === n) throw Object.assign(new Error(`${code}: simulated failure, ${op}`), { code });
      return (nodeFileOps[op] as (...a: unknown[]) => unknown)(...args);
    },
  } as FileOps;
}

test('checkpoint: a state with NaN or Inf is never written; the last good one is kept', async () => {
  const dir = mkdtempSync(join(tmp, 'nan-'));
  saveCheckpoint(dir, spec, params(0.5), optimizer(0.1), { epoch: 1, stepInEpoch: 0, step: 7 });
  const good = snapshot(dir);
  const bad = params(0.25);
  bad.get('fc3.weight')![5] = NaN;
  await expectThrows('NaN parameter', () => saveCheckpoint(dir, spec, bad, optimizer(0.2), { epoch: 2, stepInEpoch: 0, step: 14 }),
    /checkpoint not written: fc3\.weight\[5\] = NaN is not finite; the last good checkpoint in .* is kept/);
  const opt = optimizer(0.2);
  opt.blocks.get('v')![3] = Infinity;
  await expectThrows('Inf optimizer state', () => saveCheckpoint(dir, spec, params(0.25), opt, { epoch: 2, stepInEpoch: 0, step: 14 }),
    /checkpoint not written: optimizer v\[3\] = Infinity is not finite/);
  expect(JSON.stringify([...snapshot(dir)]) === JSON.stringify([...good]), 'the files changed after a refused checkpoint');
  const back = loadParams(join(dir, 'model.safetensors'), spec);
  expect(back.params.get('fc1.weight')![0] === 0.5 && back.metadata.step === '7', 'the last good checkpoint still loads');
});

test('checkpoint: a full disk or a permission error at any point of the write leaves the last good checkpoint intact', async () => {
  const dir = mkdtempSync(join(tmp, 'disk-'));
  saveCheckpoint(dir, spec, params(0.5), optimizer(0.1), { epoch: 1, stepInEpoch: 0, step: 7 });
  const good = snapshot(dir);
  // Two files: open, write, fsync and close are called for each (write possibly more than once).
  const faults: [keyof FileOps, number, string, RegExp][] = [
    ['openSync', 1, 'EACCES', /could not write .*optimizer\.safetensors: permission denied/],
    ['openSync', 2, 'EROFS', /could not write .*model\.safetensors: the file system is read-only/],
    ['writeSync', 1, 'ENOSPC', /could not write .*optimizer\.safetensors: the disk is full/],
    ['writeSync', 2, 'ENOSPC', /could not write .*model\.safetensors: the disk is full/],
    ['fsyncSync', 2, 'EIO', /could not write .*model\.safetensors: EIO: simulated failure/],
    ['closeSync', 1, 'EDQUOT', /could not write .*optimizer\.safetensors: the disk is full \(or over quota\)/],
    ['renameSync', 1, 'EPERM', /could not write .*optimizer\.safetensors: permission denied/],
  ];
  for (const [op, n, code, pattern] of faults) {
    let err: unknown = null;
    try {
      saveCheckpoint(dir, spec, params(0.75), optimizer(0.3), { epoch: 2, stepInEpoch: 0, step: 14 }, failing(op, n, code));
    } catch (e) {
      err = e;
    }
    expect(err instanceof CheckpointError, `${op} #${n} ${code}: expected a CheckpointError, got ${String(err)}`);
    const msg = (err as Error).message;
    expect(pattern.test(msg) && /the previous files are kept/.test(msg), `${op} #${n} ${code}: message ${JSON.stringify(msg)} (expected ${pattern})`);
    expect(JSON.stringify([...snapshot(dir)]) === JSON.stringify([...good]), `${op} #${n} ${code}: the last good checkpoint changed or a temporary file was left: ${readdirSync(dir).join(', ')}`);
  }
  const back = loadParams(join(dir, 'model.safetensors'), spec);
  const opt = loadOptimizer(join(dir, 'optimizer.safetensors'), ['m', 'v'], 10);
  expect(back.params.get('fc4.bias')![0] === 0.5 && opt.progress.step === 7 && opt.state.blocks.get('m')![0] === Math.fround(0.1), 'the last good checkpoint loads, model and optimizer from the same step');
  // Without a fault the new checkpoint replaces the old one.
  saveCheckpoint(dir, spec, params(0.75), optimizer(0.3), { epoch: 2, stepInEpoch: 0, step: 14 });
  expect(loadParams(join(dir, 'model.safetensors'), spec).metadata.step === '14' && readdirSync(dir).length === 2, `after a good write: ${readdirSync(dir).join(', ')}`);
});

test('writeFileAtomic: a short-writing or failing disk leaves the old file and no temporary file', async () => {
  const dir = mkdtempSync(join(tmp, 'atomic-'));
  const path = join(dir, 'config.json');
  writeFileAtomic(path, 'old');
  const zero: FileOps = { ...nodeFileOps, writeSync: () => 0 };
  await expectThrows('write of 0 bytes', () => writeFileAtomic(path, 'new contents', zero), /could not write .*config\.json: write returned 0 bytes; the previous file is kept/);
  let err: unknown = null;
  try {
    writeFileAtomic(path, 'new contents', failing('writeSync', 1, 'ENOSPC'));
  } catch (e) {
    err = e;
  }
  expect(err instanceof FileWriteError && err.code === 'ENOSPC' && /the disk is full/.test(err.message), `ENOSPC: ${String(err)}`);
  expect(readFileSync(path, 'utf8') === 'old' && readdirSync(dir).join(',') === 'config.json', `after failures: ${readdirSync(dir).join(', ')}`);
  await expectThrows('missing folder', () => writeFileAtomic(join(dir, 'nope', 'x'), 'a'), /could not write .*nope\/x: the folder does not exist/);
});

test('checkpoint: the epoch sums (NaN included) and skipped steps round-trip exactly; bad epoch_sums metadata is refused', async () => {
  const dir = mkdtempSync(join(tmp, 'sums-'));
  const sums = { loss: 0.1 + 0.2, recon: 1234.5678901234567, kl: 1e-300, objective: 3 / 7, count: 12 };
  saveCheckpoint(dir, spec, params(0.5), optimizer(0.1), { epoch: 0, stepInEpoch: 12, step: 12, skips: 3, epochSums: sums });
  const back = loadOptimizer(join(dir, 'optimizer.safetensors'), ['m', 'v'], 10).progress;
  expect(back.skips === 3 && JSON.stringify(back.epochSums) === JSON.stringify(sums) && back.epochSums!.loss === sums.loss, `read back ${JSON.stringify(back)}`);
  saveCheckpoint(dir, spec, params(0.5), optimizer(0.1), { epoch: 1, stepInEpoch: 0, step: 7 });
  const old = loadOptimizer(join(dir, 'optimizer.safetensors'), ['m', 'v'], 10).progress;
  expect(old.skips === undefined && old.epochSums === undefined, `a checkpoint without them: ${JSON.stringify(old)}`);
  saveCheckpoint(dir, spec, params(0.5), optimizer(0.1), { epoch: 0, stepInEpoch: 4, step: 4, epochSums: { ...sums, kl: NaN } });
  const nan = loadOptimizer(join(dir, 'optimizer.safetensors'), ['m', 'v'], 10).progress.epochSums!;
  expect(Number.isNaN(nan.kl) && nan.recon === sums.recon, `NaN sums read back as ${JSON.stringify(nan)}`);
  saveCheckpoint(dir, spec, params(0.5), optimizer(0.1), { epoch: 0, stepInEpoch: 4, step: 4, epochSums: { ...sums, count: 2.5 } });
  await expectThrows('a fractional count', () => loadOptimizer(join(dir, 'optimizer.safetensors'), ['m', 'v'], 10),
    /optimizer\.safetensors: metadata 'epoch_sums' is .*; expected an object of numbers loss, recon, kl, objective \(null for NaN\) and an integer count$/);
});
