"""Reference values for SMLDist's losses (harness/distill/src/methods/smldist.rs), computed
independently with numpy (numpy.fft.rfft for the spectrum, not a DFT matrix).

Run: python3 tests/reference/smldist_losses.py   (numpy only)

Formulas: ../shared/docs/method.md §3. The Rust test harness/distill/tests/smldist.rs builds the
same inputs from `gen` and compares with the printed numbers.
"""
import numpy as np


def gen(shape, phase, scale=1.0):
    """x[i] = scale * (sin(0.37 i + phase) + 0.1 cos(1.7 i)), C order, rounded to float32."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    v = scale * (np.sin(0.37 * i + phase) + 0.1 * np.cos(1.7 * i))
    return v.astype(np.float32).astype(np.float64).reshape(shape)


def show(name, value):
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 0:
        print(f"const {name.upper()}: f64 = {float(value)!r};")
    else:
        flat = ", ".join(repr(float(v)) for v in value.flatten())
        print(f"const {name.upper()}: [f64; {value.size}] = [{flat}];")


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


# Stage loss with the frequency term, one anchor: F_s, F_t of [B=2, C=3, T=8].
fs = gen([2, 3, 8], 0.3, 1.0)
ft = gen([2, 3, 8], 1.1, 0.8)
xs, xt = np.abs(np.fft.rfft(fs, axis=2)), np.abs(np.fft.rfft(ft, axis=2))
energy = (xt ** 2).mean(axis=1)                      # [B, bins]
w = energy / energy.sum(axis=1, keepdims=True)
freq = (w * ((xs - xt) ** 2).mean(axis=1)).sum() / fs.shape[0]
mse = ((fs - ft) ** 2).mean()
show("attention", w)
show("stage_mse", mse)
show("stage_freq", freq)
show("stage_loss_lambda_half", mse + 0.5 * freq)
# The frequency term's other designs (config fields freq_attention, freq_spectrum), same inputs.
C, K = fs.shape[1], xs.shape[2]
gap = (xs - xt) ** 2
w_c = (xt ** 2) / (xt ** 2).sum(axis=2, keepdims=True)   # [B, C, bins], per channel
show("channel_attention", w_c)
show("freq_per_channel", (w_c * gap).sum() / C / fs.shape[0])
show("freq_uniform", gap.sum() / (C * K) / fs.shape[0])
log_gap = (np.log1p(xs) - np.log1p(xt)) ** 2
show("freq_log", (w * log_gap.mean(axis=1)).sum() / fs.shape[0])
norm = lambda x: x / x.sum(axis=2, keepdims=True)
norm_gap = (norm(xs) - norm(xt)) ** 2
show("freq_normalised", (w * norm_gap.mean(axis=1)).sum() / fs.shape[0])
show("freq_per_channel_log", (w_c * log_gap).sum() / C / fs.shape[0])
# A length that is not a power of two (T = 6).
fs6, ft6 = gen([2, 2, 6], 0.7, 1.0), gen([2, 2, 6], 0.2, 1.3)
xs6, xt6 = np.abs(np.fft.rfft(fs6, axis=2)), np.abs(np.fft.rfft(ft6, axis=2))
e6 = (xt6 ** 2).mean(axis=1)
w6 = e6 / e6.sum(axis=1, keepdims=True)
show("stage_loss_t6", ((fs6 - ft6) ** 2).mean() + (w6 * ((xs6 - xt6) ** 2).mean(axis=1)).sum() / 2)

# Conditional logits target and loss: [B=4, K=5], tau 4, eps 0.1.
z_s = gen([4, 5], 0.2, 2.0)
z_t = gen([4, 5], 0.9, 3.0)
tau, eps, K = 4.0, 0.1, 5
y = z_t.argmax(axis=1).copy()
y[1] = (y[1] + 1) % K          # the teacher is wrong on samples 1 and 3
y[3] = (y[3] + 2) % K
print(f"// labels: {y.tolist()}, teacher argmax: {z_t.argmax(axis=1).tolist()}")
right = (z_t.argmax(axis=1) == y)[:, None]
onehot = np.eye(K)[y]
q = np.where(right, (1 - eps) * softmax(z_t / tau) + eps / K, (1 - eps) * onehot + eps / K)
loss = tau ** 2 * (q * (np.log(q) - log_softmax(z_s / tau))).sum() / 4
show("target", q)
show("logits_loss", loss)

# Memory: queries [B=3, d=4], patterns [P=6, d=4], beta 0.5.
q_t, q_s, M, beta = gen([3, 4], 0.5), gen([3, 4], 1.5), gen([6, 4], 2.0), 0.5
a_t = softmax(beta * q_t @ M.T)
a_s = softmax(beta * q_s @ M.T)
show("memory_loss", (a_t * (np.log(a_t) - np.log(a_s))).sum() / 3)

# Ridge least squares used to carry the memory across dimensions.
X, Y, lam = gen([7, 3], 0.4), gen([7, 2], 1.9), 0.01
A = np.linalg.solve(X.T @ X + lam * np.eye(3), X.T @ Y)
show("ridge", A)
