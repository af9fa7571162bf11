/**
 * Publishes src/eval/molecules.ts to the Playwright runner: the tests call
 * `window.__molecules.loadRdkit(...)` in the page, which fetches
 * RDKit_minimal.wasm from the page's own origin (by default
 * rdkit/RDKit_minimal.wasm beside this page).
 */
import * as molecules from '../../src/eval/molecules.ts';

declare global {
  interface Window {
    __molecules?: typeof molecules;
  }
}

window.__molecules = molecules;
document.getElementById('log')!.textContent = 'ready';
