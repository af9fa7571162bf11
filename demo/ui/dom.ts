/** Element lookup by id (a missing element is a bug in index.html) and the page's message area. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: element #${id} is missing from index.html`);
  return el as T;
}

export type MessageKind = 'info' | 'warning' | 'error';

/**
 * Shows a message in the alert area; a message with a `key` replaces the
 * previous one with the same key. Returns a function that removes it.
 */
export function showMessage(text: string, kind: MessageKind = 'info', key?: string): () => void {
  const box = byId('messages');
  if (key) box.querySelector(`[data-key="${key}"]`)?.remove();
  const p = document.createElement('p');
  p.className = kind;
  p.textContent = text;
  if (key) p.dataset.key = key;
  box.append(p);
  while (box.children.length > 6) box.firstElementChild!.remove();
  return () => p.remove();
}

export function clearMessage(key: string): void {
  byId('messages').querySelector(`[data-key="${key}"]`)?.remove();
}

export function setText(id: string, text: string): void {
  const el = byId(id);
  if (el.textContent !== text) el.textContent = text;
}
