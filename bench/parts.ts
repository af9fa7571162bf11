/**
 * The parts of the benchmark suite and how they are picked: `--kernels`,
 * `--matmul`, `--train` (any combination; none means all) and `--quick`
 * (shorter timing budgets). Shared by Node (bench/run.ts) and the page that
 * runs the suite in Chromium (bench/page.ts, given the same words as a query).
 */
import { benchMatmul, type MatmulBench } from './matmul.ts';
import { benchKernels, benchTraining, type KernelResult, type TrainResult } from './suite.ts';

export const PARTS = ['kernels', 'matmul', 'train'] as const;
export type Part = (typeof PARTS)[number];

export interface BenchSelection {
  readonly parts: readonly Part[];
  readonly quick: boolean;
}

/** Reads `--kernels --matmul --train --quick` (unknown words are refused). */
export function parseSelection(words: readonly string[]): BenchSelection {
  const parts: Part[] = [];
  let quick = false;
  for (const w of words) {
    const name = w.replace(/^--/, '');
    if (name === 'quick') quick = true;
    else if ((PARTS as readonly string[]).includes(name)) parts.push(name as Part);
    else throw new Error(`bench: unknown option '${w}': expected --kernels, --matmul, --train or --quick`);
  }
  return { parts: parts.length ? parts : [...PARTS], quick };
}

export interface BenchResults {
  kernels: KernelResult[];
  matmul: MatmulBench | null;
  training: TrainResult[];
  timing: string;
}

/** Runs the selected parts on `device`, logging each line as it is measured. */
export async function runSelection(device: GPUDevice, sel: BenchSelection, log: (s: string) => void): Promise<BenchResults> {
  const has = (p: Part) => sel.parts.includes(p);
  const kernels = has('kernels') ? await benchKernels(device, log) : [];
  const matmul = has('matmul') ? await benchMatmul(device, log, sel.quick ? 400 : 1500) : null;
  const training = has('train') ? await benchTraining(device, log) : [];
  return { kernels, matmul, training, timing: device.features.has('timestamp-query') ? 'gpu timestamps (median)' : 'wall clock' };
}
