/** CPU reference of shaders/nonfinite.wgsl: the report words after one dispatch. */
export function nonFiniteScanRef(grad: ArrayLike<number>, skipFlag: number, report: readonly number[], step: number): number[] {
  const r = [...report];
  if (skipFlag === 0) return r;
  const first = r[1]!;
  r[0] = (r[0]! + 1) >>> 0;
  if (first === 0) r[1] = step;
  r[2] = step;
  if (first !== 0 && first !== step) return r;
  for (let i = 0; i < grad.length; i++) {
    if (!Number.isFinite(grad[i]!)) {
      r[3] = Math.max(r[3]!, 0xffffffff - i);
      break;
    }
  }
  return r;
}
