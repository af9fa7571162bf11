/**
 * Checkpoints in a run folder (Node): model.safetensors with PyTorch's
 * state_dict names and layouts, optimizer.safetensors with the optimizer
 * state and the run's progress, and config.json. Writes are atomic and a
 * state with NaN or Inf values is never written.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildForward } from '../graph/build.ts';
import type { ModelSpec } from '../model/spec.ts';
import { readSafetensors, tensorAsF32, writeSafetensors, type TensorToWrite } from './safetensors.ts';
import { nodeFileOps, writeFilesAtomic, type FileOps } from './files.ts';

/** Largest checkpoint file read (1 GiB). */
export const MAX_CHECKPOINT_BYTES = 2 ** 30;

export interface Progress {
  readonly epoch: number;
  readonly stepInEpoch: number;
  readonly step: number;
  /** Updates skipped so far for a non-finite gradient (absent in older checkpoints: 0). */
  readonly skips?: number;
  /** The current epoch's statistics summed over the windows read so far (absent in older checkpoints: zero). */
  readonly epochSums?: { readonly loss: number; readonly recon: number; readonly kl: number; readonly objective: number; readonly count: number };
}

export interface OptimizerState {
  readonly type: string;
  /** Named flat blocks (e.g. "m" and "v" for Adam). */
  readonly blocks: ReadonlyMap<string, Float32Array>;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

function firstNonFinite(name: string, v: Float32Array): string | null {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return `${name}[${i}] = ${v[i]}`;
  return null;
}

/**
 * Writes model.safetensors (and optimizer.safetensors when given) as one
 * atomic group; refuses non-finite values. On any error (a NaN, a full disk, a
 * permission error) the previous checkpoint files are left as they were.
 */
export function saveCheckpoint(dir: string, spec: ModelSpec, params: ReadonlyMap<string, Float32Array>, optimizer: OptimizerState | null, progress: Progress, ops: FileOps = nodeFileOps): void {
  const tensors: TensorToWrite[] = [];
  for (const p of buildForward(spec, 1).params) {
    const v = params.get(p.name);
    if (!v) throw new CheckpointError(`checkpoint: parameter '${p.name}' is missing`);
    const bad = firstNonFinite(p.name, v);
    if (bad) throw new CheckpointError(`checkpoint not written: ${bad} is not finite; the last good checkpoint in ${dir} is kept`);
    tensors.push({ name: p.name, shape: p.shape, data: v });
  }
  const meta: Record<string, string> = { format: 'pt', epoch: String(progress.epoch), step: String(progress.step), step_in_epoch: String(progress.stepInEpoch) };
  // Exact doubles in JSON: a resumed run adds the same numbers in the same order as one never stopped.
  if (progress.skips !== undefined) meta.skipped_steps = String(progress.skips);
  if (progress.epochSums) meta.epoch_sums = JSON.stringify(progress.epochSums);
  const opt: TensorToWrite[] = [];
  if (optimizer) {
    for (const [name, v] of optimizer.blocks) {
      const bad = firstNonFinite(`optimizer ${name}`, v);
      if (bad) throw new CheckpointError(`checkpoint not written: ${bad} is not finite; the last good checkpoint in ${dir} is kept`);
      opt.push({ name, shape: [v.length], data: v });
    }
  }
  // Both files are written before either is renamed. The optimizer state is
  // renamed first: a crash between the two renames leaves a model one step
  // older than its optimizer, which resumes cleanly.
  const files = [{ path: join(dir, 'model.safetensors'), data: writeSafetensors(tensors, meta) }];
  if (optimizer) files.unshift({ path: join(dir, 'optimizer.safetensors'), data: writeSafetensors(opt, { ...meta, optimizer: optimizer.type }) });
  try {
    writeFilesAtomic(files, ops);
  } catch (e) {
    throw new CheckpointError(`checkpoint not written: ${(e as Error).message}`);
  }
}

function readFileChecked(path: string): Uint8Array {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no such file`);
  const size = statSync(path).size;
  if (size > MAX_CHECKPOINT_BYTES) throw new CheckpointError(`${path}: ${size} bytes is above the ${MAX_CHECKPOINT_BYTES}-byte limit for checkpoints`);
  return new Uint8Array(readFileSync(path));
}

/**
 * Reads model parameters from a safetensors file and checks them against the
 * model: every parameter present with its shape, nothing extra, all finite.
 */
export function loadParams(path: string, spec: ModelSpec): { params: Map<string, Float32Array>; metadata: Record<string, string> } {
  const file = readSafetensors(readFileChecked(path), { source: path, maxBytes: MAX_CHECKPOINT_BYTES });
  const params = new Map<string, Float32Array>();
  const expected = buildForward(spec, 1).params;
  for (const p of expected) {
    const t = file.tensors.get(p.name);
    if (!t) throw new CheckpointError(`${path}: tensor '${p.name}' [${p.shape.join(', ')}] is missing (the file has: ${[...file.tensors.keys()].join(', ') || 'none'})`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new CheckpointError(`${path}: tensor '${p.name}' has shape [${t.shape.join(', ')}]; the model needs [${p.shape.join(', ')}]`);
    }
    const v = tensorAsF32(t, `${path}: ${p.name}`);
    const bad = firstNonFinite(p.name, v);
    if (bad) throw new CheckpointError(`${path}: ${bad} is not finite`);
    params.set(p.name, v);
  }
  for (const k of file.tensors.keys()) {
    if (!expected.some((p) => p.name === k)) throw new CheckpointError(`${path}: tensor '${k}' is not a parameter of this model`);
  }
  return { params, metadata: { ...file.metadata } };
}

/**
 * The `epoch_sums` metadata of optimizer.safetensors, checked (undefined when
 * absent). A window whose loss was not finite (skipped steps) makes a sum NaN,
 * which JSON writes as null: null reads back as NaN.
 */
function parseEpochSums(raw: string | undefined, path: string): Progress['epochSums'] {
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = null;
  }
  const keys = ['loss', 'recon', 'kl', 'objective', 'count'] as const;
  const o = v as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || !keys.every((k) => o[k] === null || typeof o[k] === 'number') || !Number.isInteger(o.count) || (o.count as number) < 0) {
    throw new CheckpointError(`${path}: metadata 'epoch_sums' is ${JSON.stringify(raw.slice(0, 200))}; expected an object of numbers loss, recon, kl, objective (null for NaN) and an integer count`);
  }
  const num = (k: (typeof keys)[number]) => (o[k] === null ? NaN : (o[k] as number));
  return { loss: num('loss'), recon: num('recon'), kl: num('kl'), objective: num('objective'), count: num('count') };
}

/** Reads optimizer.safetensors: the named blocks, each of `floats` values, and the progress. */
export function loadOptimizer(path: string, names: readonly string[], floats: number): { state: OptimizerState; progress: Progress } {
  const file = readSafetensors(readFileChecked(path), { source: path, maxBytes: MAX_CHECKPOINT_BYTES });
  const blocks = new Map<string, Float32Array>();
  for (const n of names) {
    const t = file.tensors.get(n);
    if (!t) throw new CheckpointError(`${path}: optimizer block '${n}' is missing`);
    if (t.shape.length !== 1 || t.shape[0] !== floats) throw new CheckpointError(`${path}: optimizer block '${n}' has shape [${t.shape.join(', ')}]; expected [${floats}]`);
    blocks.set(n, tensorAsF32(t, `${path}: ${n}`));
  }
  const num = (k: string) => {
    const v = Number(file.metadata[k]);
    if (!Number.isInteger(v) || v < 0) throw new CheckpointError(`${path}: metadata '${k}' is ${JSON.stringify(file.metadata[k])}; expected a non-negative integer`);
    return v;
  };
  const epochSums = parseEpochSums(file.metadata.epoch_sums, path);
  return {
    state: { type: file.metadata.optimizer ?? '', blocks },
    progress: {
      epoch: num('epoch'), step: num('step'), stepInEpoch: num('step_in_epoch'),
      ...(file.metadata.skipped_steps !== undefined ? { skips: num('skipped_steps') } : {}),
      ...(epochSums ? { epochSums } : {}),
    },
  };
}

/** A run folder's checkpoint: the model and the optimizer state of one step. */
export interface Checkpoint {
  readonly params: Map<string, Float32Array>;
  readonly metadata: Record<string, string>;
  readonly state: OptimizerState;
  readonly progress: Progress;
}

/**
 * Reads model.safetensors and optimizer.safetensors of `dir` as one pair, at
 * the same step. saveCheckpoint renames the optimizer file before the model
 * file; a reader that falls between the two renames reads the pair again.
 * The pair still disagreeing after `attempts` reads means a write was cut off
 * between its renames, which is reported.
 */
export function loadCheckpoint(dir: string, spec: ModelSpec, stateNames: readonly string[], floats: number, attempts = 100): Checkpoint {
  for (let i = 1; ; i++) {
    const { params, metadata } = loadParams(join(dir, 'model.safetensors'), spec);
    const { state, progress } = loadOptimizer(join(dir, 'optimizer.safetensors'), stateNames, floats);
    if (metadata.step === String(progress.step)) return { params, metadata, state, progress };
    if (i >= attempts) {
      throw new CheckpointError(`${dir}: model.safetensors is at step ${metadata.step} but optimizer.safetensors at step ${progress.step}; the last checkpoint write was cut off between its two renames`);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
  }
}
