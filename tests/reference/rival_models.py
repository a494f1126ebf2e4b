"""PyTorch versions of harbench's models, for parameter and multiply-accumulate (MAC) counts.

Written from the papers (and, for TinyHAR, the authors' code teco-kit/ISWC22-HAR), independently
of the Rust code in harness/models; harness/models/tests/reference_counts.rs pastes the printed
numbers and checks the Rust models against them.

Run: /tmp/tv/bin/python tests/reference/rival_models.py   (needs torch)

MACs are counted with forward hooks on the executed layers: Conv1d/Conv2d
(output elements x inputs per group x kernel taps), Linear (output elements x in_features),
LSTM (steps x 4h(in+h) per layer), plus the attention products the modules add explicitly
(Q.K^T and A.V, and the weighted sum of attention pooling). Biases, norms, activations,
pooling and element-wise products are not counted (the convention of harness/models/src/macs.rs).
"""
import math
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
EXTRA = [0]  # MACs added by modules that are not hooked layers (attention matmuls)


# ---------------------------------------------------------------- DeepConvLSTM (Ordonez & Roggen 2016)
class DeepConvLSTM(nn.Module):
    def __init__(self, channels, classes, filters=64, kernel=5, conv_layers=4, units=128, lstm_layers=2, dropout=0.5):
        super().__init__()
        # 5x1 kernels over a (time x channel) image: shared across channels, time only.
        self.convs = nn.ModuleList(
            [nn.Conv2d(1 if i == 0 else filters, filters, (kernel, 1)) for i in range(conv_layers)]
        )
        self.lstm = nn.LSTM(filters * channels, units, num_layers=lstm_layers, batch_first=True, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(units, classes)
        self.lstm_layers = lstm_layers

    def forward(self, x):  # x: [B, C, L]
        h = x.transpose(1, 2).unsqueeze(1)  # [B, 1, L, C]
        for conv in self.convs:
            h = F.relu(conv(h))
        b, f, t, c = h.shape
        h = h.permute(0, 2, 3, 1).reshape(b, t, c * f)  # channel-major, filter-minor features
        out, _ = self.lstm(self.drop(h))
        return self.fc(self.drop(out[:, -1]))


# ---------------------------------------------------------------- TinyHAR (Zhou et al. 2022)
class ChannelTransformer(nn.Module):
    def __init__(self, dim, heads=4, head_dim=16, ff=16):
        super().__init__()
        inner = heads * head_dim
        self.heads, self.head_dim = heads, head_dim
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * inner, bias=False)
        self.out = nn.Linear(inner, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, ff)
        self.ff2 = nn.Linear(ff, dim)

    def forward(self, x):  # [N, C, F]
        n, c, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = (t.reshape(n, c, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)
        o = (a @ v).transpose(1, 2).reshape(n, c, -1)
        EXTRA[0] += 2 * self.heads * c * c * self.head_dim * (n // BATCH[0])
        x = self.out(o) + x
        return self.ff2(F.gelu(self.ff1(self.norm2(x)))) + x


class TemporalAttention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):  # [B, T, D]
        w = torch.softmax(self.fc2(torch.tanh(self.fc1(x))), dim=1)
        EXTRA[0] += x.shape[1] * x.shape[2]
        return x[:, -1] + self.gamma * (w * x).sum(1)


class TinyHAR(nn.Module):
    def __init__(self, channels, classes, filters=28, kernel=5, strides=(1, 2, 1, 2), dropout=0.1):
        super().__init__()
        f = filters
        self.convs = nn.ModuleList()
        for i, s in enumerate(strides):
            self.convs.append(nn.Sequential(nn.Conv2d(1 if i == 0 else f, f, (kernel, 1), (s, 1)), nn.ReLU(), nn.BatchNorm2d(f)))
        self.inter = ChannelTransformer(f)
        self.drop = nn.Dropout(dropout)
        self.fusion = nn.Linear(channels * f, 2 * f)
        self.lstm = nn.LSTM(2 * f, 2 * f, batch_first=True)
        self.agg = TemporalAttention(2 * f)
        self.fc = nn.Linear(2 * f, classes)

    def forward(self, x):  # [B, C, L]
        h = x.transpose(1, 2).unsqueeze(1)  # [B, 1, L, C]
        for layer in self.convs:
            h = layer(h)
        b, f, t, c = h.shape
        tokens = h.permute(0, 2, 3, 1).reshape(b * t, c, f)
        h = self.drop(self.inter(tokens).reshape(b, t, c * f))
        h = F.relu(self.fusion(h))
        h, _ = self.lstm(h)
        return self.fc(self.agg(h))


# ---------------------------------------------------------------- ResNet (Wang, Yan & Oates 2017)
class ResBlock(nn.Module):
    def __init__(self, cin, cout, kernels=(8, 5, 3)):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(cin if i == 0 else cout, cout, k, padding="same") for i, k in enumerate(kernels)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(cout) for _ in kernels])
        self.short = nn.Conv1d(cin, cout, 1) if cin != cout else None
        self.short_bn = nn.BatchNorm1d(cout)

    def forward(self, x):
        h = x
        for i, (c, b) in enumerate(zip(self.convs, self.bns)):
            h = b(c(h))
            if i < len(self.convs) - 1:
                h = F.relu(h)
        s = self.short(x) if self.short is not None else x
        return F.relu(h + self.short_bn(s))


