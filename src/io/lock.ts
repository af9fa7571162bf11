/**
 * One writer per run folder (Node): a lock file, `.lock`, created exclusively
 * in the folder by the process that writes checkpoints and metrics there, and
 * holding its PID, host, start time and command. A second writer is refused
 * while the holder runs. A lock whose holder no longer exists on this host
 * (killed with -9, or the machine rebooted) is stale and is taken over.
 *
 * The lock file is written complete under a temporary name and then linked
 * to `.lock` (link(2) fails when the name exists), so a reader never sees a
 * half-written lock. Taking over a stale lock is serialized by a second
 * exclusive name, `.lock.takeover` (a folder made with mkdir): the process
 * that holds it checks that the stale lock is still the one it judged stale
 * before removing it, so two processes cannot both take a lock over.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = '.lock';

/** What a lock file holds. */
export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  /** When the holder took the lock (ISO 8601). */
  readonly started: string;
  /** The command that holds it, e.g. "train" or "resume". */
  readonly command: string;
  /** Linux: the boot the holder ran in (/proc/sys/kernel/random/boot_id). */
  readonly bootId?: string;
  /** Linux: the holder's start time in clock ticks since boot (/proc/<pid>/stat), to tell a reused PID apart. */
  readonly procStart?: string;
}

/** A second writer was refused: the message names the holder and what to do. */
export class RunLockedError extends Error {
  override readonly name = 'RunLockedError';
  constructor(message: string, readonly holder: LockInfo) {
    super(message);
  }
}

export interface RunLock {
  readonly path: string;
  readonly info: LockInfo;
  /** The stale lock that was taken over, if any. */
  readonly tookOver: LockInfo | null;
  /** Removes the lock file if it is still this process's (safe to call more than once). */
  release(): void;
}

function readSmall(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function bootId(): string | undefined {
  return readSmall('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks since boot. */
function procStart(pid: number): string | undefined {
  const stat = readSmall(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function parseInfo(text: string): LockInfo | null {
  try {
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (!Number.isInteger(o.pid) || typeof o.host !== 'string' || typeof o.started !== 'string' || typeof o.command !== 'string') return null;
    return o as LockInfo;
  } catch {
    return null;
  }
}

/**
 * Whether the holder of `info` still runs: 'yes', 'no' (stale), or 'unknown'
 * when it ran on another host (its processes cannot be seen from here).
 */
export function holderAlive(info: LockInfo): 'yes' | 'no' | 'unknown' {
  if (info.host !== hostname()) return 'unknown';
  const boot = bootId();
  if (info.bootId && boot && info.bootId !== boot) return 'no'; // the machine rebooted since
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as { code?: string }).code === 'ESRCH') return 'no';
  }
  // The PID exists (or belongs to another user); on Linux, check it is the same process and not a reused PID.
  const now = procStart(info.pid);
  if (info.procStart && now && now !== info.procStart) return 'no';
  return 'yes';
}

function describe(info: LockInfo): string {
  return `PID ${info.pid} on ${info.host} (webgpu-vae ${info.command}, started ${info.started})`;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Creates `path` holding `text`, failing with EEXIST when it exists; the file appears complete. */
function createExclusive(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  try {
    fs.linkSync(tmp, path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EEXIST') throw e;
    // A file system without hard links: fall back to an exclusive create.
    fs.writeFileSync(path, text, { flag: 'wx', mode: 0o644 });
  } finally {
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
  }
}

/**
 * Removes the lock file `path` if it still holds exactly `text` (the stale
 * lock as it was read), holding the takeover mutex while checking: a lock
 * that another process took over in between is left alone. A mutex older
 * than 10 s was left by a process killed while holding it, and is cleared.
 */
export function removeIfUnchanged(path: string, text: string): void {
  const mutex = `${path}.takeover`;
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(mutex);
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      // Another process is taking over; a mutex left by a process killed within these few lines is old.
      try {
        if (Date.now() - fs.statSync(mutex).mtimeMs > 10_000) fs.rmdirSync(mutex);
      } catch { /* gone meanwhile */ }
      if (i > 200) throw new Error(`${mutex}: another process is taking over the lock; try again`);
      sleep(10);
    }
  }
  try {
    if (readSmall(path) === text) fs.unlinkSync(path);
  } finally {
    fs.rmdirSync(mutex);
  }
}

/**
 * Takes the run folder's lock for `command`, or throws RunLockedError (one
 * line naming the holder and how to proceed). A stale lock is taken over and
 * reported through `onTakeOver`.
 */
export function acquireRunLock(dir: string, command: string, onTakeOver: (message: string) => void = () => {}): RunLock {
  const path = join(dir, LOCK_FILE);
  const boot = bootId();
  const start = procStart(process.pid);
  const info: LockInfo = {
    pid: process.pid, host: hostname(), started: new Date().toISOString(), command,
    ...(boot ? { bootId: boot } : {}), ...(start ? { procStart: start } : {}),
  };
  const text = `${JSON.stringify(info)}\n`;
  let tookOver: LockInfo | null = null;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 50) throw new Error(`${path}: could not take the run folder's lock (it kept changing); try again`);
    try {
      createExclusive(path, text);
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw new Error(`${path}: cannot create the run folder's lock (${(e as Error).message})`);
    }
    const held = readSmall(path);
    if (held === null) continue; // released meanwhile
    const holder = parseInfo(held);
    if (!holder) {
      // Being written by a process on a file system without hard links, or not a lock this program writes.
      if (attempt < 10) {
        sleep(50);
        continue;
      }
      throw new RunLockedError(`${dir} is locked by ${path}, which is not a webgpu-vae lock; delete it if no other program writes this folder`, { pid: 0, host: '', started: '', command: '' });
    }
    const alive = holder.pid === process.pid && holder.host === info.host ? 'yes' : holderAlive(holder);
    if (alive === 'yes') {
      throw new RunLockedError(`${dir} is being written by ${describe(holder)}; wait for it to end or stop it (kill -INT ${holder.pid} saves a checkpoint), then run \`webgpu-vae resume ${dir}\``, holder);
    }
    if (alive === 'unknown') {
      throw new RunLockedError(`${dir} is being written by ${describe(holder)}, another host; if that process no longer runs, delete ${path} and try again`, holder);
    }
    removeIfUnchanged(path, held);
    tookOver = holder;
  }
  if (tookOver) onTakeOver(`${dir}: took over the lock of ${describe(tookOver)}, which no longer runs`);
  let released = false;
  return {
    path, info, tookOver,
    release() {
      if (released) return;
      released = true;
      if (readSmall(path) === text) {
        try { fs.unlinkSync(path); } catch { /* already gone */ }
      }
    },
  };
}
