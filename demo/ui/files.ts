/** Downloading a file the page made, and reading files the user picks or drops. */

export function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export async function readFile(f: File): Promise<Uint8Array> {
  return new Uint8Array(await f.arrayBuffer());
}

/** Calls `onFiles` with the image files dropped on `zone` (folders are walked) or chosen in `input`. */
export function acceptImages(zone: HTMLElement, input: HTMLInputElement, onFiles: (files: File[]) => void): void {
  input.addEventListener('change', () => {
    if (input.files?.length) onFiles(Array.from(input.files));
    input.value = '';
  });
  zone.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    const items = Array.from(ev.dataTransfer?.items ?? []).map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
    void Promise.all(items.map((e) => walk(e, ''))).then((lists) => onFiles(lists.flat()));
  });
}

/** Files under a dropped entry, with the folder path in webkitRelativePath's place (for class labels). */
async function walk(entry: FileSystemEntry, path: string): Promise<File[]> {
  if (entry.isFile) {
    const f = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    if (!path) return [f];
    const named = new File([f], f.name, { type: f.type });
    Object.defineProperty(named, 'webkitRelativePath', { value: `${path}/${f.name}` });
    return [named];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: File[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (!batch.length) break;
    for (const e of batch) out.push(...(await walk(e, path ? `${path}/${entry.name}` : entry.name)));
  }
  return out;
}
