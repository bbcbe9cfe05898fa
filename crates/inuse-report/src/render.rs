//! Renderers: pure functions from a [`Report`] to text.
//!
//! Each machine format is checked against its official JSON schema in the test suite
//! (`../shared/data/schemas`): OpenVEX 0.2.0, CycloneDX 1.6, SARIF 2.1.0. The JSON format is
//! inuse's own, documented in docs/formats.md; its field names are a contract.

use std::fmt::Write as _;

use serde_json::{Value, json};

use inuse_model::time::rfc3339;

use crate::{Finding, Level, RANKED, Report, Strength, VexStatus, human_duration};

/// Output formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, grouped by tier.
    Table {
        /// Use ANSI colours (only on a terminal, never with `NO_COLOR`).
        color: bool,
    },
    /// inuse's own JSON.
    Json,
    /// OpenVEX 0.2.0.
    OpenVex,
    /// CycloneDX 1.6 JSON with vulnerabilities and their analysis.
    CycloneDx,
    /// SARIF 2.1.0.
    Sarif,
}

/// Renders `report`; `now` (Unix seconds) stamps the document.
pub fn render(report: &Report, format: Format, now: i64) -> String {
    let doc = match format {
        Format::Table { color } => return table(report, color),
        Format::Json => json_doc(report),
        Format::OpenVex => openvex(report, now),
        Format::CycloneDx => cyclonedx(report, now),
        Format::Sarif => sarif(report),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The one-line summary the table leads with.
pub fn summary(report: &Report) -> String {
    let counts = report.counts();
    let n = report.findings.len();
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, c)| *c > 0)
        .map(|(t, c)| match t {
            Strength::Measured(Level::Installed) => format!("{c} installed only"),
            t => format!("{c} {}", t.as_str()),
        })
        .collect();
    let window = if report.window.sweeps == 0 {
        "no live observation".to_owned()
    } else {
        format!(
            "window {} ({} sweep{})",
            human_duration(report.window.seconds()),
            report.window.sweeps,
            if report.window.sweeps == 1 { "" } else { "s" }
        )
    };
    format!(
        "{n} vulnerabilit{}{}{}; {window}",
        if n == 1 { "y" } else { "ies" },
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    )
}

/// Aligned text columns: a header line and one line per row, columns separated by two spaces,
/// the last column unpadded and no trailing spaces. Widths count characters, not bytes. Every
/// table inuse prints goes through here.
pub fn columns<R: AsRef<[String]>>(header: &[&str], rows: &[R]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r.as_ref()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let start = out.len();
        for (i, (c, w)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                out.push_str(c);
            } else {
                let _ = write!(out, "{c:<w$}  ");
            }
        }
        let end = start + out[start..].trim_end().len();
        out.truncate(end);
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for r in rows {
        line(&mut r.as_ref().iter().map(String::as_str));
    }
    out
}

