# harbench shortcuts. `just --list` shows them.

mirror := env_var_or_default("HARBENCH_DATA_MIRROR", "../shared/datasets")

# The main job: the synthetic dataset, no download.
quick:
    cargo run --release -p harbench -- data stats synthetic

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
