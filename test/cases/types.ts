/** A GPU test case, run unchanged in Node (Dawn) and in headless Chromium. */
export interface GpuCase {
  readonly name: string;
  run(device: GPUDevice): Promise<void>;
}
