"""Independent reference values for the readers of the shipped datasets
(harness/data/tests/shipped.rs), computed with numpy/scipy straight from the published files.

Run: python3 tests/reference/shipped_values.py DIR
where DIR holds the unpacked mirror archives (for d in ../shared/datasets/*.tar.zst; do
tar --zstd -xf $d -C DIR; done). Needs numpy and scipy (pip install numpy scipy).
"""
import sys
import numpy as np
from scipy import io, signal

root = sys.argv[1]

# UCI-HAR protocol on experiment 1 (user 1): median filter (width 3, shrinking at the ends),
# 20 Hz 3rd-order Butterworth (zero-phase), gravity = 0.3 Hz low-pass of total acc.
hapt = f"{root}/uci-hapt/HAPT Data Set/RawData"
acc = np.loadtxt(f"{hapt}/acc_exp01_user01.txt")
gyro = np.loadtxt(f"{hapt}/gyro_exp01_user01.txt")
raw = np.hstack([acc, gyro])
med = np.empty_like(raw)
n = len(raw)
for t in range(n):
    w = np.sort(raw[max(0, t - 1):min(n, t + 2)], axis=0)
    med[t] = w[(len(w) - 1) // 2]
clean = signal.sosfiltfilt(signal.butter(3, 20.0, fs=50.0, output="sos"), med, axis=0)
total = clean[:, :3]
gravity = signal.sosfiltfilt(signal.butter(3, 0.3, fs=50.0, output="sos"), total, axis=0)
nine = np.hstack([total - gravity, clean[:, 3:], total])
labels = np.loadtxt(f"{hapt}/labels.txt", dtype=int)
first = labels[labels[:, 0] == 1][0]  # exp, user, activity, start, end (1-based)
start = first[3] - 1
print("UCI-HAR first window: activity", first[2], "start", start)
for t in (0, 64, 127):
    print(f"  t={t}:", ", ".join(f"{v:.6f}" for v in nine[start + t]))

m = io.loadmat(f"{root}/usc-had/USC-HAD/Subject1/a1t1.mat")["sensor_readings"]
print("USC-HAD Subject1/a1t1 rows", m.shape, "row 0:", ", ".join(f"{v:.6f}" for v in m[0]), "row 100:", ", ".join(f"{v:.6f}" for v in m[100]))

import csv
with open(f"{root}/motionsense/A_DeviceMotion_data/dws_1/sub_1.csv") as f:
    rows = list(csv.reader(f))
print("MotionSense dws_1/sub_1 rows", len(rows) - 1, "row 0:", ", ".join(rows[1][1:]))

d = np.loadtxt(f"{root}/daphnet-fog/dataset_fog_release/dataset/S01R02.txt")
print("Daphnet S01R02 rows", len(d), "annotation counts", {int(k): int(v) for k, v in zip(*np.unique(d[:, 10], return_counts=True))})

# WISDM 2019 watch, subject 1600, activity A: both sensors on one 20 Hz grid starting at the
# later of the two first timestamps, linear interpolation.
def stream(path):
    rows = [l.strip().rstrip(";").split(",") for l in open(path) if l.strip()]
    rows = [(int(r[2]), [float(v) for v in r[3:6]]) for r in rows if r[1] == "A"]
    rows.sort(key=lambda r: r[0])
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
w = f"{root}/wisdm2019-watch/raw/watch"
ta, va = stream(f"{w}/accel/data_1600_accel_watch.txt")
tg, vg = stream(f"{w}/gyro/data_1600_gyro_watch.txt")
t0 = max(ta[0], tg[0])
for k in (0, 1, 100):
    t = t0 + k * 50_000_000
    a = [np.interp(t, ta, va[:, i]) for i in range(3)]
    g = [np.interp(t, tg, vg[:, i]) for i in range(3)]
    print(f"WISDM 1600 A grid {k}:", ", ".join(f"{v:.6f}" for v in a + g))
