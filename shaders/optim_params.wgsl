// The uniform shared by the optimizer kernels (optim.wgsl, optim_vec4.wgsl):
// the sizes, the control-block switches and the hyper-parameters of one
// update, with bias corrections folded in on the host (src/kernels/optim.ts).

struct Params {
  n: u32,
  has_grad_scale: u32,
  skip_check: u32,
  lr: f32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  step_size: f32,
  bc2_sqrt: f32,
  l2: f32,
  decay: f32,
  momentum: f32,
  one_minus_dampening: f32,
  nesterov: u32,
  first_step: u32,
  max_norm: f32,
}
