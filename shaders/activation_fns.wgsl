// Activation functions shared by activations.wgsl and the fused epilogues of
// matmul.wgsl and conv2d.wgsl (they name this file on a `requires:` line).
//
// code: 0 identity, 1 relu, 2 leaky_relu (slope alpha), 3 elu (alpha),
//       4 gelu (tanh form, as PyTorch's approximate='tanh'), 5 silu,
//       6 tanh, 7 sigmoid, 8 softplus (beta 1, linear above x = 20 as PyTorch).
//
// act_forward(code, x, alpha)        y = f(x)
// act_grad(code, x, alpha)           f'(x), from the input
// act_grad_from_output(code, y, a)   f'(x) from the output y, for codes whose
//                                    derivative is a function of y alone
//                                    (0, 1, 2, 3 with alpha > 0, 6, 7)
//
// Dispatch is an if-chain, not a `switch`: SwiftShader's compiler was seen to
// ignore `return` inside switch cases of a called function.

const ACT_IDENTITY: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_LEAKY_RELU: u32 = 2u;
const ACT_ELU: u32 = 3u;
const ACT_GELU: u32 = 4u;
const ACT_SILU: u32 = 5u;
const ACT_TANH: u32 = 6u;
const ACT_SIGMOID: u32 = 7u;
const ACT_SOFTPLUS: u32 = 8u;

const GELU_K: f32 = 0.7978845608028654; // sqrt(2 / pi)
const GELU_C: f32 = 0.044715;

// σ(v) from e = exp(−|v|): never evaluates exp of a positive number. (Not
// named x: wgsl_reflect counts a parameter that shadows a module-scope
// variable as a use of it, and elbo.wgsl binds an x.)
fn sigmoid_from_exp(v: f32, e: f32) -> f32 {
  let s = 1.0 / (1.0 + e);
  return select(e * s, s, v >= 0.0);
}

// log1p(e) for e = exp(−|v|) in (0, 1], with a short series where e is tiny
// to keep relative accuracy.
fn log1p_from_exp(e: f32) -> f32 {
  return select(log(1.0 + e), e * (1.0 - 0.5 * e), e < 1e-4);
}

// Numerically stable logistic function.
fn stable_sigmoid(x: f32) -> f32 {
  return sigmoid_from_exp(x, exp(-abs(x)));
}

// log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).
fn stable_softplus(x: f32) -> f32 {
  return max(x, 0.0) + log1p_from_exp(exp(-abs(x)));
}

// tanh that saturates cleanly (some implementations return NaN for |x| > ~44).
fn safe_tanh(x: f32) -> f32 {
  return select(tanh(x), sign(x), abs(x) > 15.0);
}

fn act_forward(code: u32, x: f32, alpha: f32) -> f32 {
  if (code == 1u) { return max(x, 0.0); }
  if (code == 2u) { return select(alpha * x, x, x > 0.0); }
  if (code == 3u) { return select(alpha * (exp(min(x, 0.0)) - 1.0), x, x > 0.0); }
  if (code == 4u) {
    let u = GELU_K * (x + GELU_C * x * x * x);
    return 0.5 * x * (1.0 + safe_tanh(u));
  }
  if (code == 5u) { return x * stable_sigmoid(x); }
  if (code == 6u) { return safe_tanh(x); }
  if (code == 7u) { return stable_sigmoid(x); }
  if (code == 8u) { return select(stable_softplus(x), x, x > 20.0); }
  return x;
}

fn act_grad(code: u32, x: f32, alpha: f32) -> f32 {
  if (code == 1u) { return select(0.0, 1.0, x > 0.0); }
  if (code == 2u) { return select(alpha, 1.0, x > 0.0); }
  if (code == 3u) { return select(alpha * exp(min(x, 0.0)), 1.0, x > 0.0); }
  if (code == 4u) {
    let u = GELU_K * (x + GELU_C * x * x * x);
    let t = safe_tanh(u);
    let du = GELU_K * (1.0 + 3.0 * GELU_C * x * x);
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
  }
  if (code == 5u) {
    let s = stable_sigmoid(x);
    return s * (1.0 + x * (1.0 - s));
  }
  if (code == 6u) {
    let t = safe_tanh(x);
    return 1.0 - t * t;
  }
  if (code == 7u) {
    let s = stable_sigmoid(x);
    return s * (1.0 - s);
  }
  if (code == 8u) { return select(stable_sigmoid(x), 1.0, x > 20.0); }
  return 1.0;
}

fn act_grad_from_output(code: u32, y: f32, alpha: f32) -> f32 {
  if (code == 1u) { return select(0.0, 1.0, y > 0.0); }
  if (code == 2u) { return select(alpha, 1.0, y > 0.0); }
  if (code == 3u) { return select(y + alpha, 1.0, y > 0.0); }
  if (code == 6u) { return 1.0 - y * y; }
  if (code == 7u) { return y * (1.0 - y); }
  return 1.0;
}

// The three above on each component of a vec4 (the vec4 kernels and the
// register-blocked matmul epilogue).
fn act_forward4(code: u32, v: vec4f, alpha: f32) -> vec4f {
  return vec4f(act_forward(code, v.x, alpha), act_forward(code, v.y, alpha), act_forward(code, v.z, alpha), act_forward(code, v.w, alpha));
}

fn act_grad4(code: u32, v: vec4f, alpha: f32) -> vec4f {
  return vec4f(act_grad(code, v.x, alpha), act_grad(code, v.y, alpha), act_grad(code, v.z, alpha), act_grad(code, v.w, alpha));
}

fn act_grad_from_output4(code: u32, v: vec4f, alpha: f32) -> vec4f {
  return vec4f(act_grad_from_output(code, v.x, alpha), act_grad_from_output(code, v.y, alpha),
               act_grad_from_output(code, v.z, alpha), act_grad_from_output(code, v.w, alpha));
}
