/**
 * The training studio: wires the controls, the Studio (training, snapshots,
 * storage, device recovery) and the views. Everything it loads comes from
 * its own origin.
 */
import { WebGPUUnavailableError, type BufferStats } from '../src/index.ts';
import { presetRecipe } from '../src/model/presets.ts';
import { availability, imagesFromFiles, loadBuiltin, type BuiltinName, type DataSplit, type DatasetName } from './data/datasets.ts';
import { isSequenceName, SEQUENCE_SOURCES } from './data/lines.ts';
import { loadSequences } from './data/sequences.ts';
import {
  CONDITIONAL, conditionalUnavailable, dataKind, isConditional, MODELS, presetHidden, readSettings, settingsForKind, writeSettings,
  type DataKind, type Settings, type SequenceModel,
} from './settings.ts';
import { loadLastModel } from './storage.ts';
import { Studio } from './studio.ts';
import { byId, clearMessage, setText, showMessage } from './ui/dom.ts';
import { acceptImages, download, readFile } from './ui/files.ts';
import { showAdapter, showEpoch, showModelStep, showState, showStep } from './ui/status.ts';
import { Curves } from './views/curves.ts';
import { Inspector } from './views/inspector.ts';
import { drawKlBars } from './views/kl.ts';
import { QualityPanel } from './views/quality.ts';
import { SequenceInspector } from './views/sequences.ts';

declare global {
  interface Window {
    /** State for automation and tests. */
    __studio?: {
      readonly studio: Studio;
      readonly inspector: Inspector;
      /** The views of a sequence model (molecules, text). */
      readonly sequences: SequenceInspector;
      /** The sample-quality panel (MNIST, Fashion-MNIST). */
      readonly quality: QualityPanel;
      bufferStats(): BufferStats | null;
      reconstructions(): number[];
      ready: boolean;
    };
  }
}

const curves = new Curves(byId<HTMLCanvasElement>('curves'), byId<HTMLCanvasElement>('beta-curve'));
let userData: DataSplit | null = null;

const studio: Studio = new Studio({
  state: (s) => {
    showState(s, studio.trainer !== null);
    quality.update();
  },
  step: (e) => {
    showStep(e);
    curves.add(e);
    drawKlBars(byId<HTMLCanvasElement>('kl-bars'), e.klPerDim, studio.data?.sequences ? sequenceViews.active : inspector.active);
  },
  epoch: (e) => {
    showEpoch(e);
    curves.addEpoch(e);
  },
  model: (step) => {
    curves.truncate(step);
    showModelStep(step);
    inspector.newModel();
    quality.newModel();
    sequenceViews.active = null;
    void inspector.refresh();
    void sequenceViews.refresh();
  },
  message: (text, kind, key) => showMessage(text, kind, key),
  adapter: showAdapter,
});
const inspector = new Inspector(studio);
const sequenceViews = new SequenceInspector(studio);
const quality = new QualityPanel(studio);
window.__studio = {
  studio, inspector, sequences: sequenceViews, quality, ready: false,
  bufferStats: () => studio.bufferStats(),
  reconstructions: () => Array.from(inspector.lastReconstructions ?? []),
};

/** Reads the controls; a bad value is shown and gives null. */
function settingsOrNull(): Settings | null {
  try {
    const s = readSettings();
    clearMessage('settings');
    return s;
  } catch (e) {
    showMessage((e as Error).message, 'error', 'settings');
    return null;
  }
}

/** Runs a user action, showing its error instead of throwing. */
function guard(what: string, f: () => Promise<unknown>): () => void {
  return () => void f().catch((e: Error) => showMessage(`${what}: ${e.message}`, 'error', what));
}

/** The controls' defaults for images (index.html's), taken before any are changed. */
let imageDefaults: Settings | null = null;

