"""Training throughput of the PyTorch twin of a harbench model: the same step as
`harbench bench-train` (forward, cross-entropy, backward, AdamW lr 1e-3 wd 1e-2) on random input.

Prints one JSON line: {"model", "channels", "threads", "parameters", "samples_per_second": [...], "median"}.
"""
import argparse
import json
import time

import torch

from mobilenet_v3_1d import MobileNetV3

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--width", type=float, default=1.0)
p.add_argument("--channels", type=int, default=9)
p.add_argument("--length", type=int, default=128)
p.add_argument("--classes", type=int, default=6)
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--threads", type=int, required=True)
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
net = MobileNetV3(a.model, a.channels, a.classes, a.width)
opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
loss_fn = torch.nn.CrossEntropyLoss()
batches = [(torch.empty(a.batch_size, a.channels, a.length).uniform_(-2, 2), torch.randint(0, a.classes, (a.batch_size,))) for _ in range(4)]


def step(i):
    x, y = batches[i % len(batches)]
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
    return loss.item()


for i in range(a.warmup):
    step(i)
rates = []
for r in range(a.repeats):
    t = time.perf_counter()
    for i in range(a.steps):
        step(r * a.steps + i)
    rates.append(a.steps * a.batch_size / (time.perf_counter() - t))
print(json.dumps({
    "model": a.model, "width": a.width, "channels": a.channels, "threads": a.threads, "torch": torch.__version__,
    # burn's num_params() counts batch norm's running mean and variance too: add them to compare.
    "parameters": sum(p.numel() for p in net.parameters())
    + sum(b.numel() for n, b in net.named_buffers() if n.endswith(("running_mean", "running_var"))),
    "samples_per_second": rates,
    "median": sorted(rates)[len(rates) // 2],
}))
