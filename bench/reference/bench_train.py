"""Training throughput of the PyTorch twin of a harbench model: the same step as
`harbench bench-train` (forward, cross-entropy, backward, AdamW lr 1e-3 wd 1e-2) on random input.
With --kd-teacher-width, a knowledge-distillation step instead, as `harbench bench-train --method
kd` times it: the frozen teacher (mobilenetv3-large-1d, eval mode, no gradient) runs on the batch
every step, and the loss is harbench's KD default, 0.1·CE + 0.9·τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ)),
τ = 4.

With --device cuda, the step runs on the GPU (cuDNN's autotuner on, as PyTorch users train); the loss is
read back every step, so each timed step has finished, as in `harbench bench-train --device gpu`.

Prints one JSON line: {"model", "channels", "threads", "device", "parameters", "samples_per_second": [...], "median"}.
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
p.add_argument("--device", default="cpu", help="cpu, or cuda for the first GPU")
p.add_argument("--kd-teacher-width", type=float, help="time a KD step from a mobilenetv3-large-1d teacher of this width")
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
device = torch.device(a.device)
torch.backends.cudnn.benchmark = True
net = MobileNetV3(a.model, a.channels, a.classes, a.width).to(device)
opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
loss_fn = torch.nn.CrossEntropyLoss()
teacher = None
if a.kd_teacher_width is not None:
    teacher = MobileNetV3("mobilenetv3-large-1d", a.channels, a.classes, a.kd_teacher_width).to(device).eval()
    for q in teacher.parameters():
        q.requires_grad_(False)
TAU, ALPHA = 4.0, 0.9
batches = [
    (torch.empty(a.batch_size, a.channels, a.length).uniform_(-2, 2).to(device), torch.randint(0, a.classes, (a.batch_size,)).to(device))
    for _ in range(4)
]


def step(i):
    x, y = batches[i % len(batches)]
    opt.zero_grad(set_to_none=True)
    logits = net(x)
    if teacher is None:
        loss = loss_fn(logits, y)
    else:
        with torch.no_grad():
            soft = torch.softmax(teacher(x) / TAU, dim=1)
        kl = torch.nn.functional.kl_div(torch.log_softmax(logits / TAU, dim=1), soft, reduction="batchmean")
        loss = (1 - ALPHA) * loss_fn(logits, y) + ALPHA * TAU * TAU * kl
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
    "model": a.model, "width": a.width, "channels": a.channels, "threads": a.threads, "device": a.device, "torch": torch.__version__,
    # burn's num_params() counts batch norm's running mean and variance too: add them to compare.
    "parameters": sum(p.numel() for p in net.parameters())
    + sum(b.numel() for n, b in net.named_buffers() if n.endswith(("running_mean", "running_var"))),
    "samples_per_second": rates,
    "median": sorted(rates)[len(rates) // 2],
}))
