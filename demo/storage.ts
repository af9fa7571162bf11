/**
 * The last model, kept across reloads in IndexedDB: the model file
 * (safetensors with its definition), the settings it was trained with, the
 * step and the dataset. A full browser storage gives a StorageFullError the
 * page shows; nothing else is lost (the model stays on the GPU and can be
 * saved to a file).
 */
import type { Settings } from './settings.ts';

const DB = 'webgpu-vae-demo';
const STORE = 'models';
const KEY = 'last';

export interface StoredModel {
  readonly file: Uint8Array;
  readonly settings: Settings;
  readonly step: number;
  readonly dataset: string;
  readonly savedAt: string;
}

export class StorageFullError extends Error {
  override readonly name = 'StorageFullError';
}

function isQuota(e: unknown): boolean {
  const n = (e as { name?: string } | null)?.name;
  return n === 'QuotaExceededError' || n === 'NS_ERROR_DOM_QUOTA_REACHED';
}

function wrap(e: unknown, bytes: number): Error {
  if (isQuota(e)) {
    return new StorageFullError(`browser storage is full: the model (${(bytes / 1e6).toFixed(1)} MB) was not kept for your next visit. Free some site data or save the model to a file.`);
  }
  return new Error(`browser storage failed: ${(e as Error)?.message ?? String(e)}`);
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('indexedDB.open failed'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page'));
  });
}

async function run<T>(mode: IDBTransactionMode, body: (s: IDBObjectStore) => IDBRequest<T> | null, bytes = 0): Promise<T | undefined> {
  let db: IDBDatabase;
  try {
    db = await open();
  } catch (e) {
    throw wrap(e, bytes);
  }
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      let result: T | undefined;
      let tx: IDBTransaction;
      try {
        tx = db.transaction(STORE, mode);
        const req = body(tx.objectStore(STORE));
        if (req) req.onsuccess = () => (result = req.result);
      } catch (e) {
        reject(wrap(e, bytes));
        return;
      }
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(wrap(tx.error, bytes));
      tx.onerror = () => reject(wrap(tx.error, bytes));
    });
  } finally {
    db.close();
  }
}

/** Keeps `m` as the last model; throws StorageFullError when the browser's quota is reached. */
export async function saveLastModel(m: StoredModel): Promise<void> {
  await run('readwrite', (s) => s.put(m, KEY), m.file.byteLength);
}

/** The last model kept, or null. */
export async function loadLastModel(): Promise<StoredModel | null> {
  const v = await run<unknown>('readonly', (s) => s.get(KEY));
  if (!v || typeof v !== 'object') return null;
  const m = v as Partial<StoredModel>;
  if (!(m.file instanceof Uint8Array) || typeof m.settings !== 'object' || typeof m.step !== 'number') return null;
  return m as StoredModel;
}

export async function clearLastModel(): Promise<void> {
  await run('readwrite', (s) => s.delete(KEY));
}
