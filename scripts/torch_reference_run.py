#!/usr/bin/python3
"""The PyTorch example VAE recipe (784-400-20, ReLU, Bernoulli, Adam 1e-3,
batch 128, loss = BCE summed over pixels + KL, per sample) on the same data
and split webgpu-vae uses, printing train and test loss per epoch as JSON
lines: the numbers the README compares against.

    /usr/bin/python3 scripts/torch_reference_run.py [--dataset mnist|fashion-mnist] [--epochs 10]
                                                    [--samples-out s.npy [--samples 10000]]

With --samples-out, the trained model's decoder means of N samples from the
prior (z ~ N(0, I), torch.manual_seed(0)) are written as an N×1×28×28 float32
.npy, the layout `webgpu-vae sample --out s.npy` writes, for
`webgpu-vae fid --samples s.npy --dataset <dataset>` to score.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
from torch.nn import functional as F

from make_torch_fixture import VAE, digits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack('>' + 'I' * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion():
    d = '/usr/share/datasets/fashion-mnist'
    train = idx(f'{d}/train-images-idx3-ubyte.gz').reshape(-1, 784) / 255.0
    test = idx(f'{d}/t10k-images-idx3-ubyte.gz').reshape(-1, 784) / 255.0
    return train, test


def loss_fn(model, x):
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    bce = F.binary_cross_entropy_with_logits(model.decode_logits(z), x, reduction='sum')
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dataset', default='mnist')
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--samples', type=int, default=10000)
    ap.add_argument('--samples-out')
    a = ap.parse_args()
    if a.samples < 2:
        ap.error(f'--samples: got {a.samples}; expected at least 2')
    torch.manual_seed(1)
    train, test = digits() if a.dataset == 'mnist' else fashion()
    xt, xs = torch.from_numpy(train).float(), torch.from_numpy(test).float()
    model = VAE(400, 20)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        model.train()
        total = 0.0
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 128):
            xb = xt[perm[i:i + 128]]
            loss = loss_fn(model, xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            test_loss = sum(loss_fn(model, xs[i:i + 1000]).item() for i in range(0, len(xs), 1000))
        print(json.dumps({'epoch': epoch, 'train_loss': total / len(xt), 'test_loss': test_loss / len(xs), 'seconds': time.time() - t0}), flush=True)
    if a.samples_out:
        torch.manual_seed(0)
        with torch.no_grad():
            means = torch.sigmoid(model.decode_logits(torch.randn(a.samples, 20)))
        np.save(a.samples_out, means.numpy().astype('<f4').reshape(a.samples, 1, 28, 28))
        print(json.dumps({'samples': a.samples, 'out': a.samples_out}), flush=True)


if __name__ == '__main__':
    main()
