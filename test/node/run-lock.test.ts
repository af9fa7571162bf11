/**
 * One writer per run folder. The lock file: a second writer is refused with
 * one line naming the holder; a lock whose process is gone (exited, killed,
 * a reboot, a reused PID) is taken over, by exactly one of several processes
 * racing for it. Readers take no lock and always read a consistent
 * model/optimizer pair while checkpoints are being written. On the command
 * line: a `resume` (or `train --out`) of a folder being trained is refused
 * while the first run finishes unharmed, with one metrics row per epoch; a
 * run killed with -9 in the middle of an epoch leaves a stale lock that
 * `resume` takes over, and the resumed run gives exactly the losses of an
 * uninterrupted one (metrics rows written after the last checkpoint are
 * dropped, so each epoch has one row); SIGTERM saves and releases the lock.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeNpy } from '../../src/data/npy.ts';
import { buildForward } from '../../src/graph/build.ts';
import { loadCheckpoint } from '../../src/io/checkpoint.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { acquireRunLock, LOCK_FILE, removeIfUnchanged, RunLockedError, type LockInfo } from '../../src/io/lock.ts';
import { expect } from '../support/check.ts';
import { tinyMlp } from '../support/models.ts';

const BIN = new URL('../../bin/webgpu-vae.mjs', import.meta.url).pathname;
const SRC = new URL('../../src/', import.meta.url).pathname;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-lock-'));
  writeFileSync(join(dir, 'data.npy'), encodeNpy('<f4', [60, 12], Array.from({ length: 720 }, (_, i) => (i % 11) / 10)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A PID that no process has: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

function writeLock(folder: string, info: Partial<LockInfo>): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, LOCK_FILE), `${JSON.stringify({ pid: 1, host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'train', ...info })}\n`);
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RunLockedError) return e.message;
    throw e;
  }
  throw new Error('the lock was not refused');
}

test('lock: one holder; a second writer is refused with one line naming the PID; release frees it', () => {
  const folder = join(dir, 'one');
  mkdirSync(folder);
  const a = acquireRunLock(folder, 'train');
  const held = JSON.parse(readFileSync(join(folder, LOCK_FILE), 'utf8')) as LockInfo;
  expect(held.pid === process.pid && held.host === hostname() && held.command === 'train' && !Number.isNaN(Date.parse(held.started)), `lock file: ${JSON.stringify(held)}`);
  const msg = refusal(() => acquireRunLock(folder, 'resume'));
  expect(!msg.includes('\n') && msg.includes(`PID ${process.pid} on ${hostname()} (webgpu-vae train`) && msg.includes(`webgpu-vae resume ${folder}`), `refusal: ${msg}`);
  a.release();
  expect(!existsSync(join(folder, LOCK_FILE)), 'the lock file is removed on release');
  const b = acquireRunLock(folder, 'resume');
  expect(b.tookOver === null, 'a free folder is not a takeover');
  a.release(); // a released lock never removes the next holder's
  expect(existsSync(join(folder, LOCK_FILE)), 'a second release removed another holder\'s lock');
  b.release();
});

test('lock: a stale lock (process gone, reboot, reused PID) is taken over with a message; another host\'s is refused', () => {
  const cases: [string, Partial<LockInfo>][] = [
    ['exited', { pid: deadPid() }],
    // process.ppid runs, but in another boot, or it is not the process that took the lock.
    ['rebooted', { pid: process.ppid, bootId: 'another-boot' }],
    ['reused PID', { pid: process.ppid, procStart: '1' }],
  ];
  for (const [name, info] of cases) {
    const folder = join(dir, `stale-${name.replace(' ', '-')}`);
    writeLock(folder, info);
    const said: string[] = [];
    const lock = acquireRunLock(folder, 'resume', (m) => said.push(m));
    expect(lock.tookOver?.pid === info.pid && said.length === 1 && said[0]!.includes(`took over the lock of PID ${info.pid} on ${hostname()}`) && said[0]!.includes('no longer runs'), `${name}: ${said.join(' / ')}`);
    expect((JSON.parse(readFileSync(join(folder, LOCK_FILE), 'utf8')) as LockInfo).pid === process.pid, `${name}: the lock is this process's`);
    lock.release();
  }
  // A live holder on this host (the parent process, as recorded when it took the lock) is not stale.
  const live = join(dir, 'live');
  writeLock(live, { pid: process.ppid });
  expect(refusal(() => acquireRunLock(live, 'resume')).includes(`PID ${process.ppid}`), 'a live holder was taken over');
  const other = join(dir, 'other-host');
  writeLock(other, { pid: 4242, host: 'elsewhere' });
  const msg = refusal(() => acquireRunLock(other, 'train'));
  expect(msg.includes('PID 4242 on elsewhere') && msg.includes(`delete ${join(other, LOCK_FILE)}`), `other host: ${msg}`);
});

test('lock: a takeover removes the stale lock only if it is unchanged, under a mutex that a killed process cannot leave blocked', () => {
  const folder = join(dir, 'takeover');
  writeLock(folder, { pid: deadPid() });
  const path = join(folder, LOCK_FILE);
  const stale = readFileSync(path, 'utf8');
  // Another process took the lock over between this one reading it and removing it: its lock stays.
  writeLock(folder, { pid: process.ppid, command: 'resume' });
  removeIfUnchanged(path, stale);
  expect(existsSync(path) && (JSON.parse(readFileSync(path, 'utf8')) as LockInfo).command === 'resume', 'a lock taken over meanwhile was removed');
  // A mutex left by a process killed while holding it (older than 10 s) does not block; the unchanged stale lock goes.
  mkdirSync(`${path}.takeover`);
  utimesSync(`${path}.takeover`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  removeIfUnchanged(path, readFileSync(path, 'utf8'));
  expect(!existsSync(path) && !existsSync(`${path}.takeover`), 'the stale lock or the mutex is left behind');
});

test('lock: of several processes racing to take over one stale lock, exactly one gets it', { timeout: 120_000 }, async () => {
  const folder = join(dir, 'race');
  writeLock(folder, { pid: deadPid() });
  const script = join(dir, 'racer.mts');
  writeFileSync(script, `
import { existsSync, writeFileSync } from 'node:fs';
import { acquireRunLock } from ${JSON.stringify(join(SRC, 'io/lock.ts'))};
const [folder, go, done, ready] = process.argv.slice(2);
writeFileSync(ready, '');
while (!existsSync(go)) await new Promise((r) => setTimeout(r, 5));
try {
  const lock = acquireRunLock(folder, 'train');
  console.log('acquired');
  while (!existsSync(done)) await new Promise((r) => setTimeout(r, 5));
  lock.release();
} catch (e) {
  console.log('refused: ' + e.message);
}
`);
  const go = join(dir, 'race-go'), done = join(dir, 'race-done');
  const ready = (i: number) => join(dir, `race-ready-${i}`);
  const racers = Array.from({ length: 4 }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, folder, go, done, ready(i)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    return { child, output: () => out, closed: new Promise((r) => child.on('close', r)) };
  });
  while (!racers.every((_, i) => existsSync(ready(i)))) await sleep(20);
  writeFileSync(go, '');
  while (racers.filter((r) => r.output().trim()).length < racers.length) await sleep(20);
  writeFileSync(done, '');
  await Promise.all(racers.map((r) => r.closed));
  const outputs = racers.map((r) => r.output().trim());
  expect(outputs.filter((o) => o === 'acquired').length === 1 && outputs.filter((o) => o.startsWith('refused: ') && o.includes('is being written by PID')).length === 3, `racers: ${JSON.stringify(outputs)}`);
});

test('readers take no lock and always read a consistent model/optimizer pair while checkpoints are written', { timeout: 300_000 }, async () => {
  const folder = join(dir, 'pairs');
  mkdirSync(folder);
  const spec = tinyMlp();
  const script = join(dir, 'checkpointer.mts');
  // Checkpoint k holds the value k in every parameter and every optimizer element.
  writeFileSync(script, `
import { writeFileSync } from 'node:fs';
import { buildForward } from ${JSON.stringify(join(SRC, 'graph/build.ts'))};
import { saveCheckpoint } from ${JSON.stringify(join(SRC, 'io/checkpoint.ts'))};
const [folder, n, specJson] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const spec = JSON.parse(specJson);
const ps = buildForward(spec, 1).params;
const floats = ps.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
for (let k = 1; k <= n; k++) {
  const params = new Map(ps.map((p) => [p.name, new Float32Array(p.shape.reduce((x, y) => x * y, 1)).fill(k)]));
  const blocks = new Map([['m', new Float32Array(floats).fill(k)], ['v', new Float32Array(floats).fill(k)]]);
  saveCheckpoint(folder, spec, params, { type: 'adam', blocks }, { epoch: k, stepInEpoch: 0, step: k });
  if (k === 1) writeFileSync(folder + '/started', '');
}
`);
  const floats = buildForward(spec, 1).params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  const N = 1500;
  const writer = spawn(process.execPath, ['--import', 'tsx', script, folder, String(N), JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit'] });
  let running = true;
  writer.on('close', () => (running = false));
  while (!existsSync(join(folder, 'started'))) await sleep(10);
  const seen = new Set<number>();
  let reads = 0;
  while (running) {
    const ck = loadCheckpoint(folder, spec, ['m', 'v'], floats);
    const k = ck.progress.step;
    expect(ck.metadata.step === String(k), `read ${reads}: model at step ${ck.metadata.step}, optimizer at step ${k}`);
    for (const [name, v] of [...ck.params, ...ck.state.blocks]) {
      const bad = v.findIndex((x) => x !== k);
      expect(bad < 0, `read ${reads}: ${name}[${bad}] = ${v[bad]} in the checkpoint of step ${k}`);
    }
    seen.add(k);
    reads++;
    await new Promise((r) => setImmediate(r));
  }
  expect(writer.exitCode === 0, `the checkpoint writer exited ${writer.exitCode}`);
  // The reads happened while the writes did: they saw many different checkpoints.
  expect(seen.size >= 10, `${reads} reads saw ${seen.size} checkpoints`);
  console.log(`${reads} reads of ${seen.size} different checkpoints (of ${N} written), all consistent`);
});

test('the run folder\'s lock is released on every way out: return, error, process.exit, SIGINT, SIGTERM, a second signal while stopping', { timeout: 300_000 }, async () => {
  const script = join(dir, 'holder.mts');
  writeFileSync(script, `
import { withRunLock } from ${JSON.stringify(join(SRC, 'cli/writer.ts'))};
const [folder, mode] = process.argv.slice(2);
const code = await withRunLock(folder, 'train', async (w) => {
  if (mode === 'handler') w.onStop((s) => console.log('stopping on ' + s));
  if (mode === 'throw') throw new Error('boom');
  if (mode === 'exit') process.exit(3);
  if (mode === 'return') return 0;
  console.log('ready');
  await new Promise((r) => setInterval(r, 1_000_000));
  return 0;
}).catch((e) => (console.log('error ' + e.message), 1));
process.exit(code);
`);
  const cases: [string, string[], number][] = [
    ['return', [], 0], ['throw', [], 1], ['exit', [], 3],
    ['wait', ['SIGINT'], 130], ['wait', ['SIGTERM'], 143],
    // A stop handler (training) takes the first signal; the second ends the process.
    ['handler', ['SIGTERM', 'SIGINT'], 130],
  ];
  for (const [mode, signals, expected] of cases) {
    const folder = join(dir, `holder-${mode}-${signals.join('-')}`);
    mkdirSync(folder);
    const child = spawn(process.execPath, ['--import', 'tsx', script, folder, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    for (const [i, sig] of signals.entries()) {
      while (!out.includes(i === 0 ? 'ready' : 'stopping on')) await sleep(20);
      expect(existsSync(join(folder, LOCK_FILE)), `${mode}: the lock is held before ${sig}`);
      child.kill(sig as NodeJS.Signals);
    }
    const code = await closed;
    expect(code === expected && !existsSync(join(folder, LOCK_FILE)), `${mode} ${signals.join(' ')}: exit ${code} (expected ${expected}), lock ${existsSync(join(folder, LOCK_FILE)) ? 'left behind' : 'released'}; output: ${out}`);
    if (signals.length > 0) expect(out.includes(`webgpu-vae train: stopped by ${signals.at(-1)}`), `${mode}: ${out}`);
    if (mode === 'handler') expect(out.includes('stopping on SIGTERM'), `the stop handler was not called: ${out}`);
  }
});

interface Run { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<number | null> }

function cli(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Waits until the process is stopped (state T in /proc/<pid>/stat). */
async function stopped(pid: number): Promise<void> {
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await sleep(20);
  }
}

