/**
 * Float64 CPU reference of one GRU layer over a sequence (nn.GRU, one layer,
 * batch_first) and of the recurrence kernels of shaders/gru.wgsl.
 *
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)
 *   z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 *   h' = (1 − z) ⊙ n + z ⊙ h
 *
 * x (B, T, I), h0 (B, H), weight_ih (3H, I), weight_hh (3H, H), bias_ih and
 * bias_hh (3H), gate rows in the order r, z, n; hs (B, T, H) every step's h.
 * The layer is the input projection gi = x·W_ihᵀ + b_ih (B, T, 3H) for all
 * steps at once, then the recurrence over gi.
 */

type Arr = ArrayLike<number>;

export interface GruShape {
  readonly batch: number;
  readonly steps: number;
  readonly hidden: number;
}

export interface GruLayerShape extends GruShape {
  readonly input: number;
}

/** What the recurrence saves for its backward. */
export interface GruSaved {
  /** Every step's hidden state h_t, (B, T, H). */
  readonly hs: Float64Array;
  /** Per (b, t): r, z, n and W_hn h + b_hn, each H long: (B, T, 4H). */
  readonly gates: Float64Array;
  /** The state each step started from, h_{t−1} (h0 at t = 0): (B, T, H). */
  readonly hprev: Float64Array;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** The recurrence over precomputed input projections gi (B, T, 3H), from h0 (null: zeros). */
export function gruRecurrenceRef(gi: Arr, h0: Arr | null, whh: Arr, bhh: Arr, s: GruShape): GruSaved {
  const { batch: B, steps: T, hidden: H } = s;
  const hs = new Float64Array(B * T * H), gates = new Float64Array(B * T * 4 * H), hprev = new Float64Array(B * T * H);
  const gh = new Float64Array(3 * H);
  for (let b = 0; b < B; b++) {
    let h = Float64Array.from({ length: H }, (_, k) => (h0 ? h0[b * H + k]! : 0));
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < 3 * H; j++) {
        let acc = bhh[j]!;
        for (let k = 0; k < H; k++) acc += whh[j * H + k]! * h[k]!;
        gh[j] = acc;
      }
      const bt = b * T + t;
      const next = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const g = bt * 3 * H;
        const r = sigmoid(gi[g + j]! + gh[j]!);
        const z = sigmoid(gi[g + H + j]! + gh[H + j]!);
        const n = Math.tanh(gi[g + 2 * H + j]! + r * gh[2 * H + j]!);
        next[j] = (1 - z) * n + z * h[j]!;
        const sv = bt * 4 * H;
        gates[sv + j] = r;
        gates[sv + H + j] = z;
        gates[sv + 2 * H + j] = n;
        gates[sv + 3 * H + j] = gh[2 * H + j]!;
        hprev[bt * H + j] = h[j]!;
        hs[bt * H + j] = next[j]!;
      }
      h = next;
    }
  }
  return { hs, gates, hprev };
}

/** Gradients of the recurrence from dhs (B, T, H), the gradient of every step's output. */
export interface GruRecurrenceGrads {
  /** Gradient of the input projections gi: (B, T, 3H). */
  readonly dgi: Float64Array;
  /** Gradient of the hidden projections W_hh h + b_hh: (B, T, 3H) (dW_hh = dghᵀ·hprev, db_hh = Σ dgh). */
  readonly dgh: Float64Array;
  /** Gradient of the initial state: (B, H). */
  readonly dh0: Float64Array;
  /** The whole gradient reaching each step's state h_t (from its output and from step t + 1): (B, T, H). */
  readonly dh: Float64Array;
}

/** Backpropagation through time over the saved gates and states. */
export function gruRecurrenceBackwardRef(dhs: Arr, gates: Arr, hprev: Arr, whh: Arr, s: GruShape): GruRecurrenceGrads {
  const { batch: B, steps: T, hidden: H } = s;
  const dgi = new Float64Array(B * T * 3 * H), dgh = new Float64Array(B * T * 3 * H), dh0 = new Float64Array(B * H), dhAll = new Float64Array(B * T * H);
  for (let b = 0; b < B; b++) {
    // carry: the gradient reaching h_t from step t + 1 (z ⊙ dh + dgh·W_hh).
    let carry = new Float64Array(H);
    for (let t = T - 1; t >= 0; t--) {
      const bt = b * T + t;
      const next = new Float64Array(H);
      for (let k = 0; k < H; k++) {
        const sv = bt * 4 * H;
        const [r, z, n, ghn] = [gates[sv + k]!, gates[sv + H + k]!, gates[sv + 2 * H + k]!, gates[sv + 3 * H + k]!];
        const dh = dhs[bt * H + k]! + carry[k]!;
        dhAll[bt * H + k] = dh;
        const dnPre = dh * (1 - z) * (1 - n * n);
        const dzPre = dh * (hprev[bt * H + k]! - n) * z * (1 - z);
        const drPre = dnPre * ghn * r * (1 - r);
        const g = bt * 3 * H;
        dgi[g + k] = drPre;
        dgi[g + H + k] = dzPre;
        dgi[g + 2 * H + k] = dnPre;
        dgh[g + k] = drPre;
        dgh[g + H + k] = dzPre;
        dgh[g + 2 * H + k] = dnPre * r;
        next[k] = z * dh;
      }
      for (let j = 0; j < 3 * H; j++) {
        const d = dgh[bt * 3 * H + j]!;
        for (let k = 0; k < H; k++) next[k] += d * whh[j * H + k]!;
      }
      carry = next;
    }
    dh0.set(carry, b * H);
  }
  return { dgi, dgh, dh0, dh: dhAll };
}

