# harbench shortcuts. `just --list` shows them.

mirror := env_var_or_default("HARBENCH_DATA_MIRROR", "../shared/datasets")

# The main job: the quick suite on the synthetic dataset (minutes, no download), then its tables.
quick:
    cargo run --release -p harbench -- run suites/quick.yaml
    cargo run --release -p harbench -- report suites/quick.yaml

# The CI suite (synthetic + Daphnet FoG from the mirror, tiny budgets).
smoke:
    HARBENCH_DATA_MIRROR={{mirror}} cargo run --release -p harbench -- run suites/smoke.yaml
    cargo run --release -p harbench -- report suites/smoke.yaml

# The full reproduction: every table of the paper, then the tables (resumable; the report runs
# even when some runs failed, and says which). Prints the plan and its wall-time estimate on
# JOBS workers first; JOBS defaults to every core (`just reproduce 16` for 16 workers).
reproduce jobs=num_cpus():
    HARBENCH_DATA_MIRROR={{mirror}} cargo run --release -p harbench -- run suites/paper.yaml --dry-run --jobs {{jobs}} | tail -n 3
    -HARBENCH_DATA_MIRROR={{mirror}} cargo run --release -p harbench -- run suites/paper.yaml --jobs {{jobs}}
    cargo run --release -p harbench -- report suites/paper.yaml

# The paper suite as a Slurm job array (run on a login node, from a checkout on the shared
# filesystem; docs/scale.md). Extra options go to `harbench slurm submit`.
reproduce-slurm *options:
    HARBENCH_DATA_MIRROR={{mirror}} cargo run --release -p harbench -- slurm submit suites/paper.yaml {{options}}

# Does this CPU give the committed numbers to the last bit? One short run of suites/portable-check.yaml
# against its reference (portable numerics: any x86-64 CPU with AVX2 + FMA; docs/results.md).
portable-check:
    cargo run --release -p harbench -- run suites/portable-check.yaml --jobs 1 --threads-per-job 1
    cargo run --release -p harbench -- diff --against results/reference --suite portable-check --exact

# Compare two commits' results (e.g. `just diff HEAD~1 HEAD`).
diff a b:
    cargo run --release -p harbench -- diff {{a}} {{b}}

# Move a committed reference result set forward (docs/reports.md), from a clean, committed tree:
# re-runs SUITE as CI does (debug build, one worker, one thread) into results/reference and stages it.
update-reference suite='smoke':
    git diff --quiet HEAD || (echo "commit your changes first: the reference is keyed by a clean commit" && exit 1)
    HARBENCH_DATA_MIRROR={{mirror}} cargo run -p harbench -- run suites/{{suite}}.yaml --jobs 1 --threads-per-job 1 --results results/reference
    # Then drop the older result sets (only now: deleting tracked files first would make the run's
    # tree, and so its commit key, dirty). `harbench diff COMMIT_A COMMIT_B --results
    # results/reference --suite {{suite}}` before this step shows what moved.
    find results/reference/{{suite}} -mindepth 1 -maxdepth 1 -type d ! -name "$(git rev-parse --short=12 HEAD)" -exec rm -rf {} +
    git add -A results/reference/{{suite}}

# The report as a person sees it: headless Chromium renders a suite's report.html (what CI checks).
report-check dir:
    bash ci/report-check.sh {{dir}}

# All tests (real-data checks use the mirror).
test:
    HARBENCH_DATA_MIRROR={{mirror}} cargo test --workspace

# Fetch, verify, prepare and summarise every dataset the mirror holds.
data:
    cargo run --release -p harbench -- data fetch --all --mirror {{mirror}}
    cargo run --release -p harbench -- data prepare --all
    cargo run --release -p harbench -- data stats

# The Slurm backend against a real single-node cluster (root, Debian; what CI runs), given the
# result set of a local `harbench run suites/smoke.yaml --jobs 1`.
slurm-test reference:
    cargo build -p harbench
    HARBENCH_DATA_MIRROR={{mirror}} bash ci/slurm-test.sh {{reference}}

# What CI runs.
ci:
    bash .ci/run

# The paper's cost table on a Jetson board (docs/jetson.md: set nvpmodel and jetson_clocks first):
# every architecture of SUITE's runs profiled once, quietly, with the board's INA3221 rails, then the
# suite's report with the board's columns (latency, energy per window, power) and its Pareto figure.
profile-jetson suite='paper-uci-har':
    cargo build --release -p harbench
    cargo run --release -q -p harbench -- profile {{suite}} --meter auto --min-seconds 5 --energy-seconds 5
    cargo run --release -q -p harbench -- report {{suite}} --checkpoint last