class ResNet1d(nn.Module):
    def __init__(self, channels, classes, filters=(64, 128, 128)):
        super().__init__()
        blocks, cin = [], channels
        for f in filters:
            blocks.append(ResBlock(cin, f))
            cin = f
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.blocks(x).mean(2))


# ---------------------------------------------------------------- plain 3-layer CNN
class Cnn3(nn.Module):
    def __init__(self, channels, classes, filters=(64, 128, 128), kernel=5, pool=2):
        super().__init__()
        layers, cin = [], channels
        for f in filters:
            layers += [nn.Conv1d(cin, f, kernel, padding=kernel // 2, bias=False), nn.BatchNorm1d(f), nn.ReLU(), nn.MaxPool1d(pool)]
            cin = f
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.body(x).mean(2))


# ---------------------------------------------------------------- 1-D MobileNetV3 (Howard et al. 2019)
def make_divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


LARGE = [  # kernel, expand, out, se, hard-swish, stride
    (3, 16, 16, 0, 0, 1), (3, 64, 24, 0, 0, 2), (3, 72, 24, 0, 0, 1), (5, 72, 40, 1, 0, 2), (5, 120, 40, 1, 0, 1),
    (5, 120, 40, 1, 0, 1), (3, 240, 80, 0, 1, 2), (3, 200, 80, 0, 1, 1), (3, 184, 80, 0, 1, 1), (3, 184, 80, 0, 1, 1),
    (3, 480, 112, 1, 1, 1), (3, 672, 112, 1, 1, 1), (5, 672, 160, 1, 1, 2), (5, 960, 160, 1, 1, 1), (5, 960, 160, 1, 1, 1),
]
SMALL = [
    (3, 16, 16, 1, 0, 2), (3, 72, 24, 0, 0, 2), (3, 88, 24, 0, 0, 1), (5, 96, 40, 1, 1, 2), (5, 240, 40, 1, 1, 1),
    (5, 240, 40, 1, 1, 1), (5, 120, 48, 1, 1, 1), (5, 144, 48, 1, 1, 1), (5, 288, 96, 1, 1, 2), (5, 576, 96, 1, 1, 1),
    (5, 576, 96, 1, 1, 1),
]


class SE(nn.Module):
    def __init__(self, c):
        super().__init__()
        s = make_divisible(c / 4)
        self.reduce, self.expand = nn.Conv1d(c, s, 1), nn.Conv1d(s, c, 1)

    def forward(self, x):
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(x.mean(2, keepdim=True)))))


