/**
 * The program of docs/getting-started.md (its `ts getting-started` blocks, in
 * order) and the checks of what it prints: run in Node by
 * test/node/getting-started.test.ts and in a page of the installed package by
 * test/browser/package.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './package.ts';

export function gettingStartedProgram(): string {
  const doc = readFileSync(join(REPO, 'docs', 'getting-started.md'), 'utf8');
  const blocks = [...doc.matchAll(/```ts getting-started\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 5, `expected the five parts of the program in docs/getting-started.md, found ${blocks.length} blocks`);
  return blocks.join('\n');
}

/** Checks the lines the program printed. */
export function checkGettingStartedOutput(where: string, output: string): void {
  const epochs = [...output.matchAll(/^epoch (\d+): train loss ([\d.]+), test loss ([\d.]+)$/gm)].map((m) => ({ epoch: Number(m[1]), test: Number(m[3]) }));
  assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3, 4, 5], `${where}: one line per epoch in:\n${output}`);
  assert.ok(epochs[4]!.test < epochs[0]!.test, `${where}: test loss should fall over 5 epochs: ${epochs.map((e) => e.test).join(', ')}`);
  const elbo = /^test ELBO (-?[\d.]+), active units (\d) of 2$/m.exec(output);
  const restored = /^restored test ELBO (-?[\d.]+)$/m.exec(output);
  const nll = /^test NLL \(64 importance samples\) ([\d.]+)$/m.exec(output);
  assert.ok(elbo && restored && nll, `${where}: missing evaluation lines in:\n${output}`);
  assert.equal(restored[1], elbo[1], `${where}: the saved and reloaded model should evaluate to the same ELBO`);
  assert.ok(Number(nll[1]) < -Number(elbo[1]) + 0.5, `${where}: the importance-weighted NLL (${nll[1]}) should not exceed −ELBO (${-Number(elbo[1])}) by more than noise`);
  assert.match(output, /^4 samples of 64 pixels, brightest 0\.\d\d$/m, where);
  assert.match(output, /^latent code of the first test picture: -?\d+\.\d\d, -?\d+\.\d\d$/m, where);
}
