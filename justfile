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
# even when some runs failed, and says which).
reproduce:
    -HARBENCH_DATA_MIRROR={{mirror}} cargo run --release -p harbench -- run suites/paper.yaml
    cargo run --release -p harbench -- report suites/paper.yaml

# Compare two commits' results (e.g. `just diff HEAD~1 HEAD`).
diff a b:
    cargo run --release -p harbench -- diff {{a}} {{b}}

# All tests (real-data checks use the mirror).
test:
    HARBENCH_DATA_MIRROR={{mirror}} cargo test --workspace

# Fetch, verify, prepare and summarise every dataset the mirror holds.
data:
    cargo run --release -p harbench -- data fetch --all --mirror {{mirror}}
    cargo run --release -p harbench -- data prepare --all
    cargo run --release -p harbench -- data stats

# What CI runs.
ci:
    bash .ci/run
