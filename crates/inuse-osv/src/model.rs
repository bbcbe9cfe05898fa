//! The OSV record (schema 1.6 and 1.7), validated while it is deserialised.
//!
//! Reference: the OSV schema, <https://ossf.github.io/osv-schema/> (`osv.schema.json` in the
//! shared test data). Every record comes from outside (a zip from the network, a file a user
//! points at), so it is read into `Raw*` structs that mirror the JSON and converted into the
//! types below by `TryFrom` (`#[serde(try_from = ...)]`): once a [`Record`] exists, the rest of
//! the crate relies on its invariants:
//!
//! - `id` and every alias are non-empty, at most [`MAX_ID_LEN`] bytes, printable ASCII without
//!   spaces; `modified` is a valid RFC 3339 time (it decides which copy of a record wins);
//! - every range event is exactly one of `introduced`/`fixed`/`last_affected`/`limit`, every
//!   `ECOSYSTEM`/`SEMVER` range has an `introduced` event, `GIT` ranges name their repository;
//! - CVSS vectors are parsed and scored ([`crate::cvss`]); a vector that does not parse is
//!   kept with no score and noted in [`Record::warnings`], because dropping the record for a
//!   bad severity would hide the vulnerability;
//! - an `affected` entry whose ecosystem is not one OSV defines, or whose versions the
//!   ecosystem's version scheme rejects, is dropped and noted in [`Record::warnings`]: it
//!   could never be matched correctly.
//!
//! Unknown fields are ignored (the schema grows); wrong types are errors.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cvss::{self, Cvss};
use crate::ecosystem::Ecosystem;

/// Longest identifier accepted (record ids, aliases), in bytes.
pub const MAX_ID_LEN: usize = 256;

/// A validated OSV record.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawRecord")]
pub struct Record {
    /// The record's identifier (`DSA-5649-1`, `CVE-2024-3094`, `ALSA-2024:1601`).
    pub id: String,
    /// When the record was last changed.
    pub modified: Timestamp,
    /// When the record was first published.
    pub published: Option<Timestamp>,
    /// When the record was withdrawn; a withdrawn record never matches.
    pub withdrawn: Option<Timestamp>,
    /// Identifiers of records about the same vulnerability.
    pub aliases: Vec<String>,
    /// Identifiers of closely related, but different, vulnerabilities (distro advisories
    /// often list the CVEs they fix here).
    pub related: Vec<String>,
    /// Identifiers of the upstream records this one was derived from (schema 1.7).
    pub upstream: Vec<String>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Full description.
    pub details: Option<String>,
    /// Severity of the whole record.
    pub severity: Vec<Severity>,
    /// Affected packages and versions.
    pub affected: Vec<Affected>,
    /// Links.
    pub references: Vec<Reference>,
    /// Database-specific data of the record.
    pub database_specific: Option<Value>,
    /// What was dropped or could not be understood while validating (not fatal).
    pub warnings: Vec<String>,
}

/// One `severity` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Severity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, or another type.
    pub kind: String,
    /// The score string as given (a vector for CVSS types, a word for `Ubuntu`).
    pub score: String,
    /// The parsed vector and its computed base score, for valid CVSS vectors.
    pub cvss: Option<Cvss>,
}

impl Severity {
    fn parse(raw: RawSeverity, warnings: &mut Vec<String>) -> Severity {
        let parsed = match raw.kind.as_str() {
            "CVSS_V2" => Some(Cvss::v2(&raw.score)),
            "CVSS_V3" => Some(Cvss::v3(&raw.score)),
            "CVSS_V4" => Some(Cvss::v4(&raw.score)),
            _ => None,
        };
        let cvss = match parsed {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                warnings.push(format!(
                    "severity {} {:?}: {e}",
                    raw.kind,
                    truncate(&raw.score, 80)
                ));
                None
            }
            None => None,
        };
        Severity {
            kind: raw.kind,
            score: raw.score,
            cvss,
        }
    }
}

/// An affected package: which versions of it the record covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    /// The package (ecosystem, name, purl).
    pub package: PackageRef,
    /// Version ranges.
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    pub versions: Vec<String>,
    /// Severity of this package only (overrides the record's for it).
    pub severity: Vec<Severity>,
    /// Ecosystem-specific data (Ubuntu: `ubuntu_priority`, `binaries`).
    pub ecosystem_specific: Option<Value>,
    /// Database-specific data (Debian: `urgency`).
    pub database_specific: Option<Value>,
}

/// The package an [`Affected`] entry is about.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageRef {
    /// Its ecosystem, with release (`Debian:12`).
    pub ecosystem: Ecosystem,
    /// Package name as the ecosystem spells it (Debian, Ubuntu, Alpine: the source package).
    pub name: String,
    /// Package URL, when given.
    pub purl: Option<String>,
}