/** Shows the views and offers the models of the data (the conditional ones for labelled images only, else disabled with the reason). */
function showKind(kind: DataKind, data: DataSplit | null): void {
  if (document.body.dataset.kind !== kind) {
    byId<HTMLSelectElement>('seq-colour').value = kind === 'molecules' ? 'rings' : 'length';
    document.body.dataset.kind = kind;
  }
  const why = kind === 'images' && data ? conditionalUnavailable(data) : null;
  for (const o of Array.from(byId<HTMLSelectElement>('model').options)) {
    const model = o.value as Settings['model'];
    o.disabled = !MODELS[kind].includes(model) || (isConditional(model) && why !== null);
    o.title = isConditional(model) && why ? why : '';
  }
  setText('model-note', why ?? '');
  byId<HTMLInputElement>('word-dropout').disabled = kind === 'images';
}

async function useDataset(name: string): Promise<void> {
  const s = settingsOrNull();
  if (!s) return;
  setText('dataset-note', `loading ${name}…`);
  const split = name === 'user' ? userData : isSequenceName(name) ? await loadSequences(name) : await loadBuiltin(name as BuiltinName);
  if (!split) throw new Error('drop some images first');
  const kind = dataKind(split);
  // Data of another kind takes its own models, with their defaults (for sequences, the command line's recipe).
  let settings = s;
  if (!MODELS[kind].includes(s.model)) {
    settings = settingsForKind(kind, s, imageDefaults ?? s);
    writeSettings(settings);
  }
  // A conditional model needs labels: on data without them, the model it is built on.
  const unlabelled = conditionalUnavailable(split);
  if (isConditional(settings.model) && unlabelled) {
    showMessage(`${unlabelled} The model is ${CONDITIONAL[settings.model]} instead.`, 'info', 'conditional');
    settings = { ...settings, model: CONDITIONAL[settings.model] };
    writeSettings(settings);
  }
  showKind(kind, split);
  await studio.setData(split, settings);
  setText('dataset-note', split.sequences?.summary ?? `${split.name}: ${split.train.count} training and ${split.test.count} test images${split.train.labels ? '' : ' (no labels)'}`);
}

/** The hidden size each sequence preset starts with: its recipe's, else the preset's own. */
const presetHiddenOf: Record<SequenceModel, number> = Object.fromEntries(
  (['smiles', 'smiles-conv', 'text', 'text-conv'] as const).map((m) => [m, presetRecipe(m).hidden ?? presetHidden(m)]),
) as Record<SequenceModel, number>;

function bindControls(): void {
  byId('train').addEventListener('click', guard('Train', async () => {
    const s = settingsOrNull();
    if (!s) return;
    const t = studio.trainer;
    // A model made by Reset and not trained yet follows the controls; a trained or loaded one keeps its settings until Reset.
    if (t && studio.fresh && JSON.stringify(s) !== JSON.stringify(studio.settings)) await studio.reset(s);
    studio.train();
  }));
  byId('pause').addEventListener('click', guard('Pause', () => studio.pause()));
  byId('reset').addEventListener('click', guard('Reset', async () => {
    const s = settingsOrNull();
    if (s) await studio.reset(s);
  }));
  byId('save').addEventListener('click', guard('Save', async () => {
    const f = await studio.modelFile();
    download(f.bytes, f.name);
  }));
  const load = byId<HTMLInputElement>('load');
  load.addEventListener('change', guard('Load', async () => {
    const f = load.files?.[0];
    load.value = '';
    const s = settingsOrNull();
    if (!f || !s) return;
    writeSettings(await studio.loadModel(await readFile(f), f.name, s));
    showMessage(`Loaded ${f.name}.`, 'info', 'load');
  }));
  byId('controls').addEventListener('change', () => {
    const s = settingsOrNull();
    const cur = studio.settings;
    const differs = s && cur && JSON.stringify(s) !== JSON.stringify(cur) && (studio.trainer?.session.step ?? 0) > 0;
    setText('settings-note', differs ? 'The controls differ from the model being trained: press Reset to start a model with them.' : '');
  });
  const select = byId<HTMLSelectElement>('dataset');
  select.addEventListener('change', guard('Dataset', () => useDataset(select.value)));
  const model = byId<HTMLSelectElement>('model');
  model.addEventListener('change', () => {
    // A sequence preset's hidden size is its decoder's (GRU units or channels).
    if (model.value in presetHiddenOf) byId<HTMLInputElement>('hidden').value = String(presetHiddenOf[model.value as SequenceModel]);
  });
  acceptImages(byId('drop'), byId<HTMLInputElement>('images'), (files) => guard('Your images', async () => {
    const r = await imagesFromFiles(files);
    userData = r.split;
    const opt = select.querySelector<HTMLOptionElement>('option[value=user]')!;
    opt.disabled = false;
    opt.textContent = `Your images (${r.split.train.count + r.split.test.count})`;
    select.value = 'user';
    if (r.inverted || r.skipped.length) {
      showMessage(`${r.inverted} of your images had a light background and were inverted (the models expect light strokes on dark)${r.skipped.length ? `; not images: ${r.skipped.slice(0, 5).join(', ')}` : ''}.`, 'info', 'images');
    }
    await useDataset('user');
  })());
}

