/**
 * src/eval/molecules.ts in Node: RDKit's MinimalLib (WebAssembly) judges
 * known-good and known-bad SMILES, canonicalizes, draws, computes
 * descriptors and the metrics of generated molecules as counted by hand;
 * all 10,000 WEHI molecules are valid; its answers agree with Debian's
 * python3-rdkit (test/fixtures/rdkit/smiles.json); processing the WEHI set
 * over and over leaves no molecule undeleted and does not grow the WASM
 * memory. Times are printed, not asserted.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { canonicalSmiles, loadRdkit, moleculeMetrics, type Chem } from '../../src/eval/molecules.ts';
import {
  DIFFERENT_MOLECULES, KNOWN_INVALID, KNOWN_VALID, METRICS_CASE, readRdkitFixture, readWehi, SAME_MOLECULE,
} from '../support/molecules.ts';
import { REPO } from '../support/package.ts';

let chem: Chem;
let wehi: string[];

before(async () => {
  const t0 = performance.now();
  chem = await loadRdkit();
  console.log(`RDKit MinimalLib ${chem.version} loaded in ${(performance.now() - t0).toFixed(0)} ms; memory ${chem.memoryBytes()} bytes`);
  wehi = readWehi();
});

test('known-good SMILES are valid; each has a canonical SMILES, a drawing and descriptors', () => {
  for (const s of KNOWN_VALID) {
    assert.equal(chem.isValid(s), true, s);
    const c = chem.canonicalSmiles(s);
    assert.ok(c && c.length > 0, `${s}: canonical ${c}`);
    assert.equal(chem.canonicalSmiles(c), c, `canonical SMILES of ${s} is not a fixed point`);
    assert.match(chem.moleculeSvg(s) ?? '', /^<svg /, s);
    assert.ok(chem.descriptors(s), s);
  }
});

test('known-bad strings are invalid, with no canonical SMILES, drawing or descriptors', () => {
  for (const { smiles, why } of KNOWN_INVALID) {
    const name = `${JSON.stringify(smiles).slice(0, 40)} (${why})`;
    assert.equal(chem.isValid(smiles), false, name);
    assert.equal(chem.canonicalSmiles(smiles), null, name);
    assert.equal(chem.moleculeSvg(smiles), null, name);
    assert.equal(chem.descriptors(smiles), null, name);
  }
});

test('one molecule written two ways has one canonical SMILES; different molecules do not', async () => {
  for (const [a, b] of SAME_MOLECULE) assert.equal(chem.canonicalSmiles(a), chem.canonicalSmiles(b), `${a} vs ${b}`);
  for (const [a, b] of DIFFERENT_MOLECULES) assert.notEqual(chem.canonicalSmiles(a), chem.canonicalSmiles(b), `${a} vs ${b}`);
  assert.equal(await canonicalSmiles('OCC'), 'CCO');
});

test('metrics of a small list: valid, unique and novel as counted by hand', async () => {
  const m = chem.moleculeMetrics([...METRICS_CASE.samples], METRICS_CASE.training);
  assert.deepEqual(m, METRICS_CASE.expected);
  const train = chem.trainingSet(METRICS_CASE.training);
  assert.deepEqual([train.count, train.invalid, [...train.canonical].sort()], [4, 1, ['CCO', 'CN', 'c1ccccc1']]);
  assert.deepEqual(chem.moleculeMetrics([...METRICS_CASE.samples], train), METRICS_CASE.expected);
  assert.deepEqual(await moleculeMetrics([...METRICS_CASE.samples], new Set(METRICS_CASE.training)), METRICS_CASE.expected);
});

test('metrics: at most five invalid examples, distinct, in order; no samples gives zero fractions', () => {
  const m = chem.moleculeMetrics(['C(', 'C(', 'X', 'CCO', 'C1', 'c1cccc1', 'Q', 'C)', ''], []);
  assert.deepEqual(m.invalidExamples, ['C(', 'X', 'C1', 'c1cccc1', 'Q']);
  assert.deepEqual([m.count, m.valid, m.unique, m.novel, m.novelFraction], [9, 1, 1, 1, 1]);
  const none = chem.moleculeMetrics([], ['CCO']);
  assert.deepEqual([none.validFraction, none.uniqueFraction, none.novelFraction], [0, 0, 0]);
});

test('descriptors: rings and weights of phenol, naphthalene and cyclohexane', () => {
  // Standard atomic weights (C 12.011, H 1.008, O 15.999) and monoisotopic masses (C 12, H 1.00782503, O 15.99491462).
  const phenol = chem.descriptors('Oc1ccccc1')!;
  assert.deepEqual([phenol.rings, phenol.aromaticRings, phenol.heavyAtoms, phenol.hBondDonors], [1, 1, 7, 1]);
  assert.ok(Math.abs(phenol.molWeight - (6 * 12.011 + 6 * 1.008 + 15.999)) < 1e-6, `phenol amw ${phenol.molWeight}`);
  assert.ok(Math.abs(phenol.exactMolWeight - (6 * 12 + 6 * 1.00782503 + 15.99491462)) < 1e-5, `phenol exactmw ${phenol.exactMolWeight}`);
  assert.equal(phenol.all.NumRings, 1);
  const naph = chem.descriptors('c1ccc2ccccc2c1')!;
  assert.deepEqual([naph.rings, naph.aromaticRings, naph.heavyAtoms], [2, 2, 10]);
  const hex = chem.descriptors('C1CCCCC1')!;
  assert.deepEqual([hex.rings, hex.aromaticRings, hex.rotatableBonds], [1, 0, 0]);
  assert.ok(Math.abs(hex.molWeight - (6 * 12.011 + 12 * 1.008)) < 1e-6, `cyclohexane amw ${hex.molWeight}`);
});

test('drawings: an <svg> of the asked size with one path class per bond', () => {
  const bonds = (svg: string) => new Set([...svg.matchAll(/class='bond-(\d+)/g)].map((m) => m[1])).size;
  const ethanol = chem.moleculeSvg('CCO', { width: 300, height: 200 })!;
  assert.match(ethanol, /^<svg [^>]*width='300px' height='200px' viewBox='0 0 300 200'>/);
  assert.match(ethanol, /<\/svg>\s*$/);
  assert.equal(bonds(ethanol), 2);
  assert.match(ethanol, /fill='#FF0000'/, 'the oxygen is drawn in red');
  assert.equal(bonds(chem.moleculeSvg('c1ccccc1')!), 6);
  assert.throws(() => chem.moleculeSvg('CCO', { width: 0 }), /moleculeSvg: width 0; expected a whole number of pixels in 16\.\.4096/);
});

test('bad input gets a clear error', () => {
  assert.throws(() => chem.moleculeMetrics('CCO' as unknown as string[], []), /moleculeMetrics: samples is string; expected an array of SMILES strings/);
  assert.throws(() => chem.moleculeMetrics(['CCO', 7 as unknown as string], []), /moleculeMetrics: samples\[1\] is number; expected a SMILES string/);
  assert.throws(() => chem.moleculeMetrics(['CCO'], null as unknown as string[]), /trainingSet: the training set is null; expected an iterable of SMILES strings/);
  assert.throws(() => chem.canonicalSmiles(undefined as unknown as string), /canonicalSmiles: the argument is undefined; expected a SMILES string/);
});

test('loading: one instance per WASM location; a missing or wrong file is named', async () => {
  assert.equal(await loadRdkit(), chem);
  await assert.rejects(loadRdkit({ wasmUrl: '/nonexistent/RDKit_minimal.wasm' }), /loadRdkit: cannot read \/nonexistent\/RDKit_minimal\.wasm: .*expected RDKit_minimal\.wasm of @rdkit\/rdkit/);
  await assert.rejects(loadRdkit({ wasmUrl: join(REPO, 'package.json') }), /loadRdkit: \S+package\.json is not a WASM file \(it starts with "\{ \\"name\\": \\"web"\); expected RDKit_minimal\.wasm of @rdkit\/rdkit$/);
  // A WASM file, but not MinimalLib's.
  const other = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  await assert.rejects(loadRdkit({ wasmUrl: other }), /loadRdkit: \S+tfjs-backend-wasm\.wasm is not the WASM binary this @rdkit\/rdkit expects: /);
});

test('all 10,000 WEHI molecules are valid and distinct; the 1,000 outside the first 9,000 are novel against them', () => {
  assert.equal(wehi.length, 10_000);
  const cpu = (c: NodeJS.CpuUsage) => ((c.user + c.system) / 1000).toFixed(0);
  const t0 = performance.now(), c0 = process.cpuUsage();
  const valid = wehi.filter((s) => chem.isValid(s)).length;
  const t1 = performance.now(), c1 = process.cpuUsage(c0);
  const train = chem.trainingSet(wehi.slice(0, 9000));
  const m = chem.moleculeMetrics(wehi, train);
  const t2 = performance.now(), c2 = process.cpuUsage(c0);
  console.log(`WEHI: 10,000 parsed in ${(t1 - t0).toFixed(0)} ms (${cpu(c1)} ms of CPU); 9,000 canonicalized and metrics of 10,000 in ${(t2 - t1).toFixed(0)} ms (${(Number(cpu(c2)) - Number(cpu(c1))).toFixed(0)} ms of CPU)`);
  assert.equal(valid, 10_000);
  assert.deepEqual([m.valid, m.unique, m.novel, train.invalid, train.canonical.size], [10_000, 10_000, 1000, 0, 9000]);
});

test('no leak: passes over the WEHI molecules leave no molecule undeleted and the WASM memory where the first pass left it', () => {
  const train = chem.trainingSet(wehi.slice(0, 9000));
  const pass = () => {
    chem.moleculeMetrics(wehi, train);
    for (let i = 0; i < wehi.length; i += 10) chem.descriptors(wehi[i]!);
    for (let i = 0; i < wehi.length; i += 50) chem.moleculeSvg(wehi[i]!);
    for (const { smiles } of KNOWN_INVALID) chem.canonicalSmiles(smiles);
    assert.equal(chem.liveMolecules(), 0);
  };
  pass();
  const after1 = chem.memoryBytes();
  const t0 = performance.now();
  for (let i = 0; i < 2; i++) pass();
  console.log(`2 more passes (10,000 canonicalized, 1,000 descriptors, 200 drawings each) in ${(performance.now() - t0).toFixed(0)} ms; WASM memory ${after1} → ${chem.memoryBytes()} bytes`);
  assert.equal(chem.memoryBytes(), after1, 'the WASM memory grew: molecules are not deleted');
});

test('MinimalLib agrees with Debian\'s python3-rdkit on validity, and on which strings are one molecule', () => {
  const { rdkit, entries } = readRdkitFixture();
  assert.ok(entries.length >= 200, `${entries.length} fixture entries`);
  const ours = entries.map((e) => chem.canonicalSmiles(e.smiles));
  const disagree = entries.filter((e, i) => (ours[i] !== null) !== e.valid).map((e) => `${e.smiles} (python: ${e.valid ? 'valid' : 'invalid'})`);
  assert.deepEqual(disagree, [], 'validity differs');
  const valid = entries.map((e, i) => ({ py: e.canonical, js: ours[i] })).filter((v) => v.js !== null);
  let pairs = 0, samePairs = 0;
  for (let i = 0; i < valid.length; i++) {
    for (let j = i + 1; j < valid.length; j++) {
      const py = valid[i]!.py === valid[j]!.py;
      assert.equal(valid[j]!.js === valid[i]!.js, py, `python says ${valid[i]!.py} and ${valid[j]!.py} are ${py ? 'one molecule' : 'different'}; MinimalLib gives ${valid[i]!.js} and ${valid[j]!.js}`);
      pairs++;
      if (py) samePairs++;
    }
  }
  const identical = valid.filter((v) => v.js === v.py).length;
  console.log(`fixture (python RDKit ${rdkit}, MinimalLib ${chem.version}): ${entries.length} strings, ${valid.length} valid in both; ${pairs} pairs compared, ${samePairs} of them one molecule; ${identical} canonical strings identical across the versions`);
  assert.ok(samePairs >= 15, `only ${samePairs} pairs of one molecule in the fixture`);
});
