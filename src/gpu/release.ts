/**
 * Deferred release: GPU objects dropped while work that uses them may still
 * be in flight (submitted commands, or a caller's pending readbacks) are
 * destroyed once that work is done, or at once when the device is lost (a
 * lost device runs nothing more, and destroying its objects is allowed).
 */

/**
 * Calls `release` after `pending` settles and the work submitted to the
 * device's queue by then has completed. Resolves when it has run.
 */
export async function releaseWhenDone(device: GPUDevice, release: () => void, pending: Promise<unknown> = Promise.resolve()): Promise<void> {
  await pending.catch(() => undefined);
  await Promise.race([device.queue.onSubmittedWorkDone().catch(() => undefined), device.lost]);
  release();
}
