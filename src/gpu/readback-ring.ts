/**
 * Readbacks that do not drain the queue: fixed byte ranges are copied, each
 * read, into the next staging buffer of a ring made once, and the buffer is
 * mapped; the read's promise settles when the GPU has reached the copy, while
 * work submitted after it keeps the GPU busy. At most `slots` reads are
 * pending at once; a read beyond that is refused (await one first).
 */
import { createBuffer, destroyBuffer, type ByteRange } from './buffers.ts';
import { gpuWait } from './wait.ts';

const MAP_READ = 0x0001;
const COPY_DST = 0x0008;

/** Bytes a range takes in a staging buffer (copies move whole 4-byte words). */
const padded = (size: number) => Math.ceil(size / 4) * 4;

export class ReadbackRing {
  private readonly staging: GPUBuffer[] = [];
  private readonly busy: boolean[] = [];
  /** Where each range starts in a staging buffer. */
  private readonly at: number[] = [];
  private next = 0;
  private destroyed = false;

  /**
   * `ranges` are read by every `read` (their buffers need COPY_SRC usage, and
   * offsets a multiple of 4); `slots` staging buffers are made here, once.
   */
  constructor(private readonly device: GPUDevice, private readonly ranges: readonly ByteRange[], readonly slots: number, private readonly label = 'readback ring') {
    if (!Number.isInteger(slots) || slots <= 0) throw new Error(`${label}: slots must be a positive integer, got ${slots}`);
    let total = 0;
    for (const r of ranges) {
      if ((r.offset ?? 0) % 4 !== 0) throw new Error(`${label}: range offset ${r.offset} is not a multiple of 4`);
      this.at.push(total);
      total += padded(r.size);
    }
    for (let i = 0; i < slots; i++) {
      this.staging.push(createBuffer(device, Math.max(4, total), MAP_READ | COPY_DST, `${label} ${i}`));
      this.busy.push(false);
    }
  }

  /** Reads queued and not yet settled. */
  get pending(): number {
    return this.busy.filter(Boolean).length;
  }

  /**
   * Queues a copy of the ranges (one command buffer, one submit; `after`
   * records work that must follow the copy in the same submit, such as
   * clearing what was read) and resolves with their bytes, in order, once the
   * GPU has made the copy. Throws, before queueing anything, when `slots`
   * reads are already pending.
   */
  read(after?: (encoder: GPUCommandEncoder) => void): Promise<ArrayBuffer[]> {
    if (this.destroyed) throw new Error(`${this.label}: read after destroy`);
    const i = this.next;
    if (this.busy[i]) throw new Error(`${this.label}: ${this.slots} reads are already pending; await one before reading again`);
    this.next = (i + 1) % this.slots;
    this.busy[i] = true;
    const staging = this.staging[i]!;
    const enc = this.device.createCommandEncoder({ label: this.label });
    this.ranges.forEach((r, k) => enc.copyBufferToBuffer(r.buffer, r.offset ?? 0, staging, this.at[k]!, padded(r.size)));
    after?.(enc);
    this.device.queue.submit([enc.finish()]);
    const done = gpuWait(() => staging.mapAsync(MAP_READ)).then(
      () => {
        try {
          const all = staging.getMappedRange();
          return this.ranges.map((r, k) => all.slice(this.at[k]!, this.at[k]! + r.size));
        } finally {
          staging.unmap();
          this.busy[i] = false;
        }
      },
      (e: unknown) => {
        this.busy[i] = false;
        throw e;
      },
    );
    // A caller that stops waiting (a lost device ends the run) must not leave an unhandled rejection; awaiting `done` still throws.
    done.catch(() => {});
    return done;
  }

  /** Destroys the staging buffers (pending reads reject). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.staging) destroyBuffer(this.device, b);
  }
}
