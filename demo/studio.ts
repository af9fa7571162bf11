/**
 * The training controller behind the page: one Trainer on the current
 * device, Train / Pause / Reset, the trainer's snapshots (Trainer.snapshot:
 * parameters, optimizer state and position, taken when training starts and
 * every few seconds), the last model kept in IndexedDB, and recovery from a
 * lost device (a new device, a new trainer, the last snapshot restored with
 * Trainer.restore, training resumed). Inference for the views goes through `withInference`, one call
 * at a time, so two views never share a compiled program concurrently; for a
 * sequence model it also gets the autoregressive decoder (SequenceDecoder on
 * the trainer's parameters, made and released with the trainer).
 */
import {
  bufferStats, decodeModelFile, encodeModelFile, releaseWhenDone, requestGpu, Trainer,
  type BufferStats, type Dataset, type EpochEvent, type GpuHandle, type Inference, type ModelSpec, type StepEvent, type TrainEvent, type TrainingState,
} from '../src/index.ts';
import { SequenceDecoder } from '../src/eval/decode.ts';
import { spread, type DataSplit } from './data/datasets.ts';
import { conditionMismatch, modelSpec, settingsForSpec, trainerConfig, type Settings } from './settings.ts';
import { saveLastModel, StorageFullError, type StoredModel } from './storage.ts';
import type { MessageKind } from './ui/dom.ts';

export type StudioState = 'starting' | 'ready' | 'training' | 'paused' | 'done' | 'recovering' | 'failed';

export interface StudioListener {
  state(s: StudioState): void;
  step(e: StepEvent): void;
  epoch(e: EpochEvent): void;
  /** The model was replaced (reset, load, recovery): views redraw from scratch; history after `step` is dropped. */
  model(step: number): void;
  message(text: string, kind: MessageKind, key?: string): void;
  adapter(gpu: GpuHandle): void;
}

/** Test points shown in the views (spread over the test set). */
export const VIEW_POINTS = 500;
/** Seconds between snapshots while training. */
const SNAPSHOT_SECONDS = 8;

