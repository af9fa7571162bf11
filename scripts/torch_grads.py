#!/usr/bin/python3
"""One training step's loss and parameter gradients in PyTorch (float64
autograd), for a webgpu-vae model: reads a safetensors file holding the
parameters (by webgpu-vae's names), the batch x, the latent noise eps and,
for a conditional model, the one-hot labels, with the model definition and
loss settings in its metadata (the objective: the ELBO, or the
importance-weighted bound of K samples per input, eps then (B*K, J), with
IWAE's or DReG's gradient); writes the gradients (same names) and the loss
terms (the loss of the bound is -bound, whatever the gradient). Called by scripts/make-grad-fixtures.ts.

    /usr/bin/python3 scripts/torch_grads.py in.safetensors out.safetensors
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'src', 'export'))
from torch_vae import WebgpuVae, load_safetensors, save_safetensors  # noqa: E402


def main(src, dst):
    tensors, meta = load_safetensors(src)
    spec = json.loads(meta['spec'])
    loss = json.loads(meta['loss'])
    model = WebgpuVae(spec).double()
    params = {k: v for k, v in tensors.items() if not k.startswith('input.')}
    model.load_state_dict({k: v.double() for k, v in params.items()}, strict=True)
    x = tensors['input.x'].double()
    eps = tensors['input.eps'].double()
    extras = {k[len('input.extra.'):]: v.double() for k, v in tensors.items() if k.startswith('input.extra.')}
    iw = loss.get('objective') or {'kind': 'elbo'}
    if iw['kind'] == 'iwae':
        objective, terms = model.iwae_loss(x, eps, iw['k'], iw['dreg'], extras=extras)
        value = -terms['bound']
    else:
        objective, terms = model.loss(x, eps, beta=loss['beta'], free_bits=loss['freeBits'], latent_l2=loss['latentL2'], extras=extras)
        value = objective
    model.zero_grad()
    objective.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    missing = [k for k in params if k not in grads]
    if missing:
        raise SystemExit(f'no gradient for {missing}')
    save_safetensors(dst, grads, {
        'loss': repr(value.item()), 'recon': repr(terms['recon'].item()), 'kl': repr(terms['kl'].item()),
        'torch': torch.__version__,
    })


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
