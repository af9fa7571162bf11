// nonfinite: where the gradient of a skipped step was not finite. When
// optim.wgsl's clip_scale found a non-finite sum of squares it set the skip
// flag grad_ctl[2] and the update was dropped; this kernel then records which
// element of the flat gradient block was NaN or ±Inf, so the caller can name
// the parameter tensor without reading the gradient back every step.
//
// Shapes: grad (n) flat f32; grad_ctl (4) the control block of optim.wgsl;
// report (4) u32, accumulated until the caller reads and zeroes it:
//   [0] skipped steps seen
//   [1] first skipped step (params.step of that dispatch; 0 = none yet)
//   [2] last skipped step
//   [3] 0xffffffff − i for the smallest non-finite index i of the first
//       skipped step (0 = none found: the gradient was finite but its sum of
//       squares overflowed to +Inf)
// Non-finite is tested on the exponent bits, which no compiler may assume away.
//
// One workgroup of 256 invocations; dispatch (1, 1, 1). With the skip flag
// clear (every normal step) all invocations return at once. Otherwise each
// scans grad with stride 256 and stops at its first non-finite element;
// atomicMax on the complemented index keeps the smallest. No barriers: the
// counters are written by invocation 0 alone, and the index slot is updated
// only while report[1] is 0 or this step (the first skipped step).

struct Params {
  n: u32,
  step: u32,
}

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read> grad_ctl: array<f32>;
@group(0) @binding(2) var<storage, read_write> report: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

fn is_finite_bits(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(256, 1, 1)
fn nonfinite_scan(@builtin(local_invocation_index) li: u32) {
  if (grad_ctl[2] == 0.0) {
    return;
  }
  let first = atomicLoad(&report[1]);
  if (li == 0u) {
    atomicAdd(&report[0], 1u);
    if (first == 0u) {
      atomicStore(&report[1], params.step);
    }
    atomicStore(&report[2], params.step);
  }
  if (first != 0u && first != params.step) {
    return;
  }
  var i = li;
  loop {
    if (i >= params.n) {
      break;
    }
    if (!is_finite_bits(grad[i])) {
      atomicMax(&report[3], 0xffffffffu - i);
      break;
    }
    i = i + 256u;
  }
}
