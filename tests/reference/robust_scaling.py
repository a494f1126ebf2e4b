"""Reference values for harness/data/src/split.rs (`Scaling::Robust`): the SMLDist authors'
`process_robust` (tasnem_har/datasets/realworld_har.py, RealWorldHAR.process_robust), with the
quartiles their released channel_25.npy / channel_75.npy hold computed here by numpy's default
percentile over the training windows' samples.

Run: bench/.venv/bin/python tests/reference/robust_scaling.py
"""
import numpy as np

# Two training windows of one channel and one window to scale (the Rust test's fixture).
train = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 100.0]], dtype=np.float32)
window = np.array([[-50.0, 5.0, 50.0]], dtype=np.float32)  # [channels][length]

channel_25 = np.percentile(train.reshape(-1), 25, axis=0, keepdims=True)
channel_75 = np.percentile(train.reshape(-1), 75, axis=0, keepdims=True)


def process_robust(array):
    # Transcribed from the authors' code.
    upper = channel_75 + 1.5 * (channel_75 - channel_25)
    lower = channel_25 - 1.5 * (channel_75 - channel_25)
    return (np.clip(array, lower[:, np.newaxis], upper[:, np.newaxis]) - lower[:, np.newaxis]) / (upper - lower)[:, np.newaxis]


print("numpy", np.__version__)
print("quartiles", channel_25.tolist(), channel_75.tolist())
print("fences", (channel_25 - 1.5 * (channel_75 - channel_25)).tolist(), (channel_75 + 1.5 * (channel_75 - channel_25)).tolist())
print("scaled", process_robust(window).tolist())
