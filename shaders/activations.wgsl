// activations: elementwise activation forward and backward over n floats.
// requires: activation_fns.wgsl
//
// activation_forward                 y_out[i] = f(x[i])
// activation_backward                dx[i] = dy[i] · f'(x[i])        (from the saved input)
// activation_backward_from_output    dx[i] = dy[i] · f'(x[i]), with f' computed from the
//                                    forward output y_saved[i] alone; valid for the activations
//                                    act_grad_from_output covers (identity, relu,
//                                    leaky_relu and elu with alpha ≥ 0, tanh, sigmoid)
// With the override ACCUMULATE the backward entry points add into dx (dx += ...);
// the caller zeroes or initializes dx. Forward ignores it.
// f is selected by the override ACT (codes in activation_fns.wgsl); the
// uniform `alpha` is the slope of leaky_relu and the scale of elu.
//
// Shapes: x, y_out, y_saved, dy, dx: (n) flat f32, any layout (the op is elementwise). An
// output may not be bound to the same buffer as an input (WebGPU forbids a
// writable and a read-only binding of one buffer in a dispatch).
//
// Work split: a workgroup of 256 invocations covers 1024 consecutive elements;
// invocation l handles elements base + l + 256·k, k = 0..3 (four independent
// elements per invocation, neighbouring invocations on neighbouring elements
// so every load is coalesced). Dispatch: grid1d(n, 1024), i.e. the workgroup
// index is wg.x + wg.y · num_workgroups.x when n needs more than 65535 groups.

struct Params {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y_saved: array<f32>; // the forward's output, read by the from-output backward
@group(0) @binding(2) var<storage, read> dy: array<f32>;
// Not named `y`: activation_fns.wgsl has parameters named y, and wgsl_reflect
// counts a parameter that shadows a module-scope variable as a use of it.
@group(0) @binding(3) var<storage, read_write> y_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

// The activation's code (activation_fns.wgsl) and the backward's accumulate
// rule are pipeline constants, set by src/kernels/activation.ts: an adapter
// that runs both sides of a uniform branch (SwiftShader) would otherwise
// evaluate every activation's formula for each element.
override ACT: u32 = 0u;
override ACCUMULATE: bool = false;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn group_base(wg: vec3u, nwg: vec3u) -> u32 {
  return (wg.x + wg.y * nwg.x) * (WG * PER_THREAD);
}

@compute @workgroup_size(256, 1, 1)
fn activation_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) li: u32) {
  let base = group_base(wg, nwg) + li;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < params.n) {
      y_out[i] = act_forward(ACT, x[i], params.alpha);
    }
  }
}

fn store_dx(i: u32, v: f32) {
  if (ACCUMULATE) {
    dx[i] = dx[i] + v;
  } else {
    dx[i] = v;
  }
}

@compute @workgroup_size(256, 1, 1)
fn activation_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  let base = group_base(wg, nwg) + li;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < params.n) {
      store_dx(i, dy[i] * act_grad(ACT, x[i], params.alpha));
    }
  }
}

@compute @workgroup_size(256, 1, 1)
fn activation_backward_from_output(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                   @builtin(local_invocation_index) li: u32) {
  let base = group_base(wg, nwg) + li;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = base + k * WG;
    if (i < params.n) {
      store_dx(i, dy[i] * act_grad_from_output(ACT, y_saved[i], params.alpha));
    }
  }
}
