/**
 * docs/getting-started.md runs as written in Node: its program (importing
 * 'webgpu-vae', which resolves to the sources through tsconfig paths) trains,
 * evaluates, samples, saves and loads, and prints what the doc says.
 * test/browser/package.test.ts runs the same program in a page of the installed package.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { checkGettingStartedOutput, gettingStartedProgram } from '../support/getting-started.ts';
import { REPO } from '../support/package.ts';

test('docs/getting-started.md: the program trains, evaluates, samples, saves and loads in Node', { timeout: 10 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-getting-started-'));
  try {
    const file = join(dir, 'program.mts');
    writeFileSync(file, `${gettingStartedProgram()}\nprocess.exit(0);\n`);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: REPO, timeout: 9 * 60_000, maxBuffer: 16 << 20 });
    console.log(stdout.trim().split('\n').map((l) => `# ${l}`).join('\n'));
    checkGettingStartedOutput('node', stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
