//! One self-contained HTML page per suite and commit: where the numbers come from, the tables
//! (best value per column in bold), their notes and every figure inlined as SVG, so the page
//! reads offline and can be mailed or archived as one file.

use crate::report::{Report, Table};

/// A figure as the page shows it.
pub struct PageFigure<'a> {
    pub title: String,
    /// The SVG document, inlined.
    pub svg: &'a str,
    /// Folded away by default (many confusion maps).
    pub folded: bool,
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1240px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0;font-size:.92em}\
th,td{padding:.3em .8em;border-top:1px solid #ddd;text-align:right}th{border-bottom:2px solid #444;border-top:2px solid #444}\
td.text,th.text{text-align:left}td.best{font-weight:bold}tr:last-child td{border-bottom:2px solid #444}\
.note{font-size:.88em;color:#555;margin:.2em 0}.provenance{background:#f4f4f4;padding:.6em 1em;border-left:4px solid #2864aa}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.9em;color:#555}";

fn table(t: &Table) -> String {
    let best = t.best_rows();
    let numeric = |c: usize| t.better.get(c).copied().flatten().is_some();
    let mut out = format!("<h2 id=\"table-{}\">{} (<code>{}</code>)</h2>\n<table>\n<tr>", t.kind.name(), escape(&t.title), t.kind.name());
    for (c, h) in t.header.iter().enumerate() {
        out.push_str(&format!("<th{}>{}</th>", if numeric(c) { "" } else { " class=\"text\"" }, escape(h)));
    }
    out.push_str("</tr>\n");
    for (r, row) in t.rows.iter().enumerate() {
        out.push_str("<tr>");
        for (c, text) in row.iter().enumerate() {
            let class = match (numeric(c), best.get(c).is_some_and(|b| b.contains(&r))) {
                (false, _) => " class=\"text\"",
                (true, true) => " class=\"best\"",
                (true, false) => "",
            };
            out.push_str(&format!("<td{class}>{}</td>", escape(text)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    for n in &t.notes {
        out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
    }
    out
}

/// The whole page. `machines`: (folder name, description: CPU, cores, memory, kernels) of each
/// machine the records come from, where known.
pub fn page(report: &Report, machines: &[(String, String)], figures: &[PageFigure]) -> String {
    let title = format!("harbench: suite {} at commit {}", report.suite, report.commit);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    out.push_str(&format!("<p class=\"provenance\">{}", escape(&report.provenance())));
    for (name, description) in machines {
        out.push_str(&format!("<br>Machine {}: {}", escape(name), escape(description)));
    }
    out.push_str("<br>Written by <code>harbench report</code>; every number re-runs with <code>harbench run</code> on this commit.</p>\n");
    for t in &report.tables {
        out.push_str(&table(t));
    }
    if !figures.is_empty() {
        out.push_str("<h2 id=\"figures\">Figures</h2>\n");
    }
    for f in figures {
        let body = format!("<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n", strip_xml_declaration(f.svg), escape(&f.title));
        if f.folded {
            out.push_str(&format!("<details><summary>{}</summary>\n{body}</details>\n", escape(&f.title)));
        } else {
            out.push_str(&body);
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// An SVG file may start with `<?xml …?>`, which has no place inside HTML.
fn strip_xml_declaration(svg: &str) -> &str {
    match svg.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, after)| after.trim_start()),
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_xml_declarations_dropped() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(strip_xml_declaration("<?xml version=\"1.0\"?>\n<svg/>"), "<svg/>");
        assert_eq!(strip_xml_declaration("<svg/>"), "<svg/>");
    }
}
