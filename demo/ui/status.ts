/** The status line, the adapter line and which buttons and controls are usable in each state. */
import type { EpochEvent, GpuHandle, StepEvent } from '../../src/index.ts';
import type { StudioState } from '../studio.ts';
import { byId, setText } from './dom.ts';

const fmt = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

export function showAdapter(gpu: GpuHandle): void {
  const i = gpu.adapterInfo;
  const parts = [i.vendor || 'unknown vendor', i.architecture, i.description].filter((s) => s);
  setText('adapter', `WebGPU adapter: ${parts.join(' · ')}${gpu.isSoftware ? ' (software fallback on the CPU: expect slow training)' : ' (hardware)'}`);
}

export function showState(s: StudioState, hasModel: boolean): void {
  setText('state', s);
  const busy = s === 'training' || s === 'recovering' || s === 'starting';
  byId<HTMLButtonElement>('train').disabled = !hasModel || busy || s === 'failed';
  byId<HTMLButtonElement>('pause').disabled = s !== 'training';
  byId<HTMLButtonElement>('reset').disabled = busy || s === 'failed';
  byId<HTMLButtonElement>('save').disabled = !hasModel || s === 'recovering' || s === 'starting' || s === 'failed';
  byId<HTMLInputElement>('load').disabled = busy || s === 'failed';
  byId<HTMLSelectElement>('dataset').disabled = busy;
}

export function showStep(e: StepEvent): void {
  setText('step', String(e.step));
  setText('epoch', `${e.epoch} (${e.stepInEpoch}/${e.stepsPerEpoch})`);
  setText('loss', fmt(e.loss, 3));
  setText('recon', fmt(e.recon, 3));
  setText('kl', fmt(e.kl, 3));
  setText('beta-now', fmt(e.beta, 3));
  setText('sps', fmt(e.samplesPerSecond, 1));
}

export function showEpoch(e: EpochEvent): void {
  setText('epoch', String(e.epoch));
  if (e.test) setText('test-loss', `${fmt(e.test.loss, 3)} (epoch ${e.epoch})`);
  if (e.skippedSteps > 0) setText('settings-note', `${e.skippedSteps} updates skipped so far because a gradient was not finite`);
}

/** Shows the step of a model that was replaced (reset, load, recovery). */
export function showModelStep(step: number): void {
  setText('step', String(step));
  if (step === 0) {
    for (const id of ['loss', 'recon', 'kl', 'beta-now', 'sps', 'test-loss']) setText(id, '–');
    setText('epoch', '0');
  }
}