const SMALL = ['--dataset', 'data.npy', '--batch', '8', '--hidden', '16', '--latent', '3', '--log-every', '1', '--epochs', '3', '--json'];
interface Row { epoch: number; step: number; train: { loss: number }; test: { loss: number } }
const metrics = (run: string): Row[] => readFileSync(join(dir, run, 'metrics.jsonl'), 'utf8').trim().split('\n').filter((l) => l).map((l) => JSON.parse(l) as Row);
const stepLosses = (stdout: string): Map<number, number> =>
  new Map(stdout.split('\n').filter((l) => l.startsWith('{"type":"step"')).map((l) => JSON.parse(l) as { step: number; loss: number }).map((e) => [e.step, e.loss]));

let reference: { rows: Row[]; steps: Map<number, number> };
async function referenceRun(): Promise<typeof reference> {
  if (reference) return reference;
  const r = cli(['train', ...SMALL, '--out', 'ref']);
  expect((await r.done) === 0, `reference run: ${r.stderr().slice(-400)}`);
  reference = { rows: metrics('ref'), steps: stepLosses(r.stdout()) };
  expect(reference.rows.length === 3 && reference.steps.size === 21, `reference: ${reference.rows.length} rows, ${reference.steps.size} steps`);
  return reference;
}

const sameRows = (a: Row[], b: Row[]) => a.length === b.length && a.every((r, i) => r.epoch === b[i]!.epoch && r.step === b[i]!.step && r.train.loss === b[i]!.train.loss && r.test.loss === b[i]!.test.loss);
const show = (rows: Row[]) => JSON.stringify(rows.map((r) => [r.epoch, r.step, r.train.loss, r.test.loss]));