/// `packages: 3 executed, 40 loaded, ...`: evidence for every installed package.
pub fn package_summary(report: &Report) -> Option<String> {
    let parts: Vec<String> = report
        .package_counts
        .iter()
        .filter(|(_, c)| *c > 0)
        .map(|(t, c)| match t {
            Strength::Measured(Level::Installed) => format!("{c} installed only"),
            t => format!("{c} {}", t.as_str()),
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    let total: usize = report.package_counts.iter().map(|(_, c)| c).sum();
    Some(format!("{total} packages: {}", parts.join(", ")))
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

fn table(report: &Report, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint(color, "1", &summary(report)));
    if let Some(line) = package_summary(report) {
        let _ = writeln!(out, "{line}");
    }
    for tier in RANKED {
        let group: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.strength() == tier)
            .collect();
        if group.is_empty() {
            continue;
        }
        let colour = match tier {
            Strength::Measured(Level::Function | Level::Executed) => "1;31",
            Strength::Measured(Level::Loaded) => "31",
            Strength::Measured(Level::Linked) => "33",
            Strength::Measured(Level::Installed) => "2",
            Strength::Unmeasurable => "35",
        };
        let _ = writeln!(
            out,
            "\n{}",
            paint(
                color,
                colour,
                &format!("== {} ==", tier.as_str().to_uppercase())
            )
        );
        let rows: Vec<[String; 6]> = group
            .iter()
            .map(|f| {
                [
                    f.priority.to_string(),
                    f.vulnerability.id.clone(),
                    format!("{} {}", f.package.name, f.package.version),
                    f.vulnerability
                        .severity
                        .as_ref()
                        .map(|s| match s.score {
                            Some(v) => format!("{} {v:.1}", s.label),
                            None => s.label.clone(),
                        })
                        .unwrap_or_else(|| "-".to_owned()),
                    f.vulnerability
                        .fixed_version
                        .clone()
                        .unwrap_or_else(|| "-".to_owned()),
                    where_(f),
                ]
            })
            .collect();
        let header = ["#", "ID", "PACKAGE", "SEVERITY", "FIXED IN", "WHERE"];
        out.push_str(&columns(&header, &rows));
    }
    for n in &report.notes {
        let _ = writeln!(out, "\nnote: {}", n.message);
    }
    out
}

/// The WHERE column: who has it, most exposed first.
fn where_(f: &Finding) -> String {
    let e = &f.evidence;
    if let Some(p) = e.processes.first() {
        let mut s = format!("pid {} {}", p.pid, p.exe);
        if !p.listening.is_empty() {
            let _ = write!(s, " [{}]", p.listening.join(", "));
        }
        if let Some(st) = &p.stale {
            let _ = write!(s, " ({st})");
        }
        if e.processes.len() > 1 {
            let _ = write!(s, " +{} more", e.processes.len() - 1);
        }
        return s;
    }
    if let Some(x) = e.linked_by.first() {
        return if e.linked_by.len() > 1 {
            format!("linked by {x} +{} more", e.linked_by.len() - 1)
        } else {
            format!("linked by {x}")
        };
    }
    e.unmeasurable.clone().unwrap_or_default()
}

fn json_doc(report: &Report) -> Value {
    let counts: serde_json::Map<String, Value> = report
        .counts()
        .into_iter()
        .map(|(t, c)| (t.as_str().to_owned(), json!(c)))
        .collect();
    json!({
        "schema_version": inuse_model::SCHEMA_VERSION,
        "root": report.root,
        "ecosystem": report.ecosystem,
        "window": report.window,
        "min_window_seconds": report.min_window,
        "summary": summary(report),
        "counts": counts,
        "packages": report
            .package_counts
            .iter()
            .map(|(t, c)| (t.as_str().to_owned(), json!(c)))
            .collect::<serde_json::Map<String, Value>>(),
        "findings": report.findings,
        "notes": report.notes,
    })
}

fn impact_statement(report: &Report, f: &Finding) -> String {
    format!(
        "inuse observed {} live-process sweep(s) over {} ({} to {}) and never saw a file of {} \
         {} mapped by any process{}.",
        report.window.sweeps,
        human_duration(report.window.seconds()),
        rfc3339(report.window.start),
        rfc3339(report.window.end),
        f.package.name,
        f.package.version,
        if f.evidence.linked_by.is_empty() {
            String::new()
        } else {
            format!(
                " (it is linked by {} executable(s))",
                f.evidence.linked_by.len()
            )
        }
    )
}

fn action_statement(f: &Finding) -> String {
    let who = match f.evidence.processes.first() {
        Some(p) => format!(
            " and restart the processes that map it (e.g. pid {} {})",
            p.pid, p.exe
        ),
        None => String::new(),
    };
    match &f.vulnerability.fixed_version {
        Some(v) => format!("Upgrade {} to {v} or later{who}.", f.package.name),
        None => format!(
            "No fixed version is known; remove or isolate {}{who}.",
            f.package.name
        ),
    }
}

fn product_id(f: &Finding) -> String {
    if f.package.purl.is_empty() {
        format!("pkg:generic/{}@{}", f.package.name, f.package.version)
    } else {
        f.package.purl.clone()
    }
}

fn openvex(report: &Report, now: i64) -> Value {
    let statements: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let status = f.vex;
            let mut s = json!({
                "vulnerability": {
                    "name": f.vulnerability.id,
                    "aliases": f.vulnerability.aliases,
                },
                "products": [{ "@id": product_id(f) }],
                "status": status.as_str(),
                "status_notes": format!("inuse evidence: {}", f.strength().as_str()),
            });
            match status {
                VexStatus::NotAffected => {
                    s["justification"] = json!("vulnerable_code_not_in_execute_path");
                    s["impact_statement"] = json!(impact_statement(report, f));
                }
                VexStatus::Affected => s["action_statement"] = json!(action_statement(f)),
                VexStatus::UnderInvestigation => {}
            }
            if f.vulnerability.aliases.is_empty() {
                if let Some(v) = s["vulnerability"].as_object_mut() {
                    v.remove("aliases");
                }
            }
            s
        })
        .collect();
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("https://inuse.invalid/vex/{}-{}", sanitize(&report.root), now),
        "author": "inuse",
        "role": "automated evidence collector",
        "timestamp": rfc3339(now),
        "version": 1,
        "tooling": "inuse",
        "statements": statements,
    })
}

fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    t.trim_matches('-')
        .to_owned()
        .chars()
        .take(64)
        .collect::<String>()
}

