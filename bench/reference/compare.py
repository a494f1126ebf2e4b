"""Runs `harbench bench-train` and the PyTorch twin (bench_train.py) on the same shapes with the
same thread count, checks that both models have the same parameter count, and prints both
throughputs and their ratio (burn / PyTorch) in one run.

Then distillation steps of the first model (the student) from a mobilenetv3-large-1d teacher of
--teacher-width: burn with the teacher run every step and with its outputs cached (harbench's
teacher cache), PyTorch with the teacher run every step (a KD twin; SMLDist has no PyTorch twin
here, so its row shows burn alone).

    python3 compare.py --harbench ../../target/release/harbench --threads 2
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser()
p.add_argument("--harbench", required=True, help="path to a release build of harbench")
p.add_argument("--python", default=sys.executable, help="a Python with torch")
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--models", default="mobilenetv3-small-1d,mobilenetv3-large-1d")
p.add_argument("--channels", default="9,6")
p.add_argument("--width", type=float, default=1.0)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--methods", default="kd,smldist", help="distillation steps to time ('' for none)")
p.add_argument("--teacher-width", type=float, default=1.0, help="width of the distillation steps' teacher")
p.add_argument("--json", help="write every measurement here")
a = p.parse_args()

env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
rows, failures = [], 0
for model in a.models.split(","):
    for channels in map(int, a.channels.split(",")):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            # One process per model, so each reads its own peak memory.
            subprocess.run([a.harbench, "bench-train", "--model", model, "--width", str(a.width), "--channels", str(channels),
                            "--steps", str(a.steps), "--repeats", str(a.repeats), "--json", out.name],
                           check=True, env=env, stdout=subprocess.DEVNULL)
            burn = json.load(open(out.name))
        burn_run = burn["runs"][0]["result"]
        torch_out = subprocess.run([a.python, os.path.join(HERE, "bench_train.py"), "--model", model, "--width", str(a.width),
                                    "--channels", str(channels), "--steps", str(a.steps), "--repeats", str(a.repeats),
                                    "--threads", str(a.threads)], check=True, env=env, capture_output=True, text=True).stdout
        torch_run = json.loads(torch_out.strip().splitlines()[-1])
        same = burn_run["parameters"] == torch_run["parameters"]
        failures += not same
        rows.append({"model": model, "channels": channels, "threads": a.threads, "parameters_burn": burn_run["parameters"],
                     "parameters_torch": torch_run["parameters"], "burn_samples_per_second": burn_run["median"],
                     "torch_samples_per_second": torch_run["median"], "ratio": burn_run["median"] / torch_run["median"],
                     "burn_peak_rss_mib": (burn.get("peak_rss_bytes") or 0) / 2**20, "torch": torch_run["torch"]})

print(f"{'model':<22} {'input':>7} {'params':>9} {'burn s/s':>9} {'torch s/s':>9} {'ratio':>6} {'burn peak MiB':>13}")
for r in rows:
    params = str(r["parameters_burn"]) if r["parameters_burn"] == r["parameters_torch"] else f"{r['parameters_burn']}≠{r['parameters_torch']}"
    print(f"{r['model']:<22} {str(r['channels']) + '×128':>7} {params:>9} {r['burn_samples_per_second']:>9.0f} "
          f"{r['torch_samples_per_second']:>9.0f} {r['ratio']:>6.2f} {r['burn_peak_rss_mib']:>13.0f}")
print(f"threads: {a.threads} (RAYON_NUM_THREADS for burn, torch.set_num_threads for PyTorch {rows[0]['torch'] if rows else ''})")

# Distillation steps: the student (first model) from the teacher, first channel count.
student, channels = a.models.split(",")[0], int(a.channels.split(",")[0])
distill_rows = []
for method in filter(None, a.methods.split(",")):
    # SMLDist's memory distillation needs the teacher's Hopfield head; KD's twin has a linear one.
    heads = "hopfield" if method == "smldist" else "linear"
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([a.harbench, "bench-train", "--model", student, "--width", str(a.width), "--channels", str(channels),
                        "--steps", str(a.steps), "--repeats", str(a.repeats), "--method", method,
                        "--teacher-width", str(a.teacher_width), "--teacher-heads", heads, "--json", out.name],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        runs = json.load(open(out.name))["runs"]
    burn = {r.get("teacher_cached"): r["result"]["median"] for r in runs if r.get("method") == method}
    torch_rate = None
    if method == "kd":
        torch_out = subprocess.run([a.python, os.path.join(HERE, "bench_train.py"), "--model", student, "--width", str(a.width),
                                    "--channels", str(channels), "--steps", str(a.steps), "--repeats", str(a.repeats),
                                    "--threads", str(a.threads), "--kd-teacher-width", str(a.teacher_width)],
                                   check=True, env=env, capture_output=True, text=True).stdout
        torch_rate = json.loads(torch_out.strip().splitlines()[-1])["median"]
    distill_rows.append({"method": method, "student": student, "width": a.width, "teacher_width": a.teacher_width, "channels": channels,
                         "threads": a.threads, "burn_every_step": burn[False], "burn_cached": burn[True], "torch_every_step": torch_rate})
if distill_rows:
    print(f"\ndistillation steps: {student} w{a.width} from mobilenetv3-large-1d w{a.teacher_width}, {channels}×128, samples/s")
    print(f"{'method':<9} {'burn, teacher every step':>25} {'burn, teacher cached':>21} {'torch, teacher every step':>26} {'ratios':>14}")
    for r in distill_rows:
        t = r["torch_every_step"]
        ratios = f"{r['burn_every_step'] / t:.2f} / {r['burn_cached'] / t:.2f}" if t else "—"
        print(f"{r['method']:<9} {r['burn_every_step']:>25.0f} {r['burn_cached']:>21.0f} {(f'{t:.0f}' if t else '—'):>26} {ratios:>14}")
    print("ratios: burn every step / PyTorch, burn cached / PyTorch")
if a.json:
    json.dump({"training": rows, "distillation": distill_rows}, open(a.json, "w"), indent=1)
if failures:
    sys.exit("parameter counts differ: the two models are not the same architecture")
