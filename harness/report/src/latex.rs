//! The report's tables as LaTeX: one `table` float per table, booktabs rules, mean ± std, the best
//! value of each column in bold. Needs `\usepackage{booktabs}` (the file's first lines say so).

use crate::report::{Report, Table};

/// Escapes LaTeX's special characters in plain text, and sets ± and Δ in math mode.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str(r"\textasciitilde{}"),
            '^' => out.push_str(r"\textasciicircum{}"),
            '±' => out.push_str(r"$\pm$"),
            'Δ' => out.push_str(r"$\Delta$"),
            '—' => out.push_str("---"),
            '†' => out.push_str(r"\dag{}"),
            _ => out.push(c),
        }
    }
    out
}

/// A cell: escaped, with its marks (`*` fewer seeds, `†` seeds from several result sets) as
/// superscripts, in bold when it is its column's best.
fn cell(text: &str, best: bool) -> String {
    let body = text.trim_end_matches(['*', '†']);
    let mark = match &text[body.len()..] {
        "" => String::new(),
        marks => format!(r"\textsuperscript{{{}}}", escape(marks)),
    };
    let body = escape(body);
    if best {
        format!(r"\textbf{{{body}}}{mark}")
    } else {
        format!("{body}{mark}")
    }
}

fn table(report: &Report, t: &Table) -> String {
    let best = t.best_rows();
    // Text columns left, number columns right.
    let numeric =
        |c: usize| t.better.get(c).copied().flatten().is_some() || t.values.iter().any(|row| row.get(c).copied().flatten().is_some());
    let spec: String = (0..t.header.len()).map(|c| if numeric(c) { 'r' } else { 'l' }).collect();
    let mut out = String::new();
    out.push_str("\\begin{table}[t]\n\\centering\n");
    out.push_str(&format!(
        "\\caption{{{} ({}). {}}}\n",
        escape(&t.title),
        escape(t.kind.name()),
        escape(&format!("Suite {}, commit {}, machine {}. {}", report.suite, report.commit, report.machine, report.provenance()))
    ));
    out.push_str(&format!("\\label{{tab:harbench-{}-{}}}\n", report.suite, t.kind.name()));
    out.push_str(&format!("\\begin{{tabular}}{{{spec}}}\n\\toprule\n"));
    out.push_str(&format!("{} \\\\\n\\midrule\n", t.header.iter().map(|h| escape(h)).collect::<Vec<_>>().join(" & ")));
    for (r, row) in t.rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().enumerate().map(|(c, text)| cell(text, best.get(c).is_some_and(|b| b.contains(&r)))).collect();
        out.push_str(&format!("{} \\\\\n", cells.join(" & ")));
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    if !t.notes.is_empty() {
        out.push_str(&format!(
            "\n\\smallskip\n{{\\footnotesize {}\\par}}\n",
            t.notes.iter().map(|n| escape(n)).collect::<Vec<_>>().join(" ")
        ));
    }
    out.push_str("\\end{table}\n");
    out
}

/// Every table of `report`, ready to `\input` into a paper.
pub fn document(report: &Report) -> String {
    let mut out = format!(
        "% Written by `harbench report` ({}).\n% {}\n% Needs \\usepackage{{booktabs}}. Bold: the best value of each column.\n",
        report.heading(),
        report.provenance()
    );
    for t in &report.tables {
        out.push('\n');
        out.push_str(&table(report, t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_are_escaped_and_plus_minus_is_math() {
        assert_eq!(escape("acc % of a_b & c"), r"acc \% of a\_b \& c");
        assert_eq!(escape("Δacc ± 1"), r"$\Delta$acc $\pm$ 1");
        assert_eq!(escape("91.20 ± 0.35"), r"91.20 $\pm$ 0.35");
        assert_eq!(cell("91.20 ± 0.35*", true), r"\textbf{91.20 $\pm$ 0.35}\textsuperscript{*}");
        assert_eq!(cell("—", false), "---");
        assert_eq!(cell("90.49 ± 2.79†", false), r"90.49 $\pm$ 2.79\textsuperscript{\dag{}}");
        assert_eq!(cell("90.49 ± 2.79*†", true), r"\textbf{90.49 $\pm$ 2.79}\textsuperscript{*\dag{}}");
        assert_eq!(escape("† seeds"), r"\dag{} seeds");
    }
}
