import { defineConfig } from 'vite';

// The demo lives in demo/; it loads nothing from outside its own origin.
export default defineConfig({
  root: 'demo',
  server: { host: '127.0.0.1' },
  build: { outDir: '../dist/demo', emptyOutDir: true, target: 'es2022' },
});
