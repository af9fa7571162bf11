// optim_vec4: optim.wgsl's adam (same formulas, control block and
// uniforms) reading and writing four parameters at a time.
// requires: optim_params.wgsl
//
// Shapes: param4, grad4, m4, v4: (n / 4) vec4, the flat blocks of optim.wgsl
// viewed four floats at a time, so n must be a multiple of 4 and the bindings
// 16-byte aligned (src/kernels/optim.ts uses optim.wgsl otherwise). On
// adapters where every load is a per-lane gather (SwiftShader) a vec4 load
// costs about as much as a scalar one: a quarter of the loads for the same
// update; on GPUs it is the usual vectorized elementwise kernel.
// Four vec4 per invocation, workgroups of 256; dispatch grid1d(n / 4, 1024).

@group(0) @binding(0) var<storage, read> grad4: array<vec4f>;
@group(0) @binding(1) var<storage, read> grad_scale: array<f32>;
@group(0) @binding(2) var<storage, read_write> param4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> m4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> v4: array<vec4f>;
@group(0) @binding(5) var<uniform> params: Params;

// vec4 per invocation: the workgroup covers 256·PER consecutive vec4, invocation
// l the ones at l + 256·k, k < PER (neighbouring invocations on neighbouring
// vec4, so loads stay coalesced on GPUs). Four per invocation were measured
// 1.46× faster than one on SwiftShader, where each invocation has a fixed cost;
// the four are written out, not looped over (a loop trip there costs about as
// much as a load: 7.08 → 6.62–6.75 ms for n = 653,056).
const PER: u32 = 4u;

// The update of vec4 i (none past n / 4).
fn adam_at(i: u32, n4: u32, s: f32) {
  if (i < n4) {
    let p_old = param4[i];
    let g = grad4[i] * s + params.l2 * p_old;
    let mi = params.beta1 * m4[i] + params.one_minus_beta1 * g;
    let vi = params.beta2 * v4[i] + params.one_minus_beta2 * g * g;
    m4[i] = mi;
    v4[i] = vi;
    let denom = sqrt(vi) / params.bc2_sqrt + params.eps;
    param4[i] = p_old * params.decay - params.step_size * mi / denom;
  }
}

@compute @workgroup_size(256, 1, 1)
fn adam4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) li: u32) {
  if (params.skip_check != 0u && grad_scale[2] != 0.0) { return; }
  var s = 1.0;
  if (params.has_grad_scale != 0u) { s = grad_scale[0]; }
  let base = (wg.x + wg.y * nwg.x) * 256u * PER + li;
  let n4 = params.n / 4u;
  adam_at(base, n4, s);
  adam_at(base + 256u, n4, s);
  adam_at(base + 512u, n4, s);
  adam_at(base + 768u, n4, s);
}
