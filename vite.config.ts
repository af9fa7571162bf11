import { defineConfig } from 'vite';
import { classifierWeights, demoData, rdkitWasm } from './demo/data/plugin.ts';

// The demo lives in demo/; it loads nothing from outside its own origin.
// demoData() serves the packed datasets (and writes data/mnist.bin into the build);
// rdkitWasm() serves RDKit's MinimalLib binary (and writes rdkit/RDKit_minimal.wasm);
// classifierWeights() the sample-quality classifiers (classifiers/<dataset>.safetensors).
export default defineConfig({
  root: 'demo',
  base: './',
  plugins: [demoData(), rdkitWasm(), classifierWeights()],
  server: { host: '127.0.0.1' },
  // RDKit's MinimalLib is a CommonJS module, imported on demand: converted ahead for the dev server.
  optimizeDeps: { include: ['@rdkit/rdkit'] },
  build: {
    outDir: '../dist/demo', emptyOutDir: true, target: 'es2022',
    // The embedded WGSL and its reflection (about 320 kB) make a chunk of their own, so that no
    // chunk passes Vite's 500 kB warning; the sample-quality code is a chunk loaded on demand.
    rolldownOptions: { output: { codeSplitting: { groups: [{ name: 'shaders', test: /[\\/]src[\\/]shaders[\\/]/ }] } } },
  },
});
