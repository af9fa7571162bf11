/**
 * webgpu-vae/testing (Node, for Playwright): WebGPU in headless Chromium as a
 * preset (browser path and flags for a software adapter), a static server
 * that makes a folder's pages secure contexts, an assertion that a page got a
 * WebGPU adapter (and which), and the float64 CPU references of every kernel
 * (`reference.matmulRef`, …) with a tolerance check (`expectClose`), to test
 * kernel results against.
 */
export {
  webgpuPreset, webgpuLaunchOptions, chromiumExecutable,
  WEBGPU_CHROMIUM_FLAGS, SWIFTSHADER_FLAG, DEBIAN_CHROMIUM, CHROMIUM_PATH_ENV, WEBGPU_ADAPTER_ENV,
  type PresetOptions, type WebGpuLaunchOptions, type WebGpuPreset, type AdapterChoice,
} from './chromium.ts';
export { serveFolder, type ServeOptions, type FolderServer } from './serve.ts';
export { expectWebGpuAdapter, type AdapterReport, type AdapterExpectation, type EvaluatingPage } from './adapter.ts';
export { expectClose, type Tolerance } from './close.ts';
export * as reference from './reference.ts';
