/** Comparing a GPU result with a float64 reference, with a message that finds the worst value. */

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/**
 * Throws unless |actual - expected| <= atol + rtol·|expected| everywhere
 * (NaN and Inf never pass unless both sides agree exactly). The message names
 * `what`, how many values failed, the worst index, both values and the tolerance.
 */
export function expectClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (a === e) continue;
    const err = Math.abs(a - e);
    const limit = tol.atol + tol.rtol * Math.abs(e);
    if (!(err <= limit)) {
      bad++;
      const excess = Number.isFinite(err) ? err / limit : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    const a = actual[worst]!;
    const e = expected[worst]!;
    throw new Error(
      `${what}: ${bad} of ${expected.length} values out of tolerance (atol ${tol.atol}, rtol ${tol.rtol}); ` +
        `worst at index ${worst}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e).toExponential(3)})`,
    );
  }
}
