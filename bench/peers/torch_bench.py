"""PyTorch peer of eyegan-bench: the same DCGAN (pytorch/examples reference) and GMD networks,
the same figures and output format. Threads: BENCH_THREADS (default 2). Device: BENCH_DEVICE
(default cpu; `cuda` for the GPU peer of `eyegan-bench --device cuda:0`; every repetition then
ends with torch.cuda.synchronize())."""

import os

import torch
from torch import nn

import common

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
torch.set_num_threads(THREADS)
torch.set_num_interop_threads(1)
torch.manual_seed(0)
DEVICE = torch.device(os.environ.get("BENCH_DEVICE", "cpu"))


def synchronize():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()

NZ, NGF, NDF, NC = 100, 64, 64, 3


def init_dcgan(m):
    name = m.__class__.__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def generator():
    g = nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 8), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 8, NGF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 4), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),
        nn.ConvTranspose2d(NGF, NC, 4, 2, 1, bias=False), nn.Tanh(),
    )
    g.apply(init_dcgan)
    return g


def discriminator():
    """The reference D without its final Sigmoid (the loss takes logits, as in EyeGAN)."""
    d = nn.Sequential(
        nn.Conv2d(NC, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False),
    )
    d.apply(init_dcgan)
    return d


def gmd():
    """The paper's GMD with `same` padding (EyeGAN's default): 64×64×3 → 4 logits."""
    return nn.Sequential(
        nn.Conv2d(3, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(512, 100), nn.ReLU(), nn.Linear(100, 60), nn.ReLU(), nn.Linear(60, 4),
    )


def dcgan_iteration(batch):
    g, d = generator().to(DEVICE), discriminator().to(DEVICE)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    real = torch.tanh(torch.randn(batch, NC, 64, 64)).to(DEVICE)
    ones, zeros = torch.ones(batch, device=DEVICE), torch.zeros(batch, device=DEVICE)

    def run():
        fake = g(torch.randn(batch, NZ, 1, 1, device=DEVICE))
        d.zero_grad()
        real_logits = d(real).view(-1)
        fake_logits = d(fake.detach()).view(-1)
        loss_d = bce(real_logits, ones) + bce(fake_logits, zeros)
        loss_d.backward()
        loss_d.item(), torch.sigmoid(real_logits).mean().item(), torch.sigmoid(fake_logits).mean().item()
        opt_d.step()
        g.zero_grad()
        logits = d(fake).view(-1)
        loss_g = bce(logits, ones)
        loss_g.backward()
        loss_g.item(), torch.sigmoid(logits).mean().item()
        opt_g.step()
        synchronize()

    return batch, run


def generator_forward(batch):
    g = generator().to(DEVICE).eval()

    def run():
        with torch.no_grad():
            g(torch.randn(batch, NZ, 1, 1, device=DEVICE)).cpu().numpy()

    return batch, run


def gmd_step(batch):
    model = gmd().to(DEVICE)
    opt = torch.optim.SGD(model.parameters(), lr=0.001)
    images = torch.tanh(torch.randn(batch, 3, 64, 64)).to(DEVICE)
    labels = (torch.arange(batch) % 4).to(DEVICE)
    ce = nn.CrossEntropyLoss()

    def run():
        opt.zero_grad()
        loss = ce(model(images), labels)
        loss.backward()
        loss.item()
        opt.step()
        synchronize()

    return batch, run


def gmd_inference(count, chunk=64):
    model = gmd().to(DEVICE).eval()
    images = torch.tanh(torch.randn(count, 3, 64, 64))

    def run():
        with torch.no_grad():
            for start in range(0, count, chunk):
                batch = images[start:start + chunk].to(DEVICE)
                torch.softmax(model(batch), 1).cpu().numpy()

    return count, run


def prepare(name):
    return {
        "dcgan_iter_b64": lambda: dcgan_iteration(64),
        "dcgan_iter_b16": lambda: dcgan_iteration(16),
        "gen_b64": lambda: generator_forward(64),
        "gmd_step_b32": lambda: gmd_step(32),
        "gmd_infer_256": lambda: gmd_inference(256),
    }[name]()


if __name__ == "__main__":
    common.main(prepare, "PyTorch")
