/**
 * β (KL weight) annealing and learning-rate schedules, as pure functions of
 * the step, parsed from strings such as "linear:2000" or "cyclical:4:0.5".
 */

export type KlSchedule =
  | { readonly type: 'constant' }
  /** β rises linearly from 0 to its target over `steps`. */
  | { readonly type: 'linear'; readonly steps: number }
  /** β follows a logistic curve centred at steps/2, reaching ~target at `steps`. */
  | { readonly type: 'sigmoid'; readonly steps: number }
  /**
   * Cyclical annealing (Fu et al. 2019): the run is split into `cycles`; in
   * each, β rises linearly over the first `ratio` of the cycle, then stays at
   * its target. Needs the run's total step count.
   */
  | { readonly type: 'cyclical'; readonly cycles: number; readonly ratio: number };

export type LrSchedule =
  | { readonly type: 'constant' }
  /** Cosine decay from lr to lr·minFactor over the run, after `warmup` linear steps. */
  | { readonly type: 'cosine'; readonly warmup: number; readonly minFactor: number }
  /** Multiply by `gamma` every `every` steps. */
  | { readonly type: 'step'; readonly every: number; readonly gamma: number }
  /**
   * Constant, then a cosine decay to lr·minFactor over the run's last
   * `steps` steps, or over the whole run if it is shorter (the
   * stable-then-decay shape: a run of this schedule is
   * a run of the constant rate until the decay starts, so a constant-rate
   * checkpoint from before that step continues into it unchanged).
   */
  | { readonly type: 'tail-cosine'; readonly steps: number; readonly minFactor: number };

/** Thrown for a schedule string that cannot be parsed; the message says what is expected. */
export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

function num(s: string | undefined, what: string, integer: boolean, min: number, max = Infinity): number {
  const v = Number(s);
  if (s === undefined || s === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new ScheduleError(`${what}: got ${JSON.stringify(s ?? '')}; expected ${integer ? 'an integer' : 'a number'} ≥ ${min}${max < Infinity ? ` and ≤ ${max}` : ''}`);
  }
  return v;
}

/** Parses "constant", "linear:<steps>", "sigmoid:<steps>" or "cyclical:<cycles>:<ratio>". */
export function parseKlSchedule(text: string): KlSchedule {
  const [kind, a, b, ...rest] = text.trim().split(':');
  const bad = () => new ScheduleError(`unknown KL schedule ${JSON.stringify(text)}; expected constant, linear:<steps>, sigmoid:<steps> or cyclical:<cycles>:<ratio>`);
  if (rest.length) throw bad();
  switch (kind) {
    case 'constant':
      if (a !== undefined) throw bad();
      return { type: 'constant' };
    case 'linear':
      return { type: 'linear', steps: num(a, 'linear KL schedule steps', true, 1) };
    case 'sigmoid':
      return { type: 'sigmoid', steps: num(a, 'sigmoid KL schedule steps', true, 1) };
    case 'cyclical':
      return { type: 'cyclical', cycles: num(a, 'cyclical KL schedule cycles', true, 1), ratio: num(b ?? '0.5', 'cyclical KL schedule ratio', false, 0.000001, 1) };
    default:
      throw bad();
  }
}

/** β at `step` (0-based) for a run of `totalSteps` steps. */
export function klWeight(s: KlSchedule, beta: number, step: number, totalSteps: number): number {
  switch (s.type) {
    case 'constant':
      return beta;
    case 'linear':
      return beta * Math.min(1, step / s.steps);
    case 'sigmoid':
      return beta / (1 + Math.exp(-12 * (step / s.steps - 0.5)));
    case 'cyclical': {
      const period = Math.max(1, totalSteps / s.cycles);
      const tau = (step % period) / period;
      return beta * Math.min(1, tau / s.ratio);
    }
  }
}

/** Parses "constant", "cosine[:<warmup>[:<minFactor>]]", "step:<every>:<gamma>" or "tail-cosine:<steps>[:<minFactor>]". */
export function parseLrSchedule(text: string): LrSchedule {
  const [kind, a, b, ...rest] = text.trim().split(':');
  const bad = () => new ScheduleError(`unknown learning-rate schedule ${JSON.stringify(text)}; expected constant, cosine[:<warmup>[:<minFactor>]], step:<every>:<gamma> or tail-cosine:<steps>[:<minFactor>]`);
  if (rest.length) throw bad();
  switch (kind) {
    case 'constant':
      return { type: 'constant' };
    case 'cosine':
      return { type: 'cosine', warmup: a === undefined ? 0 : num(a, 'cosine warmup steps', true, 0), minFactor: b === undefined ? 0 : num(b, 'cosine minimum factor', false, 0, 1) };
    case 'step':
      return { type: 'step', every: num(a, 'step schedule interval', true, 1), gamma: num(b, 'step schedule gamma', false, 0) };
    case 'tail-cosine':
      return { type: 'tail-cosine', steps: num(a, 'tail-cosine decay steps', true, 1), minFactor: b === undefined ? 0 : num(b, 'tail-cosine minimum factor', false, 0, 1) };
    default:
      throw bad();
  }
}

/** A cosine from lr (t = 0) to lr·minFactor (t = 1). */
function cosineFrom(lr: number, minFactor: number, t: number): number {
  return lr * (minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Learning rate at `step` (0-based) for a run of `totalSteps` steps. */
export function learningRate(s: LrSchedule, lr: number, step: number, totalSteps: number): number {
  switch (s.type) {
    case 'constant':
      return lr;
    case 'cosine': {
      if (step < s.warmup) return (lr * (step + 1)) / s.warmup;
      const span = Math.max(1, totalSteps - s.warmup - 1); // the last step reaches lr·minFactor
      const t = Math.min(1, (step - s.warmup) / span);
      return cosineFrom(lr, s.minFactor, t);
    }
    case 'step':
      return lr * Math.pow(s.gamma, Math.floor(step / s.every));
    case 'tail-cosine': {
      // A decay longer than the run spans the whole run. Its last step, totalSteps - 1, reaches lr·minFactor.
      const span = Math.min(s.steps, totalSteps);
      const start = totalSteps - span;
      if (step < start) return lr;
      return cosineFrom(lr, s.minFactor, Math.min(1, (step - start) / Math.max(1, span - 1)));
    }
  }
}