/** Whether `device` is lost now or within `ms` (a failed readback often comes just before the loss is reported). */
async function lostSoon(device: GPUDevice, ms = 1500): Promise<boolean> {
  return Promise.race([device.lost.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

export class Studio {
  gpu: GpuHandle | null = null;
  data: DataSplit | null = null;
  /** The test points of the views. */
  view: Dataset | null = null;
  trainer: Trainer | null = null;
  /** The trainer's token-by-token decoder (sequence models only). */
  decoder: SequenceDecoder | null = null;
  settings: Settings | null = null;
  spec: ModelSpec | null = null;
  state: StudioState = 'starting';
  /** Device losses seen, and recoveries completed. */
  losses = 0;
  recoveries = 0;
  /** Uncaptured GPU errors seen (validation, out of memory), for the page and for tests. */
  readonly gpuErrors: string[] = [];
  /** True for a model made by Reset and not trained yet (it may follow the controls). */
  fresh = false;
  private abort: AbortController | null = null;
  private running: Promise<void> | null = null;
  private snapshot: TrainingState | null = null;
  private snapshotAt = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private recovering = false;
  /** Training was asked for and not paused: recovery from a lost device resumes it. */
  private wantTraining = false;
  private persisting: Promise<void> = Promise.resolve();

  constructor(private readonly ui: StudioListener) {}

  private setState(s: StudioState): void {
    this.state = s;
    this.ui.state(s);
  }

  /** Gets a device; a later loss of it starts recovery. */
  async connect(): Promise<GpuHandle> {
    const gpu = await requestGpu({
      onLost: (info) => {
        if (this.gpu?.device === gpu.device) void this.recover(info);
      },
      onError: (err) => {
        if (this.recovering) return;
        this.gpuErrors.push(err.message);
        this.ui.message(`GPU error: ${err.message}`, 'error', 'gpu-error');
      },
    });
    this.gpu = gpu;
    this.ui.adapter(gpu);
    return gpu;
  }

  bufferStats(): BufferStats | null {
    return this.gpu ? bufferStats(this.gpu.device) : null;
  }

  /** Uses a new dataset; the model is rebuilt with fresh parameters. */
  async setData(split: DataSplit, settings: Settings): Promise<void> {
    await this.pause();
    this.data = split;
    this.view = spread(split.test, VIEW_POINTS);
    await this.reset(settings);
  }

  /** Builds a trainer for `settings` (and `spec`, when a loaded model differs from the presets), optionally with parameters. */
  private async build(settings: Settings, spec: ModelSpec, params?: ReadonlyMap<string, Float32Array>): Promise<void> {
    if (!this.gpu || !this.data || !this.view) throw new Error('no device or no dataset yet');
    // Views still computing on the old model keep it until they are done.
    const old = this.trainer, oldDecoder = this.decoder;
    if (old) {
      void releaseWhenDone(old.device, () => {
        oldDecoder?.destroy();
        old.destroy();
      }, this.queue);
    }
    this.trainer = null;
    this.decoder = null;
    const t = new Trainer(this.gpu.device, trainerConfig(settings, spec), this.data.train, this.view);
    try {
      if (params) t.session.setParams(params);
      // Rows per submit: the views decode at most a few hundred strings at a time.
      if (this.data.sequences) this.decoder = new SequenceDecoder(t.device, spec, t.session.params, 256);
    } catch (e) {
      t.destroy();
      throw e;
    }
    this.trainer = t;
    this.settings = settings;
    this.spec = spec;
    this.snapshot = null;
  }

  /** A fresh model from the settings. */
  async reset(settings: Settings): Promise<void> {
    await this.pause();
    await this.build(settings, modelSpec(settings, this.data));
    this.fresh = true;
    this.setState('ready');
    this.ui.model(0);
  }

  /** Trains until paused, done, or the device is lost. */
  train(): void {
    const t = this.trainer;
    if (!t || this.state === 'training' || this.recovering) return;
    if (t.epoch >= t.config.epochs) {
      this.ui.message(`All ${t.config.epochs} epochs are done: raise Epochs and press Reset, or load another model.`, 'info', 'done');
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    this.fresh = false;
    this.wantTraining = true;
    this.setState('training');
    const device = t.device;
    this.running = (async () => {
      try {
        await this.takeSnapshot(t);
        const finished = await t.run((e) => this.onEvent(t, e), abort.signal);
        if (this.trainer !== t || this.recovering) return;
        await this.takeSnapshot(t);
        void this.persist();
        if (finished) this.wantTraining = false;
        this.setState(finished ? 'done' : 'paused');
      } catch (e) {
        if (this.recovering || this.trainer !== t || (await lostSoon(device))) return; // recovery takes over
        this.wantTraining = false;
        this.ui.message(`Training stopped: ${(e as Error).message}`, 'error', 'train-error');
        this.setState('paused');
      }
    })();
  }

  /** Stops after the current step; resolves when the loop has returned. */
  async pause(): Promise<void> {
    this.wantTraining = false;
    this.abort?.abort();
    this.abort = null;
    const r = this.running;
    this.running = null;
    if (r) await r;
  }

  private async onEvent(t: Trainer, e: TrainEvent): Promise<void> {
    if (e.type === 'step') this.ui.step(e);
    else if (e.type === 'epoch') this.ui.epoch(e);
    else this.ui.message(e.message, 'warning', e.type);
    if (performance.now() - this.snapshotAt > SNAPSHOT_SECONDS * 1000) {
      await this.takeSnapshot(t);
      void this.persist();
    }
  }

  /** The trainer's state on the host (awaited between steps, so it belongs to one step). */
  private async takeSnapshot(t: Trainer): Promise<void> {
    const s = await t.snapshot();
    if (this.trainer !== t) return;
    this.snapshot = s;
    this.snapshotAt = performance.now();
  }

  /** Keeps the last snapshot in IndexedDB (one write at a time); a full storage is reported, not fatal. */
  private persist(): Promise<void> {
    this.persisting = this.persisting.then(() => this.write());
    return this.persisting;
  }

  /** Resolves when the model writes started so far have finished. */
  stored(): Promise<void> {
    return this.persisting;
  }

  private async write(): Promise<void> {
    const s = this.snapshot;
    if (!s || !this.spec || !this.settings) return;
    const record: StoredModel = {
      file: encodeModelFile(this.spec, s.params, { step: String(s.step) }),
      settings: this.settings, step: s.step, dataset: this.data?.name ?? '', savedAt: new Date().toISOString(),
    };
    try {
      await saveLastModel(record);
    } catch (e) {
      this.ui.message(e instanceof StorageFullError ? e.message : `The model was not kept for your next visit: ${(e as Error).message}`, 'warning', 'storage');
    }
  }

  /** The current model as a safetensors file (PyTorch state_dict names, the model definition in the metadata). */
  async modelFile(): Promise<{ bytes: Uint8Array; name: string }> {
    const t = this.trainer;
    if (!t || !this.spec || !this.settings) throw new Error('no model yet');
    const params = await t.session.getParams();
    const bytes = encodeModelFile(this.spec, params, { step: String(t.session.step), dataset: this.data?.name ?? '' });
    return { bytes, name: `vae-${this.settings.model}-z${this.spec.latent}-step${t.session.step}.safetensors` };
  }

  /**
   * Loads a model file: its own definition, or the one the controls describe
   * for a file without one (a PyTorch state_dict). A model conditioned on a
   * label is refused for data without labels (or with more classes than it
   * knows). Returns the settings the controls should show.
   */
  async loadModel(bytes: Uint8Array, source: string, controls: Settings, stored?: StoredModel): Promise<Settings> {
    await this.pause();
    const { spec, params } = decodeModelFile(bytes, modelSpec(controls, this.data), source);
    const mismatch = conditionMismatch(spec, this.data);
    if (mismatch) throw new Error(`${source}: ${mismatch}`);
    const settings = stored?.settings ?? settingsForSpec(spec, controls, this.data) ?? controls;
    await this.build(settings, spec, params);
    this.fresh = false;
    this.setState('ready');
    this.ui.model(0);
    if (!stored) void this.persistCurrent();
    return settings;
  }

  private async persistCurrent(): Promise<void> {
    if (this.trainer) await this.takeSnapshot(this.trainer);
    await this.persist();
  }

  /** Runs view inference one call at a time (with the decoder of a sequence model); null while there is no model (recovery). */
  withInference<T>(fn: (inf: Inference, spec: ModelSpec, decoder: SequenceDecoder | null) => Promise<T>): Promise<T | null> {
    const next = this.queue.then(async () => {
      const t = this.trainer;
      if (!t || !this.spec || this.recovering) return null;
      try {
        return await fn(t.inference, this.spec, this.decoder);
      } catch (e) {
        if (this.recovering || this.trainer !== t || (await lostSoon(t.device))) return null;
        throw e;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Destroys the device, as a driver reset would (for testing the recovery). */
  loseDevice(): void {
    this.gpu?.device.destroy();
  }

  private async recover(info: GPUDeviceLostInfo): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    this.losses++;
    const resume = this.wantTraining;
    this.setState('recovering');
    const snap = this.snapshot;
    this.ui.message(
      `The GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}). Getting a new device and restoring the parameters from step ${snap?.step ?? 0}…`,
      'warning', 'device',
    );
    this.abort?.abort();
    const running = this.running;
    this.running = null;
    if (running) await Promise.race([running, new Promise((r) => setTimeout(r, 5000))]);
    try {
      await this.connect();
      if (!this.settings || !this.spec) throw new Error('no model to restore');
      const settings = this.settings, spec = this.spec;
      await this.build(settings, spec);
      if (snap) {
        this.trainer!.restore(snap);
        this.snapshot = snap;
      }
      this.recovering = false;
      this.recoveries++;
      this.ui.model(snap?.step ?? 0);
      this.ui.message(
        `The GPU device was lost and training recovered on a new device from step ${snap?.step ?? 0}${snap ? '' : ' (no snapshot had been taken yet: the model starts again)'}.`,
        'warning', 'device',
      );
      this.setState('ready');
      if (resume) this.train();
    } catch (e) {
      this.recovering = false;
      this.setState('failed');
      this.ui.message(`The GPU device was lost and could not be replaced: ${(e as Error).message}. Reload the page to start again (the last model is kept in this browser).`, 'error', 'device');
    }
  }
}
