//! Distillation methods by name. One line per method: its name, a one-line summary, the
//! CE / KD mix it is trained with by default, and its constructor.

use crate::method::{Method, Mix};
use crate::methods;
use crate::DistillError;
use serde_json::{Map, Value};

pub struct Entry {
    pub name: &'static str,
    pub summary: &'static str,
    pub mix: Mix,
    pub build: fn(Value) -> Result<Box<dyn Method>, DistillError>,
}

const KD_MIX: Mix = Mix { ce: 0.1, kd: 0.0, kd_temperature: 4.0 };

pub const METHODS: &[Entry] = &[
    Entry { name: "kd", summary: "Hinton et al. 2015: soft targets at temperature 4", mix: KD_MIX, build: methods::kd::build },
    Entry {
        name: "fitnets",
        summary: "Romero et al. 2015: hint MSE through a conv regressor",
        mix: Mix::CE,
        build: methods::fitnets::build,
    },
    Entry { name: "at", summary: "Zagoruyko & Komodakis 2017: attention maps over time", mix: Mix::CE, build: methods::at::build },
    Entry { name: "sp", summary: "Tung & Mori 2019: batch similarity matrices", mix: Mix::CE, build: methods::sp::build },
    Entry { name: "rkd", summary: "Park et al. 2019: distance and angle relations", mix: Mix::CE, build: methods::rkd::build },
    Entry {
        name: "pkt",
        summary: "Passalis & Tefas 2018: probabilistic cosine-similarity transfer",
        mix: Mix::CE,
        build: methods::pkt::build,
    },
    Entry { name: "nst", summary: "Huang & Wang 2017: MMD of neuron selectivity profiles", mix: Mix::CE, build: methods::nst::build },
    Entry { name: "crd", summary: "Tian et al. 2020: contrastive, memory bank of negatives", mix: Mix::CE, build: methods::crd::build },
    Entry { name: "dkd", summary: "Zhao et al. 2022: decoupled target / non-target KD", mix: Mix::CE, build: methods::dkd::build },
    Entry {
        name: "dist",
        summary: "Huang et al. 2022: Pearson inter- and intra-class relations",
        mix: Mix::CE,
        build: methods::dist::build,
    },
    Entry {
        name: "logit-std",
        summary: "Sun et al. 2024: KD on z-scored logits",
        mix: Mix { ce: 0.1, kd: 0.0, kd_temperature: 4.0 },
        build: methods::logit_std::build,
    },
    Entry { name: "cc", summary: "Peng et al. 2019: correlation congruence of embeddings", mix: Mix::CE, build: methods::cc::build },
    Entry { name: "vid", summary: "Ahn et al. 2019: variational information (Gaussian NLL)", mix: Mix::CE, build: methods::vid::build },
    Entry { name: "ft", summary: "Kim et al. 2018: factor transfer via paraphraser / translator", mix: Mix::CE, build: methods::ft::build },
    Entry { name: "fsp", summary: "Yim et al. 2017: flow matrices, pre-training stage", mix: Mix::CE, build: methods::fsp::build },
    Entry {
        name: "smldist",
        summary: "Chen et al. 2021: frequency-aware stage, Hopfield memory, conditional logits, searched heads",
        // SMLDist weighs its own cross-entropy by (1 − α).
        mix: Mix { ce: 0.0, kd: 0.0, kd_temperature: 4.0 },
        build: methods::smldist::build,
    },
];

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
    let nearest = METHODS
        .iter()
        .map(|e| (strsim::normalized_damerau_levenshtein(&lower, e.name), e.name))
        .filter(|(s, _)| *s >= 0.4)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n.to_string());
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
