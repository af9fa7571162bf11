/** Size checks shared by the kernels and their geometry (no GPU code). */

/** Throws a clear error unless every size is a positive integer. */
export function checkSizes(op: string, sizes: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new Error(`${op}: ${k} = ${v}; expected a positive integer (${Object.entries(sizes).map(([a, b]) => `${a}=${b}`).join(', ')})`);
    }
  }
}
