/** Float64 CPU reference of the activation functions in shaders/activation_fns.wgsl. */
import { DEFAULT_ALPHA, type Activation } from '../kernels/activation-codes.ts';

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export function softplus(x: number): number {
  return x > 20 ? x : Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

export function actForward(act: Activation, x: number, alpha = DEFAULT_ALPHA[act] ?? 0): number {
  switch (act) {
    case 'identity': return x;
    case 'relu': return Math.max(x, 0);
    case 'leaky_relu': return x > 0 ? x : alpha * x;
    case 'elu': return x > 0 ? x : alpha * Math.expm1(x);
    case 'gelu': return 0.5 * x * (1 + Math.tanh(GELU_K * (x + GELU_C * x * x * x)));
    case 'silu': return x * sigmoid(x);
    case 'tanh': return Math.tanh(x);
    case 'sigmoid': return sigmoid(x);
    case 'softplus': return softplus(x);
  }
}

/** f'(x). */
export function actGrad(act: Activation, x: number, alpha = DEFAULT_ALPHA[act] ?? 0): number {
  switch (act) {
    case 'identity': return 1;
    case 'relu': return x > 0 ? 1 : 0;
    case 'leaky_relu': return x > 0 ? 1 : alpha;
    case 'elu': return x > 0 ? 1 : alpha * Math.exp(x);
    case 'gelu': {
      const t = Math.tanh(GELU_K * (x + GELU_C * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * x * x);
    }
    case 'silu': {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    }
    case 'tanh': return 1 - Math.tanh(x) ** 2;
    case 'sigmoid': return sigmoid(x) * (1 - sigmoid(x));
    case 'softplus': return x > 20 ? 1 : sigmoid(x);
  }
}

/** f′ as a function of the output y = f(x), for the activations in GRAD_FROM_OUTPUT (act_grad_from_output in the shaders). */
export function actGradFromOutput(act: Activation, y: number, alpha = DEFAULT_ALPHA[act] ?? 0): number {
  switch (act) {
    case 'relu': return y > 0 ? 1 : 0;
    case 'leaky_relu': return y > 0 ? 1 : alpha;
    case 'elu': return y > 0 ? 1 : y + alpha;
    case 'tanh': return 1 - y * y;
    case 'sigmoid': return y * (1 - y);
    case 'identity': return 1;
    default: throw new Error(`actGradFromOutput: the derivative of ${act} is not a function of its output`);
  }
}