test('CLI: a resume (or train --out) of a folder being trained is refused; the first run finishes unharmed with one metrics row per epoch', { timeout: 600_000 }, async () => {
  const ref = await referenceRun();
  // The first run stops itself (SIGSTOP) after step 10, in the middle of epoch 2 (7 steps per epoch), holding the lock.
  const first = cli(['train', ...SMALL, '--out', 'busy'], { WEBGPU_VAE_FAULT: 'stop@10' });
  await stopped(first.child.pid!);
  const second = cli(['resume', 'busy', '--json']);
  const code = await second.done;
  expect(code === 1, `a concurrent resume exited ${code}: ${second.stderr()}`);
  const lines = second.stderr().trim().split('\n');
  expect(lines.length === 1 && lines[0]!.startsWith(`webgpu-vae resume: busy is being written by PID ${first.child.pid} on ${hostname()} (webgpu-vae train, started `) && lines[0]!.includes('then run `webgpu-vae resume busy`'), `refusal: ${second.stderr()}`);
  const third = cli(['train', ...SMALL, '--out', 'busy']);
  expect((await third.done) === 1 && third.stderr().includes(`is being written by PID ${first.child.pid}`), `a concurrent train --out: ${third.stderr()}`);
  first.child.kill('SIGCONT');
  expect((await first.done) === 0, `the first run exited non-zero: ${first.stderr().slice(-400)}`);
  const rows = metrics('busy');
  expect(rows.map((r) => r.epoch).join(',') === '1,2,3', `metrics.jsonl epochs: ${rows.map((r) => r.epoch)}`);
  expect(sameRows(rows, ref.rows), `the first run's metrics ${show(rows)} differ from an undisturbed run's ${show(ref.rows)}`);
  expect(!existsSync(join(dir, 'busy', LOCK_FILE)), 'the lock was left behind after a normal end');
});

