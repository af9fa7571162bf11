import { defineConfig } from 'vite';
import { demoData, rdkitWasm } from './demo/data/plugin.ts';

// The demo lives in demo/; it loads nothing from outside its own origin.
// demoData() serves the packed datasets (and writes data/mnist.bin into the build);
// rdkitWasm() serves RDKit's MinimalLib binary (and writes rdkit/RDKit_minimal.wasm).
export default defineConfig({
  root: 'demo',
  base: './',
  plugins: [demoData(), rdkitWasm()],
  server: { host: '127.0.0.1' },
  build: { outDir: '../dist/demo', emptyOutDir: true, target: 'es2022' },
});
