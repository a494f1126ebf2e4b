"""Reference MAC counts for harness/models/src/macs.rs, from PyTorch's own FLOP counter.

An independent 1-D MobileNetV3 is built in PyTorch from the block tables of
harness/models/src/mobilenet.rs (same make_divisible rounding, same "skip the expansion conv when
it would not widen" rule), and torch.utils.flop_counter.FlopCounterMode counts the FLOPs of one
forward pass on a [1, C, L] window. It counts 2 FLOPs per multiply-add of convolutions and matrix
products and nothing else (no BN, activation, pooling, bias), so MACs = FLOPs / 2.

Run: /tmp/tv/bin/python tests/reference/macs_mobilenetv3.py   (torch >= 2.1)
"""
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

# (kernel, expand, out, se, hard-swish, stride)
LARGE = [(3, 16, 16, 0, 0, 1), (3, 64, 24, 0, 0, 2), (3, 72, 24, 0, 0, 1), (5, 72, 40, 1, 0, 2), (5, 120, 40, 1, 0, 1),
         (5, 120, 40, 1, 0, 1), (3, 240, 80, 0, 1, 2), (3, 200, 80, 0, 1, 1), (3, 184, 80, 0, 1, 1), (3, 184, 80, 0, 1, 1),
         (3, 480, 112, 1, 1, 1), (3, 672, 112, 1, 1, 1), (5, 672, 160, 1, 1, 2), (5, 960, 160, 1, 1, 1), (5, 960, 160, 1, 1, 1)]
SMALL = [(3, 16, 16, 1, 0, 2), (3, 72, 24, 0, 0, 2), (3, 88, 24, 0, 0, 1), (5, 96, 40, 1, 1, 2), (5, 240, 40, 1, 1, 1),
         (5, 240, 40, 1, 1, 1), (5, 120, 48, 1, 1, 1), (5, 144, 48, 1, 1, 1), (5, 288, 96, 1, 1, 2), (5, 576, 96, 1, 1, 1),
         (5, 576, 96, 1, 1, 1)]


def make_divisible(v, d=8):
    r = max(1.0, float(int((v + d / 2) // d))) * d
    if r < 0.9 * v:
        r += d
    return int(r)


class SE(nn.Module):
    def __init__(self, c):
        super().__init__()
        s = make_divisible(c / 4)
        self.reduce, self.expand = nn.Conv1d(c, s, 1), nn.Conv1d(s, c, 1)

    def forward(self, x):
        s = x.mean(2, keepdim=True)
        return x * nn.functional.hardsigmoid(self.expand(torch.relu(self.reduce(s))))


def conv_bn(i, o, k, s=1, g=1):
    return nn.Sequential(nn.Conv1d(i, o, k, s, k // 2, groups=g, bias=False), nn.BatchNorm1d(o))


def build(table, last, width, channels, classes):
    sc = lambda c: make_divisible(c * width)
    layers = [conv_bn(channels, sc(16), 3, 2), nn.Hardswish()]
    c = sc(16)
    for k, e, o, se, hs, s in table:
        e, o = sc(e), sc(o)
        act = nn.Hardswish() if hs else nn.ReLU()
        block = []
        if e != c:
            block += [conv_bn(c, e, 1), act]
        block += [conv_bn(e, e, k, s, e), act]
        if se:
            block.append(SE(e))
        block.append(conv_bn(e, o, 1))
        layers.append(nn.Sequential(*block))
        c = o
    layers += [conv_bn(c, sc(last), 1), nn.Hardswish(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(sc(last), classes)]
    return nn.Sequential(*layers).eval()


for name, table, last in [("mobilenetv3-small-1d", SMALL, 576), ("mobilenetv3-large-1d", LARGE, 960)]:
    for width, channels, length, classes in [(1.0, 9, 128, 6), (0.5, 9, 128, 6), (1.0, 3, 200, 12)]:
        model = build(table, last, width, channels, classes)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(torch.zeros(1, channels, length))
        print(name, f"width {width} input {channels}x{length} classes {classes}: MACs", counter.get_total_flops() // 2,
              "params", sum(p.numel() for p in model.parameters()))
