//! harbench suites: the YAML schema of a suite ([`spec`]), its expansion into runs ([`plan`]),
//! the runner ([`runner`], training through an [`runner::Executor`], [`executor::LocalExecutor`] in this process), worker
//! processes on every core ([`pool`], [`schedule`], [`worker`]) and Slurm job arrays ([`slurm`]), the
//! results store ([`store`], [`record`]) with the code and machine behind each result
//! ([`gitinfo`], [`machine`]), and the cost profiles of a suite's architectures ([`profiles`]).
//! What is computed from the records (tables, diffs, statistics, figures) lives in
//! `harbench-report`.

pub mod exact;
pub mod executor;
pub mod gitinfo;
pub mod machine;
pub mod plan;
pub mod pool;
pub mod profiles;
pub mod record;
pub mod runner;
pub mod schedule;
pub mod sets;
pub mod slurm;
pub mod spec;
pub mod store;
pub mod worker;
