//! The lists in `--help` texts, drawn from the registries so that a new model, method or meter
//! appears there without editing this crate.

/// One line per model preset: `  name  summary`.
pub fn models() -> String {
    harbench_models::PRESETS.iter().map(|p| format!("  {:<22}{}", p.name, p.summary)).collect::<Vec<_>>().join("\n")
}

/// One line per distillation method: `  name  summary`.
pub fn methods() -> String {
    harbench_distill::registry::METHODS.iter().map(|m| format!("  {:<22}{}", m.name, m.summary)).collect::<Vec<_>>().join("\n")
}

/// The energy meters, comma-separated, in order of preference.
pub fn meters() -> String {
    harbench_cost::energy::detect::ids().join(", ")
}

/// `harbench train --help`'s closing text.
pub fn train() -> String {
    format!(
        "Examples:\n  harbench train --dataset synthetic --model mobilenetv3-small-1d --epochs 5\n  \
harbench train --dataset uci-har --model mobilenetv3-large-1d --width 0.5 --seed 1 --epochs 40\n  \
harbench train --dataset pamap2 --model tinyhar --split loso\n  \
harbench train --dataset synthetic --model deepconvlstm --width 0.5\n\n\
Models (docs/models.md describes each):\n{}\n\n\
Distillation (--method): the teacher is trained first on the same split (or reused with \
--teacher-checkpoint), then frozen while the student learns:\n  \
harbench train --dataset uci-har --teacher mobilenetv3-large-1d --student mobilenetv3-small-1d --method KD\n  \
harbench train --dataset uci-har --teacher-checkpoint results/train/t.bpk --student mobilenetv3-small-1d \\\n    \
--method DKD --param warmup=5 --param beta=4\n  \
harbench train --dataset synthetic --teacher mobilenetv3-large-1d --student mobilenetv3-small-1d --method crd --param nce_k=1024\n\n\
Methods (docs/distillation.md lists their losses and hyper-parameters; docs/smldist.md SMLDist's):\n{}\n\n\
SMLDist's memory distillation needs a teacher with a Hopfield head: --teacher-heads hopfield. \
--param KEY=VALUE overrides one hyper-parameter; `ce`, `kd` and `kd_temperature` set the weights of the \
cross-entropy and of an added Hinton KD term.\n\n\
The best-validation checkpoint (.bpk) and a JSON report with the resolved settings are written next \
to each other (--out); an in-process teacher is written beside them as NAME.teacher.bpk/.json, \
reusable with --teacher-checkpoint. Ctrl-C stops after the current batch and still writes both.",
        models(),
        methods()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_registered_name_is_listed() {
        let text = super::train();
        for p in harbench_models::PRESETS {
            assert!(text.contains(p.name), "{} missing from train --help", p.name);
        }
        for m in harbench_distill::registry::METHODS {
            assert!(text.contains(&format!("  {:<22}{}", m.name, m.summary)), "{} missing", m.name);
        }
        for id in harbench_cost::energy::detect::ids() {
            assert!(super::meters().contains(id));
        }
    }
}
