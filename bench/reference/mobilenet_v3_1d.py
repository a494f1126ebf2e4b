"""The 1-D MobileNetV3 of harness/models/src/mobilenet.rs, in PyTorch, layer for layer.

Same block tables, the same `make_divisible` rounding, the same skipped expansion and residual
rules, so the parameter count matches harbench's exactly (compare.py checks it).
"""
import torch
from torch import nn

# (kernel, expand, out, se, hard-swish, stride, anchor): harness/models/src/mobilenet.rs
LARGE = [
    (3, 16, 16, 0, 0, 1, 0), (3, 64, 24, 0, 0, 2, 0), (3, 72, 24, 0, 0, 1, 0),
    (5, 72, 40, 1, 0, 2, 0), (5, 120, 40, 1, 0, 1, 0), (5, 120, 40, 1, 0, 1, 1),
    (3, 240, 80, 0, 1, 2, 0), (3, 200, 80, 0, 1, 1, 0), (3, 184, 80, 0, 1, 1, 0),
    (3, 184, 80, 0, 1, 1, 0), (3, 480, 112, 1, 1, 1, 0), (3, 672, 112, 1, 1, 1, 1),
    (5, 672, 160, 1, 1, 2, 0), (5, 960, 160, 1, 1, 1, 0), (5, 960, 160, 1, 1, 1, 1),
]
SMALL = [
    (3, 16, 16, 1, 0, 2, 0), (3, 72, 24, 0, 0, 2, 0), (3, 88, 24, 0, 0, 1, 1),
    (5, 96, 40, 1, 1, 2, 0), (5, 240, 40, 1, 1, 1, 0), (5, 240, 40, 1, 1, 1, 0),
    (5, 120, 48, 1, 1, 1, 0), (5, 144, 48, 1, 1, 1, 1), (5, 288, 96, 1, 1, 2, 0),
    (5, 576, 96, 1, 1, 1, 0), (5, 576, 96, 1, 1, 1, 1),
]
PRESETS = {"mobilenetv3-large-1d": (LARGE, 960), "mobilenetv3-small-1d": (SMALL, 576)}


def make_divisible(value, divisor=8):
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(nn.Conv1d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm1d(cout))


class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        squeezed = make_divisible(channels / 4)
        self.reduce = nn.Conv1d(channels, squeezed, 1)
        self.expand = nn.Conv1d(squeezed, channels, 1)

    def forward(self, x):
        s = x.mean(dim=2, keepdim=True)
        return x * nn.functional.hardsigmoid(self.expand(torch.relu(self.reduce(s))))


class Block(nn.Module):
    def __init__(self, cin, k, expand, out, se, hs, stride):
        super().__init__()
        self.expand = conv_bn(cin, expand, 1) if expand != cin else None
        self.depthwise = conv_bn(expand, expand, k, stride, groups=expand)
        self.se = SqueezeExcite(expand) if se else None
        self.project = conv_bn(expand, out, 1)
        self.act = nn.Hardswish() if hs else nn.ReLU()
        self.residual = stride == 1 and cin == out

    def forward(self, x):
        h = self.act(self.expand(x)) if self.expand is not None else x
        h = self.act(self.depthwise(h))
        if self.se is not None:
            h = self.se(h)
        h = self.project(h)
        return h + x if self.residual else h


class MobileNetV3(nn.Module):
    def __init__(self, preset, channels, classes, width=1.0):
        super().__init__()
        table, last = PRESETS[preset]
        scaled = lambda c: make_divisible(c * width)
        cin = scaled(16)
        self.stem = conv_bn(channels, cin, 3, 2)
        blocks = []
        for k, e, o, se, hs, s, _anchor in table:
            blocks.append(Block(cin, k, scaled(e), scaled(o), se, hs, s))
            cin = scaled(o)
        self.blocks = nn.Sequential(*blocks)
        self.last = conv_bn(cin, scaled(last), 1)
        self.classifier = nn.Linear(scaled(last), classes)

    def forward(self, x):
        h = nn.functional.hardswish(self.stem(x))
        h = self.blocks(h)
        h = nn.functional.hardswish(self.last(h))
        return self.classifier(h.mean(dim=2))
