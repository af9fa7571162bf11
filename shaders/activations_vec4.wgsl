// activations_vec4: the entry points of activations.wgsl (same formulas,
// uniforms and accumulate rule) over four elements at a time.
// requires: activation_fns.wgsl
//
// Shapes: x4, y_saved4, dy4, y_out4, dx4: (n / 4) vec4, the flat (n) tensors
// of activations.wgsl viewed four floats at a time, so n must be a multiple
// of 4 and the bindings 16-byte aligned (src/kernels/activation.ts uses
// activations.wgsl otherwise). Where every load is a per-lane gather
// (SwiftShader) this is a quarter of the loads; on GPUs it is the usual
// vectorized elementwise kernel.
// One vec4 per invocation, workgroups of 256; dispatch grid1d(n / 4, 256).

struct Params {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read> y_saved4: array<vec4f>;
@group(0) @binding(2) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> y_out4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dx4: array<vec4f>;
@group(0) @binding(5) var<uniform> params: Params;

// The activation's code (activation_fns.wgsl) and the backward's accumulate
// rule are pipeline constants, set by src/kernels/activation.ts: an adapter
// that runs both sides of a uniform branch (SwiftShader) would otherwise
// evaluate every activation's formula for each element.
override ACT: u32 = 0u;
override ACCUMULATE: bool = false;

fn index4(wg: vec3u, nwg: vec3u, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 256u + li;
}

fn store_dx4(i: u32, v: vec4f) {
  if (ACCUMULATE) {
    dx4[i] = dx4[i] + v;
  } else {
    dx4[i] = v;
  }
}

@compute @workgroup_size(256, 1, 1)
fn activation_forward4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  let i = index4(wg, nwg, li);
  if (i >= params.n / 4u) { return; }
  y_out4[i] = act_forward4(ACT, x4[i], params.alpha);
}

@compute @workgroup_size(256, 1, 1)
fn activation_backward4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) li: u32) {
  let i = index4(wg, nwg, li);
  if (i >= params.n / 4u) { return; }
  store_dx4(i, dy4[i] * act_grad4(ACT, x4[i], params.alpha));
}

@compute @workgroup_size(256, 1, 1)
fn activation_backward_from_output4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                    @builtin(local_invocation_index) li: u32) {
  let i = index4(wg, nwg, li);
  if (i >= params.n / 4u) { return; }
  store_dx4(i, dy4[i] * act_grad_from_output4(ACT, y_saved4[i], params.alpha));
}
