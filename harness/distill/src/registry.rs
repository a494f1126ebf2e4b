//! Distillation methods by name. The table itself is one line per method in `methods/mod.rs`
//! (its module, name, default CE / KD mix and summary); this file finds and builds them.

use crate::method::{Method, Mix, Resume};
use crate::methods;
use crate::DistillError;
use serde_json::{Map, Value};

pub struct Entry {
    pub name: &'static str,
    pub summary: &'static str,
    pub mix: Mix,
    pub resume: Resume,
    pub build: fn(Value) -> Result<Box<dyn Method>, DistillError>,
}

/// Every method, in the order tables and `--help` list them: `methods::TABLE`, which the
/// `methods!` invocation in `methods/mod.rs` writes from one line per method.
pub const METHODS: &[Entry] = methods::TABLE;

/// Other spellings accepted on the command line.
const ALIASES: &[(&str, &str)] = &[("fitnet", "fitnets"), ("hint", "fitnets"), ("ls", "logit-std"), ("logit-standardization", "logit-std")];

pub fn names() -> Vec<&'static str> {
    METHODS.iter().map(|e| e.name).collect()
}

/// The entry for `name` (case-insensitive), or an error suggesting the nearest name.
pub fn find(name: &str) -> Result<&'static Entry, DistillError> {
    let lower = name.to_ascii_lowercase();
    let canonical = ALIASES.iter().find(|(a, _)| *a == lower).map(|(_, c)| *c).unwrap_or(&lower);
    if let Some(e) = METHODS.iter().find(|e| e.name == canonical) {
        return Ok(e);
    }
    let nearest = harbench_common::names::nearest(name, names()).map(str::to_string);
    Err(DistillError::Unknown { name: name.into(), nearest, known: names().join(", ") })
}

/// Builds `name` with `params` overriding its defaults. The keys `ce`, `kd` and
/// `kd_temperature` set the [`Mix`]; every other key goes to the method's own config.
pub fn build(name: &str, params: &Map<String, Value>) -> Result<(Box<dyn Method>, Mix), DistillError> {
    let entry = find(name)?;
    let mut mix = entry.mix;
    let mut own = Map::new();
    for (key, value) in params {
        let target = match key.as_str() {
            "ce" => &mut mix.ce,
            "kd" => &mut mix.kd,
            "kd_temperature" => &mut mix.kd_temperature,
            _ => {
                own.insert(key.clone(), value.clone());
                continue;
            }
        };
        *target = value
            .as_f64()
            .ok_or_else(|| DistillError::Config { method: entry.name.into(), message: format!("`{key}` = {value} is not a number") })?;
    }
    methods::weight(entry.name, "ce", mix.ce)?;
    methods::weight(entry.name, "kd", mix.kd)?;
    methods::positive(entry.name, "kd_temperature", mix.kd_temperature)?;
    let method = (entry.build)(Value::Object(own))?;
    Ok((method, mix))
}

/// Parses `key=value` overrides (values as JSON when they parse, else as strings).
pub fn parse_params(pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for pair in pairs {
        let (key, value) = pair.split_once('=').ok_or_else(|| format!("--param '{pair}' is not KEY=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        map.insert(key.trim().to_string(), value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_case_insensitively_with_aliases() {
        assert_eq!(find("KD").unwrap().name, "kd");
        assert_eq!(find("FitNets").unwrap().name, "fitnets");
        assert_eq!(find("hint").unwrap().name, "fitnets");
        let err = find("dkdd").err().unwrap().to_string();
        assert!(err.contains("did you mean 'dkd'"), "{err}");
        assert!(find("nonsense-method").err().unwrap().to_string().contains("known methods: kd, fitnets"));
    }

    #[test]
    fn every_method_builds_with_defaults_and_names_itself() {
        for e in METHODS {
            let (m, _) = build(e.name, &Map::new()).unwrap();
            assert_eq!(m.name(), e.name);
            assert!(m.config().is_object());
        }
    }

    #[test]
    fn methods_resume_as_their_registry_line_says() {
        let starting_over: Vec<_> = METHODS.iter().filter(|e| !build(e.name, &Map::new()).unwrap().0.resumable()).map(|e| e.name).collect();
        // CRD's memory banks are not in the checkpoint.
        assert_eq!(starting_over, ["crd"]);
    }

    #[test]
    fn overrides_reach_the_config_and_bad_ones_name_the_field() {
        let params = parse_params(&["beta=50".into(), "ce=0.5".into(), "kd=0.9".into()]).unwrap();
        let (m, mix) = build("at", &params).unwrap();
        assert_eq!(m.config()["beta"], 50.0);
        assert_eq!(mix, Mix { ce: 0.5, kd: 0.9, kd_temperature: 4.0 });
        let err = build("at", &parse_params(&["betta=5".into()]).unwrap()).err().unwrap().to_string();
        assert!(err.contains("unknown field `betta`") && err.contains("method 'at'"), "{err}");
        let err = build("kd", &parse_params(&["temperature=-1".into()]).unwrap()).err().unwrap().to_string();
        assert!(err.contains("`temperature` = -1"), "{err}");
        let err = build("dkd", &parse_params(&["ce=x".into()]).unwrap()).err().unwrap().to_string();
        assert!(err.contains("`ce`"), "{err}");
        assert!(parse_params(&["novalue".into()]).is_err());
    }
}