class Bottleneck(nn.Module):
    def __init__(self, cin, k, exp, out, se, hs, stride):
        super().__init__()
        act = nn.Hardswish() if hs else nn.ReLU()
        layers = []
        if exp != cin:
            layers += [nn.Conv1d(cin, exp, 1, bias=False), nn.BatchNorm1d(exp), act]
        layers += [nn.Conv1d(exp, exp, k, stride, k // 2, groups=exp, bias=False), nn.BatchNorm1d(exp), act]
        if se:
            layers.append(SE(exp))
        layers += [nn.Conv1d(exp, out, 1, bias=False), nn.BatchNorm1d(out)]
        self.body = nn.Sequential(*layers)
        self.res = stride == 1 and cin == out

    def forward(self, x):
        return self.body(x) + x if self.res else self.body(x)


class MobileNetV3(nn.Module):
    def __init__(self, channels, classes, table, last, width):
        super().__init__()
        s = lambda c: make_divisible(c * width)
        cin = s(16)
        layers = [nn.Conv1d(channels, cin, 3, 2, 1, bias=False), nn.BatchNorm1d(cin), nn.Hardswish()]
        for k, e, o, se, hs, st in table:
            layers.append(Bottleneck(cin, k, s(e), s(o), se, hs, st))
            cin = s(o)
        layers += [nn.Conv1d(cin, s(last), 1, bias=False), nn.BatchNorm1d(s(last)), nn.Hardswish()]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(s(last), classes)

    def forward(self, x):
        return self.fc(self.body(x).mean(2))


# ---------------------------------------------------------------- counting
BATCH = [1]


def count(model, channels, length):
    macs = [0]

    def hook(m, inp, out):
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            taps = math.prod(m.kernel_size)
            macs[0] += out.numel() // BATCH[0] * (m.in_channels // m.groups) * taps
        elif isinstance(m, nn.Linear):
            macs[0] += out.numel() // BATCH[0] * m.in_features
        elif isinstance(m, nn.LSTM):
            steps = inp[0].shape[1]
            for layer in range(m.num_layers):
                d_in = m.input_size if layer == 0 else m.hidden_size
                macs[0] += steps * 4 * m.hidden_size * (d_in + m.hidden_size)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear, nn.LSTM))]
    EXTRA[0] = 0
    model.eval()
    with torch.no_grad():
        model(torch.zeros(BATCH[0], channels, length))
    for h in handles:
        h.remove()
    params = sum(p.numel() for p in model.parameters())
    return params, macs[0] + EXTRA[0]


def scaled(c, w):
    # Rival models: round half away from zero, at least 1 (harness/models/src/layers.rs).
    return max(1, int(math.floor(c * w + 0.5)))


CASES = []
for channels, classes in [(9, 6), (6, 4)]:
    CASES += [
        ("deepconvlstm", 1.0, channels, classes, DeepConvLSTM(channels, classes)),
        ("tinyhar", 1.0, channels, classes, TinyHAR(channels, classes)),
        ("resnet1d", 1.0, channels, classes, ResNet1d(channels, classes)),
        ("cnn3", 1.0, channels, classes, Cnn3(channels, classes)),
        ("mobilenetv3-large-1d", 1.0, channels, classes, MobileNetV3(channels, classes, LARGE, 960, 1.0)),
        ("mobilenetv3-small-1d", 1.0, channels, classes, MobileNetV3(channels, classes, SMALL, 576, 1.0)),
    ]
w = 0.5
CASES += [
    ("deepconvlstm", w, 9, 6, DeepConvLSTM(9, 6, filters=scaled(64, w), units=scaled(128, w))),
    ("tinyhar", w, 9, 6, TinyHAR(9, 6, filters=scaled(28, w))),
    ("resnet1d", w, 9, 6, ResNet1d(9, 6, filters=[scaled(f, w) for f in (64, 128, 128)])),
    ("cnn3", w, 9, 6, Cnn3(9, 6, filters=[scaled(f, w) for f in (64, 128, 128)])),
    ("mobilenetv3-small-1d", w, 9, 6, MobileNetV3(9, 6, SMALL, 576, w)),
    ("mobilenetv3-large-1d", w, 9, 6, MobileNetV3(9, 6, LARGE, 960, w)),
]

print("// (preset, width, channels, classes, parameters, MACs for a 128-sample window)")
for name, width, channels, classes, model in CASES:
    params, macs = count(model, channels, 128)
    print(f'("{name}", {width}, {channels}, {classes}, {params}, {macs}),')
