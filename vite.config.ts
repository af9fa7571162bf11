import { defineConfig } from 'vite';
import { demoData } from './demo/data/plugin.ts';

// The demo lives in demo/; it loads nothing from outside its own origin.
// demoData() serves the packed datasets (and writes data/mnist.bin into the build).
export default defineConfig({
  root: 'demo',
  base: './',
  plugins: [demoData()],
  server: { host: '127.0.0.1' },
  build: { outDir: '../dist/demo', emptyOutDir: true, target: 'es2022' },
});
