//! The executor that carries out a suite's runs in this process, through `harbench-run`: each
//! [`RunSpec`] becomes a [`RunRequest`]; teachers go through the teacher store.

use crate::plan::{Role, RunSpec};
use crate::record::RunOutput;
use crate::runner::{ExecError, Executor, RunContext, Unavailable};
use harbench_run::{MethodRequest, RunError, RunRequest, StoreEntry, TeacherSource, Workspace};

pub struct LocalExecutor {
    pub workspace: Workspace,
}

/// The request that carries out `run`.
pub fn request(run: &RunSpec) -> Result<RunRequest, RunError> {
    let invalid = |message: String| RunError::Invalid { run: run.key.clone(), message };
    let model = run.model.config().map_err(|e| invalid(e.to_string()))?;
    let method = if run.method.distils() {
        let teacher = run.teacher.as_ref().ok_or_else(|| invalid("it distils but names no teacher".into()))?;
        let params = match &run.method.options {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => Default::default(),
            other => return Err(invalid(format!("method options must be a mapping, not {other}"))),
        };
        Some(MethodRequest {
            name: run.method.name.clone(),
            params,
            teacher: TeacherSource::Store {
                name: teacher.model.label.clone(),
                model: teacher.model.config().map_err(|e| invalid(e.to_string()))?,
                train: teacher.train.clone(),
                entry: StoreEntry::trained_at(teacher.trained_at.clone()),
            },
        })
    } else {
        None
    };
    Ok(RunRequest {
        label: run.key.clone(),
        dataset: run.dataset.clone(),
        split: run.split.clone(),
        fold: run.fold,
        model,
        train: run.train.clone(),
        method,
        device: run.device,
        teacher_store: (run.role == Role::Teacher).then(|| StoreEntry::trained_at(run.trained_at.clone())),
        profile: true,
    })
}

impl Executor for LocalExecutor {
    fn run(&self, run: &RunSpec, ctx: &RunContext) -> Result<RunOutput, ExecError> {
        // `execute` refuses a method this build lacks before any data work.
        let result = request(run).and_then(|r| self.workspace.execute(&r, ctx));
        match result {
            Ok(executed) => Ok(executed.output),
            Err(RunError::Unavailable(why)) => Err(Box::new(Unavailable(why))),
            Err(e) => Err(Box::new(e)),
        }
    }

    fn unavailable(&self, run: &RunSpec) -> Option<String> {
        run.method.distils().then(|| harbench_run::unavailable_method(&run.method.name)).flatten()
    }

    /// Only from a cache that is already prepared: a dry run does no data work.
    fn training_windows(&self, run: &RunSpec) -> Option<usize> {
        let data = self.workspace.prepared_dataset(&run.dataset)?;
        self.workspace.fold(&run.dataset, &data, &run.split, run.fold).ok().map(|f| f.train.len())
    }
}
