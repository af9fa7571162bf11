/**
 * Work a test file does once per test run, kept as JSON in the run's output
 * folder. Playwright starts a new worker after any failing test and runs the
 * file's beforeAll again there; with this, the new worker reads the result of
 * the long setup (a page that runs every kernel case, a packed and installed
 * package) instead of redoing it. The output folder is emptied when a run
 * starts, and the file name holds the runner's process id.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestInfo } from '@playwright/test';
import { buildAndPack } from '../support/package.ts';

export async function oncePerRun<T>(info: TestInfo, key: string, work: () => Promise<T>): Promise<T> {
  const file = join(info.project.outputDir, `once-${process.ppid}-${key}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as T;
  mkdirSync(info.project.outputDir, { recursive: true });
  const value = await work();
  writeFileSync(file, JSON.stringify(value));
  return value;
}

/** The library built and packed once per run (into the run's output folder); the tarball's path. */
export function packedLibrary(info: TestInfo): Promise<string> {
  return oncePerRun(info, 'library-tarball', () => buildAndPack(mkdtempSync(join(info.project.outputDir, 'pack-'))));
}