/** Pauses while the page is hidden (browsers throttle hidden tabs and may reclaim the GPU) and resumes on return. */
function bindVisibility(): void {
  let resume = false;
  let pausing: Promise<void> = Promise.resolve();
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden' && studio.state === 'training') {
      resume = true;
      pausing = studio.pause();
      showMessage('Training paused while the page is hidden; it resumes when you come back.', 'info', 'hidden');
    } else if (document.visibilityState === 'visible' && resume) {
      resume = false;
      clearMessage('hidden');
      void pausing.then(() => {
        if (document.visibilityState === 'visible') studio.train();
      });
    }
  });
}

async function start(): Promise<void> {
  try {
    await studio.connect();
  } catch (e) {
    byId('no-webgpu').hidden = false;
    setText('no-webgpu-reason', e instanceof WebGPUUnavailableError ? e.message : `requesting a WebGPU device failed: ${(e as Error).message}`);
    setText('adapter', 'No WebGPU adapter.');
    showState('failed', false);
    return;
  }
  imageDefaults = readSettings();
  const available = await availability();
  const fashion = available['fashion-mnist'];
  const missing: string[] = [];
  for (const n of SEQUENCE_SOURCES) {
    const why = available[n];
    if (!why) continue;
    const opt = byId<HTMLSelectElement>('dataset').querySelector<HTMLOptionElement>(`option[value=${n}]`)!;
    opt.disabled = true;
    opt.title = `${n} is not available here: ${why}`;
    opt.textContent += ' (not available)';
    missing.push(opt.title);
  }
  setText('sequence-availability', missing.join(' '));
  if (fashion) {
    const opt = byId<HTMLSelectElement>('dataset').querySelector<HTMLOptionElement>('option[value=fashion-mnist]')!;
    opt.disabled = true;
    opt.textContent = 'Fashion-MNIST (not available)';
    opt.title = `Fashion-MNIST is not available here: ${fashion}`;
    setText('dataset-availability', opt.title);
  }
  bindControls();
  bindVisibility();
  let stored = null;
  try {
    stored = await loadLastModel();
  } catch (e) {
    showMessage(`The last model could not be read from browser storage: ${(e as Error).message}`, 'warning', 'storage');
  }
  const kept = stored?.dataset as DatasetName | undefined;
  const name: DatasetName = kept && (kept === 'fashion-mnist' || isSequenceName(kept)) && available[kept] === null ? kept : 'mnist';
  byId<HTMLSelectElement>('dataset').value = name;
  if (stored) writeSettings(stored.settings);
  showKind(dataKind(null), null);
  await useDataset(name);
  if (stored) {
    try {
      await studio.loadModel(stored.file, 'the last model', stored.settings, stored);
      showMessage(`Restored the last model (step ${stored.step}, kept ${new Date(stored.savedAt).toLocaleString()}); Train continues from it with a fresh optimizer.`, 'info', 'restored');
    } catch (e) {
      showMessage(`The last model could not be restored: ${(e as Error).message}`, 'warning', 'storage');
    }
  }
  await inspector.refresh();
  window.__studio!.ready = true;
}

start().catch((e: Error) => {
  showMessage(`The studio could not start: ${e.message}`, 'error', 'start');
  showState('failed', false);
});
