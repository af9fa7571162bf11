/**
 * The training studio: wires the controls, the Studio (training, snapshots,
 * storage, device recovery) and the views. Everything it loads comes from
 * its own origin.
 */
import { WebGPUUnavailableError, type BufferStats } from '../src/index.ts';
import { availability, imagesFromFiles, loadBuiltin, type BuiltinName, type DataSplit } from './data/datasets.ts';
import { readSettings, writeSettings, type Settings } from './settings.ts';
import { loadLastModel } from './storage.ts';
import { Studio } from './studio.ts';
import { byId, clearMessage, setText, showMessage } from './ui/dom.ts';
import { acceptImages, download, readFile } from './ui/files.ts';
import { showAdapter, showEpoch, showModelStep, showState, showStep } from './ui/status.ts';
import { Curves } from './views/curves.ts';
import { Inspector } from './views/inspector.ts';
import { drawKlBars } from './views/kl.ts';

declare global {
  interface Window {
    /** State for automation and tests. */
    __studio?: {
      readonly studio: Studio;
      readonly inspector: Inspector;
      bufferStats(): BufferStats | null;
      reconstructions(): number[];
      ready: boolean;
    };
  }
}

const curves = new Curves(byId<HTMLCanvasElement>('curves'), byId<HTMLCanvasElement>('beta-curve'));
let userData: DataSplit | null = null;

const studio: Studio = new Studio({
  state: (s) => showState(s, studio.trainer !== null),
  step: (e) => {
    showStep(e);
    curves.add(e);
    drawKlBars(byId<HTMLCanvasElement>('kl-bars'), e.klPerDim, inspector.active);
  },
  epoch: (e) => {
    showEpoch(e);
    curves.addEpoch(e);
  },
  model: (step) => {
    curves.truncate(step);
    showModelStep(step);
    inspector.newModel();
    void inspector.refresh();
  },
  message: (text, kind, key) => showMessage(text, kind, key),
  adapter: showAdapter,
});
const inspector = new Inspector(studio);
window.__studio = {
  studio, inspector, ready: false,
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

async function useDataset(name: string): Promise<void> {
  const s = settingsOrNull();
  if (!s) return;
  setText('dataset-note', `loading ${name}…`);
  const split = name === 'user' ? userData : await loadBuiltin(name as BuiltinName);
  if (!split) throw new Error('drop some images first');
  await studio.setData(split, s);
  setText('dataset-note', `${split.name}: ${split.train.count} training and ${split.test.count} test images${split.train.labels ? '' : ' (no labels)'}`);
}

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
  const fashion = (await availability())['fashion-mnist'];
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
  const name: BuiltinName = stored?.dataset === 'fashion-mnist' && !fashion ? 'fashion-mnist' : 'mnist';
  byId<HTMLSelectElement>('dataset').value = name;
  if (stored) writeSettings(stored.settings);
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