/** dcarry (2, B, H) as the backward steps of shaders/gru.wgsl leave it: slot t mod 2 holds dh_t of the last step t written to it (0 and 1). */
export function gruCarrySlotsRef(dh: Arr, s: GruShape): Float64Array {
  const { batch: B, steps: T, hidden: H } = s;
  const out = new Float64Array(2 * B * H);
  for (let slot = 0; slot < Math.min(2, T); slot++) {
    for (let b = 0; b < B; b++) for (let k = 0; k < H; k++) out[(slot * B + b) * H + k] = dh[(b * T + slot) * H + k]!;
  }
  return out;
}

/** dh0 = z_0 ⊙ dh_0 + dgh_0·W_hh from the saved gates, dgh (B, T, 3H) and the carry slots (dh_0 in slot 0). */
export function gruBackwardH0Ref(gates: Arr, dgh: Arr, dcarry: Arr, whh: Arr, s: GruShape): Float64Array {
  const { batch: B, steps: T, hidden: H } = s;
  const dh0 = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < H; k++) {
      let acc = gates[b * T * 4 * H + H + k]! * dcarry[b * H + k]!;
      for (let j = 0; j < 3 * H; j++) acc += dgh[b * T * 3 * H + j]! * whh[j * H + k]!;
      dh0[b * H + k] = acc;
    }
  }
  return dh0;
}

/** gi = x·W_ihᵀ + b_ih: (B·T, 3H). */
function projectRef(x: Arr, wih: Arr, bih: Arr, rows: number, I: number, G: number): Float64Array {
  const gi = new Float64Array(rows * G);
  for (let p = 0; p < rows; p++) {
    for (let j = 0; j < G; j++) {
      let acc = bih[j]!;
      for (let i = 0; i < I; i++) acc += x[p * I + i]! * wih[j * I + i]!;
      gi[p * G + j] = acc;
    }
  }
  return gi;
}

export interface GruParams {
  readonly weightIh: Arr;
  readonly weightHh: Arr;
  readonly biasIh: Arr;
  readonly biasHh: Arr;
}

/** The whole layer: hs (B, T, H) and what the backward needs. */
export function gruRef(x: Arr, h0: Arr, p: GruParams, s: GruLayerShape): GruSaved {
  const gi = projectRef(x, p.weightIh, p.biasIh, s.batch * s.steps, s.input, 3 * s.hidden);
  return gruRecurrenceRef(gi, h0, p.weightHh, p.biasHh, s);
}

export interface GruGrads {
  readonly dx: Float64Array;
  readonly dh0: Float64Array;
  readonly dweightIh: Float64Array;
  readonly dweightHh: Float64Array;
  readonly dbiasIh: Float64Array;
  readonly dbiasHh: Float64Array;
}

/** Gradients of sum(hs ⊙ dhs) with respect to the inputs and the four parameters. */
export function gruBackwardRef(x: Arr, h0: Arr, p: GruParams, dhs: Arr, s: GruLayerShape): GruGrads {
  const { batch: B, steps: T, hidden: H, input: I } = s;
  const G = 3 * H, rows = B * T;
  const saved = gruRef(x, h0, p, s);
  const { dgi, dgh, dh0 } = gruRecurrenceBackwardRef(dhs, saved.gates, saved.hprev, p.weightHh, s);
  const dweightIh = new Float64Array(G * I), dweightHh = new Float64Array(G * H);
  const dbiasIh = new Float64Array(G), dbiasHh = new Float64Array(G), dx = new Float64Array(rows * I);
  for (let q = 0; q < rows; q++) {
    for (let j = 0; j < G; j++) {
      const a = dgi[q * G + j]!, c = dgh[q * G + j]!;
      dbiasIh[j] += a;
      dbiasHh[j] += c;
      for (let i = 0; i < I; i++) {
        dweightIh[j * I + i] += a * x[q * I + i]!;
        dx[q * I + i] += a * p.weightIh[j * I + i]!;
      }
      for (let k = 0; k < H; k++) dweightHh[j * H + k] += c * saved.hprev[q * H + k]!;
    }
  }
  return { dx, dh0, dweightIh, dweightHh, dbiasIh, dbiasHh };
}