test('CLI: killed with -9 mid-epoch, the stale lock is taken over and resume gives exactly the losses of an uninterrupted run', { timeout: 600_000 }, async () => {
  const ref = await referenceRun();
  const victim = cli(['train', ...SMALL, '--out', 'killed'], { WEBGPU_VAE_FAULT: 'stop@10' });
  await stopped(victim.child.pid!);
  victim.child.kill('SIGKILL');
  await victim.done;
  expect(metrics('killed').map((r) => r.epoch).join(',') === '1', `killed in epoch 2: metrics ${show(metrics('killed'))}`);
  const stale = JSON.parse(readFileSync(join(dir, 'killed', LOCK_FILE), 'utf8')) as LockInfo;
  expect(stale.pid === victim.child.pid, `the killed run left its lock: ${JSON.stringify(stale)}`);
  // As if killed after appending epoch 2's row but before its checkpoint, then while appending another row.
  appendFileSync(join(dir, 'killed', 'metrics.jsonl'), `${JSON.stringify({ ...ref.rows[1]!, test: { loss: 999 } })}\n{"epoch":3,"st`);
  const re = cli(['resume', 'killed', '--json']);
  expect((await re.done) === 0, `resume exited non-zero: ${re.stderr().slice(-400)}`);
  expect(re.stderr().includes(`webgpu-vae resume: killed: took over the lock of PID ${victim.child.pid} on ${hostname()}`) && re.stderr().includes('which no longer runs'), `takeover message: ${re.stderr()}`);
  const rows = metrics('killed');
  expect(sameRows(rows, ref.rows), `resumed ${show(rows)} vs uninterrupted ${show(ref.rows)}`);
  const steps = stepLosses(re.stdout());
  expect(steps.size === 14 && [...steps].every(([s, l]) => ref.steps.get(s) === l), `step losses after resume ${JSON.stringify([...steps])} vs ${JSON.stringify([...ref.steps])}`);
  expect(!existsSync(join(dir, 'killed', LOCK_FILE)), 'the lock was left behind after resume');
});