fn cyclonedx(report: &Report, now: i64) -> Value {
    let mut components: Vec<Value> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in &report.findings {
        let r = product_id(f);
        if seen.insert(r.clone()) {
            let mut props =
                vec![json!({ "name": "inuse:evidence", "value": f.strength().as_str() })];
            for p in &f.evidence.processes {
                props.push(
                    json!({ "name": "inuse:process", "value": format!("{} {}", p.pid, p.exe) }),
                );
            }
            for x in &f.evidence.linked_by {
                props.push(json!({ "name": "inuse:linked_by", "value": x }));
            }
            components.push(json!({
                "type": "library",
                "bom-ref": r,
                "name": f.package.name,
                "version": f.package.version,
                "purl": r,
                "properties": props,
            }));
        }
    }
    let vulns: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let status = f.vex;
            let mut analysis = json!({
                "state": match status {
                    VexStatus::Affected => "exploitable",
                    VexStatus::NotAffected => "not_affected",
                    VexStatus::UnderInvestigation => "in_triage",
                },
                "detail": match status {
                    VexStatus::NotAffected => impact_statement(report, f),
                    VexStatus::Affected => action_statement(f),
                    VexStatus::UnderInvestigation => format!("inuse evidence: {}", f.strength().as_str()),
                },
            });
            if status == VexStatus::NotAffected {
                analysis["justification"] = json!("code_not_reachable");
            }
            let mut v = json!({
                "bom-ref": format!("{}/{}", f.vulnerability.id, product_id(f)),
                "id": f.vulnerability.id,
                "description": f.vulnerability.summary,
                "affects": [{ "ref": product_id(f) }],
                "analysis": analysis,
                "properties": [
                    { "name": "inuse:evidence", "value": f.strength().as_str() },
                    { "name": "inuse:priority", "value": f.priority.to_string() },
                ],
            });
            if let Some(s) = &f.vulnerability.severity {
                let mut rating = json!({ "severity": cdx_severity(&s.label) });
                if let Some(score) = s.score {
                    rating["score"] = json!(score);
                }
                if let Some(vector) = &s.vector {
                    rating["vector"] = json!(vector);
                    rating["method"] = json!(if vector.starts_with("CVSS:4") {
                        "CVSSv4"
                    } else if vector.starts_with("CVSS:3.1") {
                        "CVSSv31"
                    } else if vector.starts_with("CVSS:3") {
                        "CVSSv3"
                    } else {
                        "CVSSv2"
                    });
                }
                v["ratings"] = json!([rating]);
            }
            if let Some(fix) = &f.vulnerability.fixed_version {
                v["recommendation"] = json!(format!("Upgrade to {fix} or later"));
            }
            let refs: Vec<Value> = f
                .vulnerability
                .aliases
                .iter()
                .map(|a| json!({ "id": a, "source": { "name": "OSV" } }))
                .collect();
            if !refs.is_empty() {
                v["references"] = json!(refs);
            }
            v
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(now),
            "tools": { "components": [{ "type": "application", "name": "inuse", "version": env!("CARGO_PKG_VERSION") }] },
            "component": { "type": "operating-system", "bom-ref": "root", "name": report.root },
        },
        "components": components,
        "vulnerabilities": vulns,
    })
}

fn cdx_severity(label: &str) -> &'static str {
    match label.to_ascii_lowercase().as_str() {
        "critical" => "critical",
        "high" | "important" => "high",
        "medium" | "moderate" => "medium",
        "low" | "negligible" => "low",
        "none" => "none",
        _ => "unknown",
    }
}

fn sarif(report: &Report) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut index = std::collections::BTreeMap::new();
    for f in &report.findings {
        if !index.contains_key(&f.vulnerability.id) {
            index.insert(f.vulnerability.id.clone(), rules.len());
            let summary = if f.vulnerability.summary.is_empty() {
                f.vulnerability.id.clone()
            } else {
                f.vulnerability.summary.clone()
            };
            rules.push(json!({
                "id": f.vulnerability.id,
                "shortDescription": { "text": summary },
                "fullDescription": { "text": format!("{} (aliases: {})", summary,
                    if f.vulnerability.aliases.is_empty() { "none".to_owned() } else { f.vulnerability.aliases.join(", ") }) },
                "properties": {
                    "security-severity": f.vulnerability.severity.as_ref().and_then(|s| s.score).map(|s| format!("{s:.1}")),
                },
            }));
        }
    }
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let score = crate::severity_key(f);
            let level = match f.strength() {
                t if t.is_in_memory() && score >= 7.0 => "error",
                t if t.is_in_memory() => "warning",
                Strength::Measured(Level::Linked) | Strength::Unmeasurable if score >= 7.0 => {
                    "warning"
                }
                _ => "note",
            };
            let file = f
                .evidence
                .files
                .first()
                .cloned()
                .or_else(|| f.evidence.linked_by.first().cloned())
                .unwrap_or_else(|| report.root.clone());
            json!({
                "ruleId": f.vulnerability.id,
                "ruleIndex": index[&f.vulnerability.id],
                "level": level,
                "message": { "text": format!(
                    "{} in {} {} (evidence: {}, priority {}){}",
                    f.vulnerability.id, f.package.name, f.package.version, f.strength().as_str(), f.priority,
                    f.vulnerability.fixed_version.as_ref().map(|v| format!("; fixed in {v}")).unwrap_or_default()
                ) },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": format!("file://{file}") } } }],
                "properties": { "evidence": f.strength().as_str(), "priority": f.priority, "purl": product_id(f) },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "inuse",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://inuse.invalid/",
                "rules": rules,
            } },
            "results": results,
        }],
    })
}