/// How the versions of a [`Range`] are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    /// The ecosystem's own version order (dpkg, rpm, apk...).
    Ecosystem,
    /// Semantic Versioning 2.0.0.
    Semver,
    /// Git commits: not comparable without the repository, never matched here.
    Git,
}

/// A version range: events in any order, evaluated sorted by version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Range {
    /// How versions are ordered.
    pub kind: RangeKind,
    /// The repository (GIT ranges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events.
    pub events: Vec<Event>,
}

/// A range event. Bounds: `introduced` inclusive, `fixed` exclusive, `last_affected`
/// inclusive, `limit` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The first affected version (`0`: every version before the next event).
    Introduced(String),
    /// The first version no longer affected.
    Fixed(String),
    /// The last affected version.
    LastAffected(String),
    /// An upper bound on the whole range (exclusive); `*` means none.
    Limit(String),
}

impl Event {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// A `references` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    /// `ADVISORY`, `ARTICLE`, `WEB`, `REPORT`, `FIX`, `PACKAGE`...
    pub kind: String,
    /// The link.
    pub url: String,
}

/// An RFC 3339 time, comparable. Keeps the text as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    text: String,
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    nanos: i128,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t` and `z` accepted too).
    pub fn parse(s: &str) -> Result<Timestamp, &'static str> {
        let b = s.as_bytes();
        if b.len() < 20 || b.len() > 64 {
            return Err("not an RFC 3339 date-time");
        }
        let num = |from: usize, len: usize| -> Result<i64, &'static str> {
            let part = b.get(from..from + len).ok_or("truncated date-time")?;
            if !part.iter().all(u8::is_ascii_digit) {
                return Err("not an RFC 3339 date-time");
            }
            Ok(part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return Err("not an RFC 3339 date-time");
        }
        if b[13] != b':' || b[16] != b':' {
            return Err("not an RFC 3339 date-time");
        }
        let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return Err("invalid date");
        }
        if h > 23 || mi > 59 || sec > 60 {
            return Err("invalid time of day");
        }
        let mut i = 19;
        let mut frac: i128 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    frac = frac * 10 + i128::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return Err("empty fraction of a second");
            }
            for _ in (i - start).min(9)..9 {
                frac *= 10;
            }
        }
        let offset = match &b[i..] {
            b"Z" | b"z" => 0,
            [sign @ (b'+' | b'-'), ..] if b.len() - i == 6 && b[i + 3] == b':' => {
                let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
                if oh > 23 || om > 59 {
                    return Err("invalid time zone offset");
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'+' { o } else { -o }
            }
            _ => return Err("missing or invalid time zone"),
        };
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
        Ok(Timestamp {
            text: s.to_owned(),
            nanos: i128::from(secs) * 1_000_000_000 + frac,
        })
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Nanoseconds since the Unix epoch (for ordering and storage).
    pub fn unix_nanos(&self) -> i128 {
        self.nanos
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (counting whole 400-year eras, each
/// 146,097 days, from 0000-03-01 so that the leap day ends a year).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

// ---------------------------------------------------------------------------------------------
// Raw mirror of the JSON.

#[derive(Deserialize)]
struct RawRecord {
    id: String,
    modified: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    related: Option<Vec<String>>,
    #[serde(default)]
    upstream: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    affected: Option<Vec<RawAffected>>,
    #[serde(default)]
    references: Option<Vec<RawReference>>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    repo: Option<String>,
    events: Vec<RawEvent>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn check_id(what: &str, id: &str) -> Result<(), Invalid> {
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Invalid(format!(
            "{what} {:?} is not a valid identifier",
            truncate(id, 64)
        )));
    }
    Ok(())
}

fn ids(what: &str, list: Option<Vec<String>>) -> Result<Vec<String>, Invalid> {
    let list = list.unwrap_or_default();
    for id in &list {
        check_id(what, id)?;
    }
    Ok(list)
}

fn time(what: &str, s: &str) -> Result<Timestamp, Invalid> {
    Timestamp::parse(s).map_err(|e| Invalid(format!("{what} {:?}: {e}", truncate(s, 64))))
}

impl TryFrom<RawRecord> for Record {
    type Error = Invalid;

    fn try_from(raw: RawRecord) -> Result<Record, Invalid> {
        check_id("id", &raw.id)?;
        let modified = time("modified", &raw.modified)?;
        let published = raw
            .published
            .as_deref()
            .map(|s| time("published", s))
            .transpose()?;
        let withdrawn = raw
            .withdrawn
            .as_deref()
            .map(|s| time("withdrawn", s))
            .transpose()?;
        let mut warnings = Vec::new();
        let severity = raw
            .severity
            .unwrap_or_default()
            .into_iter()
            .map(|s| Severity::parse(s, &mut warnings))
            .collect();
        let mut affected = Vec::new();
        for (i, a) in raw.affected.unwrap_or_default().into_iter().enumerate() {
            match convert_affected(a, &mut warnings) {
                Ok(Some(a)) => affected.push(a),
                Ok(None) => {}
                Err(Invalid(why)) => warnings.push(format!("affected[{i}] skipped: {why}")),
            }
        }
        let references = raw
            .references
            .unwrap_or_default()
            .into_iter()
            .map(|r| Reference {
                kind: r.kind,
                url: r.url,
            })
            .collect();
        Ok(Record {
            id: raw.id,
            modified,
            published,
            withdrawn,
            aliases: ids("alias", raw.aliases)?,
            related: ids("related id", raw.related)?,
            upstream: ids("upstream id", raw.upstream)?,
            summary: raw.summary,
            details: raw.details,
            severity,
            affected,
            references,
            database_specific: raw.database_specific,
            warnings,
        })
    }
}

/// Validates one affected entry. `Ok(None)`: an entry without a package (allowed by the
/// schema for records about something else than packages), kept out silently.
fn convert_affected(
    a: RawAffected,
    warnings: &mut Vec<String>,
) -> Result<Option<Affected>, Invalid> {
    let Some(p) = a.package else {
        return Ok(None);
    };
    let ecosystem = Ecosystem::parse(&p.ecosystem)
        .map_err(|e| Invalid(format!("ecosystem {:?}: {e}", truncate(&p.ecosystem, 64))))?;
    if p.name.is_empty() || p.name.len() > 1024 {
        return Err(Invalid("package name empty or over 1024 bytes".into()));
    }
    let scheme = ecosystem.scheme();
    let check_version = |kind: RangeKind, v: &str| -> Result<(), Invalid> {
        let scheme = match kind {
            RangeKind::Semver => Some(inuse_version::Scheme::Semver),
            RangeKind::Ecosystem => scheme,
            RangeKind::Git => None,
        };
        if let Some(s) = scheme {
            inuse_version::compare(s, v, v).map_err(|e| Invalid(e.to_string()))?;
        } else if v.len() > inuse_version::MAX_VERSION_LEN {
            return Err(Invalid("version over the length limit".into()));
        }
        Ok(())
    };
    let mut ranges = Vec::new();
    for r in a.ranges.unwrap_or_default() {
        let kind = match r.kind.as_str() {
            "ECOSYSTEM" => RangeKind::Ecosystem,
            "SEMVER" => RangeKind::Semver,
            "GIT" => RangeKind::Git,
            other => {
                return Err(Invalid(format!(
                    "unknown range type {:?}",
                    truncate(other, 32)
                )));
            }
        };
        if kind == RangeKind::Git && r.repo.is_none() {
            return Err(Invalid("GIT range without repo".into()));
        }
        let mut events = Vec::with_capacity(r.events.len());
        for e in r.events {
            let event =
                match (e.introduced, e.fixed, e.last_affected, e.limit) {
                    (Some(v), None, None, None) => Event::Introduced(v),
                    (None, Some(v), None, None) => Event::Fixed(v),
                    (None, None, Some(v), None) => Event::LastAffected(v),
                    (None, None, None, Some(v)) => Event::Limit(v),
                    _ => return Err(Invalid(
                        "an event must have exactly one of introduced, fixed, last_affected, limit"
                            .into(),
                    )),
                };
            let v = event.version();
            let special = matches!(&event, Event::Introduced(v) if v == "0")
                || matches!(&event, Event::Limit(v) if v == "*");
            if !special {
                check_version(kind, v)?;
            }
            events.push(event);
        }
        if !events.iter().any(|e| matches!(e, Event::Introduced(_))) {
            return Err(Invalid("range without an introduced event".into()));
        }
        ranges.push(Range {
            kind,
            repo: r.repo,
            events,
        });
    }
    let versions = a.versions.unwrap_or_default();
    for v in &versions {
        check_version(RangeKind::Ecosystem, v)?;
    }
    let severity = a
        .severity
        .unwrap_or_default()
        .into_iter()
        .map(|s| Severity::parse(s, warnings))
        .collect();
    Ok(Some(Affected {
        package: PackageRef {
            ecosystem,
            name: p.name,
            purl: p.purl,
        },
        ranges,
        versions,
        severity,
        ecosystem_specific: a.ecosystem_specific,
        database_specific: a.database_specific,
    }))
}

impl Record {
    /// Parses and validates one record from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Record, Invalid> {
        serde_json::from_slice(bytes).map_err(|e| Invalid(e.to_string()))
    }

    /// The identifier of this record, falling back to nothing: for error messages about
    /// bytes that did not validate, the `id` field if it can be found at all.
    pub fn sniff_id(bytes: &[u8]) -> Option<String> {
        #[derive(Deserialize)]
        struct OnlyId {
            id: String,
        }
        serde_json::from_slice::<OnlyId>(bytes)
            .ok()
            .map(|o| truncate(&o.id, 128).to_owned())
    }

    /// The best CVSS score of the record and its affected entries, the highest score first
    /// and, among equal scores, the newest CVSS version.
    pub fn best_cvss(&self) -> Option<&Cvss> {
        self.severity
            .iter()
            .chain(self.affected.iter().flat_map(|a| a.severity.iter()))
            .filter_map(|s| s.cvss.as_ref())
            .max_by(|a, b| {
                a.score
                    .total_cmp(&b.score)
                    .then_with(|| version_rank(a.version).cmp(&version_rank(b.version)))
            })
    }

    /// A distribution's own severity word, when it gives one: the `Ubuntu` severity type,
    /// Ubuntu's `ubuntu_priority`, Debian's `urgency`, or the Red Hat style summary prefix
    /// (`Important: curl security update`) used by Red Hat, AlmaLinux and Rocky Linux.
    pub fn distro_severity(&self) -> Option<String> {
        if let Some(s) = self.severity.iter().find(|s| s.kind == "Ubuntu") {
            return Some(s.score.to_ascii_lowercase());
        }
        for a in &self.affected {
            for (field, key) in [
                (&a.ecosystem_specific, "ubuntu_priority"),
                (&a.database_specific, "urgency"),
                (&a.ecosystem_specific, "urgency"),
            ] {
                if let Some(v) = field
                    .as_ref()
                    .and_then(|v| v.get(key))
                    .and_then(Value::as_str)
                {
                    return Some(v.to_ascii_lowercase());
                }
            }
        }
        let summary = self.summary.as_deref()?;
        let (word, _) = summary.split_once(": ")?;
        ["Critical", "Important", "Moderate", "Low"]
            .contains(&word)
            .then(|| word.to_ascii_lowercase())
    }
}

fn version_rank(v: cvss::Version) -> u8 {
    match v {
        cvss::Version::V2 => 0,
        cvss::Version::V3_0 => 1,
        cvss::Version::V3_1 => 2,
        cvss::Version::V4_0 => 3,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn timestamps() {
        let a = Timestamp::parse("2023-10-16T00:05:19.431840Z").unwrap();
        let b = Timestamp::parse("2023-10-16T02:05:19.43184+02:00").unwrap();
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
        let epoch = Timestamp::parse("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(epoch.unix_nanos(), 0);
        let t = Timestamp::parse("2000-03-01T00:00:00Z").unwrap();
        assert_eq!(t.unix_nanos(), 951_868_800 * 1_000_000_000);
        for bad in [
            "2023-02-29T00:00:00Z",
            "2023-10-16",
            "2023-10-16T00:05:19",
            "2023-10-16T24:00:00Z",
            "2023-10-16T00:05:19.Z",
            "２０２３-10-16T00:05:19Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn minimal_and_invalid_records() {
        let r = Record::from_json(br#"{"id":"X-1","modified":"2024-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(r.id, "X-1");
        assert!(r.affected.is_empty());
        for (bad, why) in [
            (
                r#"{"modified":"2024-01-01T00:00:00Z"}"#,
                "missing field `id`",
            ),
            (
                r#"{"id":"X 1","modified":"2024-01-01T00:00:00Z"}"#,
                "not a valid identifier",
            ),
            (r#"{"id":"X-1","modified":"yesterday"}"#, "modified"),
            (
                r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","aliases":"CVE-1"}"#,
                "invalid type",
            ),
            (
                r#"{"id":7,"modified":"2024-01-01T00:00:00Z"}"#,
                "invalid type",
            ),
        ] {
            let err = Record::from_json(bad.as_bytes()).unwrap_err();
            assert!(err.0.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn affected_entries_are_validated() {
        let json = r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[
            {"package":{"ecosystem":"Debian:12","name":"a"},
             "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-1"}]}]},
            {"package":{"ecosystem":"NoSuchEcosystem","name":"b"}},
            {"package":{"ecosystem":"Debian:12","name":"c"},
             "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"1"}]}]},
            {"package":{"ecosystem":"Debian:12","name":"d"},
             "ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"1"}]}]},
            {"package":{"ecosystem":"Debian:12","name":"e"},"versions":["1:"]},
            {"package":{"ecosystem":"Debian:12","name":"f"},
             "ranges":[{"type":"WEIRD","events":[{"introduced":"0"}]}]}
        ],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N"}]}"#;
        let r = Record::from_json(json.as_bytes()).unwrap();
        assert_eq!(r.affected.len(), 1);
        assert_eq!(r.affected[0].package.name, "a");
        assert_eq!(r.warnings.len(), 6, "{:?}", r.warnings);
        assert!(r.severity[0].cvss.is_none());
    }
}