test('CLI: SIGTERM in the middle of an epoch saves a checkpoint at that step and releases the lock; resume continues with the uninterrupted losses', { timeout: 600_000 }, async () => {
  const ref = await referenceRun();
  const run = cli(['train', ...SMALL, '--out', 'termed'], { WEBGPU_VAE_FAULT: 'stop@10' });
  await stopped(run.child.pid!);
  run.child.kill('SIGTERM'); // delivered when the process continues
  run.child.kill('SIGCONT');
  const code = await run.done;
  expect(code === 143 && !existsSync(join(dir, 'termed', LOCK_FILE)), `SIGTERM: exit ${code}, lock ${existsSync(join(dir, 'termed', LOCK_FILE)) ? 'left behind' : 'released'}: ${run.stderr().slice(-300)}`);
  const meta = readSafetensors(new Uint8Array(readFileSync(join(dir, 'termed', 'optimizer.safetensors')))).metadata;
  const savedStep = Number(meta.step);
  expect(meta.epoch === '1' && savedStep >= 10 && savedStep < 14, `checkpoint at ${JSON.stringify(meta)}`);
  const re = cli(['resume', 'termed', '--json']);
  expect((await re.done) === 0, `resume: ${re.stderr().slice(-300)}`);
  const rows = metrics('termed');
  // The resumed epoch's train loss is the mean of the steps after the stop; the test losses and every step's loss are the uninterrupted run's.
  expect(rows.map((r) => `${r.epoch}:${r.step}:${r.test.loss}`).join(',') === ref.rows.map((r) => `${r.epoch}:${r.step}:${r.test.loss}`).join(','), `resumed ${show(rows)} vs ${show(ref.rows)}`);
  const steps = stepLosses(re.stdout());
  expect(steps.size === 21 - savedStep && [...steps].every(([s, l]) => ref.steps.get(s) === l), `step losses after resume ${JSON.stringify([...steps])}`);
});
