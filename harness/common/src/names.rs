//! "Did you mean …?": the one rule every harbench error about an unknown name (dataset, model,
//! method, suite key, split protocol) uses to suggest a known one, so that a typo gets the same
//! help on the command line, in a suite file and in the library.

/// The least similarity (0 to 1) for a candidate to be suggested: at least half of the longer
/// name must survive. Normalised Damerau-Levenshtein similarity is `1 − edits / longer length`,
/// so 0.5 accepts 2 edits in 4 letters ("kdd" → "kd" scores 0.67, "deepconvlstn" →
/// "deepconvlstm" 0.92, "mobilenet-large" → "mobilenetv3-large-1d" 0.75) and rejects names that
/// share only chance letters ("xgboost" against the model presets scores at most 0.25). A
/// prefix of two or more letters scores [`PREFIX`], so abbreviations ("abl" → "ablation",
/// "cnn" → "cnn3") are suggested too.
///
/// The four lookups this replaced used 0.4 (suite files, distillation methods) and 0.5
/// (datasets, model presets); no test case scores in between, and a wrong suggestion is worse
/// than none, so the stricter one was kept.
pub const SIMILARITY: f64 = 0.5;

/// The score of a candidate that starts with the name (at least two letters): an abbreviation
/// is as good a hint as a one-letter typo in a four-letter name.
pub const PREFIX: f64 = 0.75;

/// The candidate nearest to `name`, if it is similar enough to be a plausible typo.
///
/// Case-insensitive (`TinyHAR` finds `tinyhar`); the candidate is returned as given. Score:
/// [`strsim::normalized_damerau_levenshtein`] (a swap of two neighbouring letters is one edit),
/// raised to [`PREFIX`] when the candidate starts with `name`; at least [`SIMILARITY`] to count.
/// On a tie the earliest candidate wins, so lists ordered most-common-first suggest the common
/// name ("kdd" scores 2/3 against both `kd` and `dkd`, and gets `kd`).
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let lower = candidate.to_lowercase();
        let prefix = if name.chars().count() >= 2 && lower.starts_with(&name) { PREFIX } else { 0.0 };
        let score = strsim::normalized_damerau_levenshtein(&name, &lower).max(prefix);
        if score >= SIMILARITY && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `" (did you mean 'x'?)"` for the [`nearest`] candidate, or `""`: ready to append to an
/// "unknown …" message.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(name, candidates).map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESETS: &[&str] = &["mobilenetv3-large-1d", "mobilenetv3-small-1d", "deepconvlstm", "tinyhar", "resnet1d", "cnn3"];

    #[test]
    fn typos_find_the_closest_name() {
        // "uci-hr" → "uci-har": one insertion in 7 letters, 1 − 1/7 = 0.857.
        assert_eq!(nearest("uci-hr", ["synthetic", "uci-har", "motionsense"]), Some("uci-har"));
        // "tabels" → "tables": one swap, 1 − 1/6 = 0.833.
        assert_eq!(nearest("tabels", ["datasets", "tables", "seeds"]), Some("tables"));
        // "mobilenetv3-smal-1d": 1 edit from small (0.95), 5 from large (0.75).
        assert_eq!(nearest("mobilenetv3-smal-1d", PRESETS.iter().copied()), Some("mobilenetv3-small-1d"));
        // "mobilenet-large" → "mobilenetv3-large-1d": 5 insertions in 20 letters, 0.75.
        assert_eq!(nearest("mobilenet-large", PRESETS.iter().copied()), Some("mobilenetv3-large-1d"));
    }

    #[test]
    fn case_is_ignored_and_the_candidate_returned_as_given() {
        assert_eq!(nearest("TinyHAR", PRESETS.iter().copied()), Some("tinyhar"));
        assert_eq!(nearest("kd", ["KD", "FitNets"]), Some("KD"));
        assert_eq!(nearest("FITNET", ["kd", "fitnets"]), Some("fitnets"));
    }

    #[test]
    fn prefixes_count_as_close() {
        // "abl" vs "ablation": 5 insertions in 8 letters, 0.375, but a prefix: 0.75.
        assert!(strsim::normalized_damerau_levenshtein("abl", "ablation") < SIMILARITY);
        assert_eq!(nearest("abl", ["har", "kd", "ablation", "cost"]), Some("ablation"));
        // "hold" vs "holdout-subjects": 12 of 16 letters missing (0.25); a prefix.
        assert_eq!(nearest("hold", ["holdout-subjects", "loso", "random"]), Some("holdout-subjects"));
        // One letter is not an abbreviation: "r" vs "random" scores 1 − 5/6 = 0.17.
        assert_eq!(nearest("r", ["random", "xyz"]), None);
    }

    #[test]
    fn the_threshold_is_inclusive_and_far_names_get_nothing() {
        // "abcd" vs "abxy": 2 edits in 4 letters → exactly 0.5: suggested.
        assert_eq!(strsim::normalized_damerau_levenshtein("abcd", "abxy"), 0.5);
        assert_eq!(nearest("abcd", ["abxy"]), Some("abxy"));
        // "abcd" vs "abxyz": 3 edits in 5 → 0.4; "abcd" vs "axyz": 3 in 4 → 0.25.
        assert_eq!(nearest("abcd", ["abxyz", "axyz"]), None);
        // "ab" vs "xbyzw": 4 edits in 5 → 0.2.
        assert_eq!(nearest("ab", ["xbyzw"]), None);
        assert_eq!(nearest("xgboost", PRESETS.iter().copied()), None);
        assert_eq!(nearest("zzzzzzzzzzzz", ["synthetic", "uci-har"]), None);
        assert_eq!(nearest("anything", []), None);
    }

    #[test]
    fn ties_go_to_the_earliest_candidate() {
        // "kdd" scores 1 − 1/3 against both "kd" (one deletion) and "dkd" (one swap).
        assert_eq!(nearest("kdd", ["none", "kd", "fitnets", "dkd"]), Some("kd"));
        assert_eq!(nearest("kdd", ["dkd", "kd"]), Some("dkd"));
    }

    #[test]
    fn did_you_mean_is_ready_to_append() {
        assert_eq!(did_you_mean("loso-", ["holdout-subjects", "loso", "random"]), " (did you mean 'loso'?)");
        assert_eq!(did_you_mean("xgboost", PRESETS.iter().copied()), "");
    }
}
