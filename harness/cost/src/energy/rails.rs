//! Which Jetson power rails make the total.
//!
//! Jetson modules differ: Nano (`POM_5V_IN`, `POM_5V_GPU`, `POM_5V_CPU`), TX2 and Xavier NX
//! (`VDD_IN`, …) and Orin NX/Nano (`VDD_IN`, `VDD_CPU_GPU_CV`, `VDD_SOC`) have a module-input
//! rail whose power already contains the others, so adding every rail counts the CPU and GPU
//! twice. AGX Xavier (`GPU`, `CPU`, `SOC`, `CV`, `VDDRQ`, `SYS5V`) and AGX Orin (`VDD_GPU_SOC`,
//! `VDD_CPU_CV`, `VIN_SYS_5V0`, …) have no input rail and their rails add up. `auto` therefore
//! takes the input rail when there is one and the sum of all rails otherwise; `all` always sums
//! (what a naive reading of the rails gives). Every rail's own energy is reported either way.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RailSum {
    /// The module-input rail (`*_IN`) when present, else all rails.
    #[default]
    Auto,
    /// Every rail, always.
    All,
}

/// A module-input rail: `VDD_IN`, `POM_5V_IN`, or any name ending in `_IN`.
pub fn is_input_rail(name: &str) -> bool {
    name.to_ascii_uppercase().ends_with("_IN")
}

/// The total joules and the rule used, from per-rail joules.
pub fn total(rails: &[(String, f64)], policy: RailSum) -> (f64, String) {
    let inputs: Vec<&(String, f64)> = rails.iter().filter(|r| is_input_rail(&r.0)).collect();
    match policy {
        RailSum::Auto if !inputs.is_empty() => {
            let names: Vec<&str> = inputs.iter().map(|r| r.0.as_str()).collect();
            (inputs.iter().map(|r| r.1).sum(), format!("module input rail {} (contains the other rails)", names.join(" + ")))
        }
        _ => {
            let names: Vec<&str> = rails.iter().map(|r| r.0.as_str()).collect();
            (rails.iter().map(|r| r.1).sum(), format!("sum of all rails ({})", names.join(" + ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_rails_are_not_added_to_their_own_parts() {
        let orin = [("VDD_IN".to_string(), 10.0), ("VDD_CPU_GPU_CV".to_string(), 3.0), ("VDD_SOC".to_string(), 2.0)];
        assert_eq!(total(&orin, RailSum::Auto).0, 10.0);
        assert!(total(&orin, RailSum::Auto).1.contains("VDD_IN"));
        assert_eq!(total(&orin, RailSum::All).0, 15.0);
        let xavier = [("GPU".to_string(), 1.0), ("CPU".to_string(), 2.0), ("SYS5V".to_string(), 4.0)];
        assert_eq!(total(&xavier, RailSum::Auto).0, 7.0);
        assert!(is_input_rail("POM_5V_IN") && !is_input_rail("VIN_SYS_5V0") && !is_input_rail("POM_5V_GPU"));
    }
}
