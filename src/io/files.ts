/**
 * Atomic file writes (Node): each file goes to a temporary file in the same
 * folder, is flushed, and is then renamed over its target. Several files can
 * be written as one group: every temporary file is written and flushed before
 * the first rename, so a full disk or a permission error (which strike while
 * writing, not while renaming) leaves every old file as it was.
 */
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The file-system calls used for writing; tests pass failing ones to simulate a full disk. */
export interface FileOps {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, data: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

export const nodeFileOps: FileOps = {
  openSync: (p, f, m) => fs.openSync(p, f, m),
  writeSync: (fd, d, o, l) => fs.writeSync(fd, d, o, l),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (a, b) => fs.renameSync(a, b),
  unlinkSync: (p) => fs.unlinkSync(p),
};

/** A write that failed; the old file (or files) are left as they were. */
export class FileWriteError extends Error {
  override readonly name = 'FileWriteError';
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

function explain(e: unknown): { text: string; code: string | undefined } {
  const code = (e as { code?: string }).code;
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full (or over quota)'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EROFS' ? 'the file system is read-only'
    : code === 'ENOENT' ? 'the folder does not exist'
    : null;
  const msg = (e as Error).message;
  return { text: hint ? `${hint} (${msg})` : msg, code };
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

function writeTemp(tmp: string, bytes: Uint8Array, ops: FileOps): void {
  let fd = -1;
  try {
    fd = ops.openSync(tmp, 'w', 0o644);
    let off = 0;
    while (off < bytes.length) {
      const n = ops.writeSync(fd, bytes, off, bytes.length - off);
      if (!(n > 0)) throw Object.assign(new Error(`write returned ${n} bytes`), { code: 'EIO' });
      off += n;
    }
    ops.fsyncSync(fd);
    ops.closeSync(fd);
    fd = -1;
  } finally {
    if (fd >= 0) {
      try { ops.closeSync(fd); } catch { /* already failing */ }
    }
  }
}

/**
 * Writes each `files[i].data` to `files[i].path` so that readers see the old
 * files or the new ones, never a partial file. All temporary files are written
 * before any is renamed; on an error while writing, every temporary file is
 * removed and no target is touched.
 */
export function writeFilesAtomic(files: readonly { readonly path: string; readonly data: Uint8Array | string }[], ops: FileOps = nodeFileOps): void {
  const temps: string[] = [];
  let current = files[0]?.path ?? '';
  try {
    for (const f of files) {
      current = f.path;
      const tmp = tempPath(f.path);
      temps.push(tmp);
      writeTemp(tmp, typeof f.data === 'string' ? new TextEncoder().encode(f.data) : f.data, ops);
    }
    for (let i = 0; i < files.length; i++) {
      current = files[i]!.path;
      ops.renameSync(temps[i]!, files[i]!.path);
      temps[i] = '';
    }
  } catch (e) {
    for (const t of temps) {
      if (!t) continue;
      try { ops.unlinkSync(t); } catch { /* nothing to remove */ }
    }
    const { text, code } = explain(e);
    const kept = files.length > 1 ? 'the previous files are kept' : 'the previous file is kept';
    throw new FileWriteError(`could not write ${current}: ${text}; ${kept}`, code);
  }
}

/** Writes one file atomically (see writeFilesAtomic). */
export function writeFileAtomic(path: string, data: Uint8Array | string, ops: FileOps = nodeFileOps): void {
  writeFilesAtomic([{ path, data }], ops);
}
