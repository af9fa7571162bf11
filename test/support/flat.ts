/** Runs a trainer to the end and asserts the device's live GPU buffers and bytes never moved after the first step. */
import { bufferStats } from '../../src/gpu/buffers.ts';
import type { Trainer } from '../../src/train/trainer.ts';
import { expect } from './check.ts';

export async function expectFlatBuffersWhileTraining(device: GPUDevice, trainer: Trainer, steps: number): Promise<void> {
  const samples: { step: number; live: number; bytes: number }[] = [];
  await trainer.run((e) => {
    if (e.type === 'step') samples.push({ step: e.step, ...bufferStats(device) });
  });
  expect(samples[samples.length - 1]!.step === steps, `ran ${samples[samples.length - 1]!.step} steps, expected ${steps}`);
  const first = samples[0]!;
  const moved = samples.filter((s) => s.live !== first.live || s.bytes !== first.bytes);
  expect(moved.length === 0, `live buffers moved: ${moved.slice(0, 3).map((s) => `step ${s.step}: ${s.live} buffers, ${s.bytes} bytes (first ${first.live}, ${first.bytes})`).join('; ')}`);
}
