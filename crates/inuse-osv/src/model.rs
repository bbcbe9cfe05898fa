//! The OSV record (schema 1.6 and 1.7), validated while it is deserialised.
//!
//! Reference: the OSV schema, <https://ossf.github.io/osv-schema/> (`osv.schema.json` in the
//! shared test data). Every record comes from outside (a zip from the network, a file a user
//! points at), so it is read into `Raw*` structs that mirror the JSON (their strings borrowed
//! from it where they hold no escapes) and validated into a `RecordView`, the types below with
//! borrowed strings, which an import stores without copying every string, and which
//! `Record::from_json` (and `Deserialize`) turns into a [`Record`]: once a [`Record`] exists,
//! the rest of the crate relies on its invariants:
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

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cvss::{self, Cvss};
use crate::ecosystem::Ecosystem;

/// Longest identifier accepted (record ids, aliases), in bytes.
pub const MAX_ID_LEN: usize = 256;

/// A validated OSV record.
#[derive(Debug, Clone, PartialEq)]
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
    fn parse(raw: RawSeverity<'_>, warnings: &mut Vec<String>) -> Severity {
        let (kind, score) = (raw.kind.0, raw.score.0);
        let parsed = match &*kind {
            "CVSS_V2" => Some(Cvss::v2(&score)),
            "CVSS_V3" => Some(Cvss::v3(&score)),
            "CVSS_V4" => Some(Cvss::v4(&score)),
            _ => None,
        };
        let cvss = match parsed {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                warnings.push(format!("severity {} {:?}: {e}", kind, truncate(&score, 80)));
                None
            }
            None => None,
        };
        Severity {
            kind: kind.into_owned(),
            score: score.into_owned(),
            cvss,
        }
    }
}

/// An affected package: which versions of it the record covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    /// The package (ecosystem, name, purl).
    pub package: AffectedPackage,
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

/// The package an [`Affected`] entry of an OSV record is about (the record's own naming, not an
/// installed package: that is `inuse_model::PackageRef`).
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedPackage {
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
        Ok(Timestamp {
            text: s.to_owned(),
            nanos: inuse_model::time::parse_rfc3339_nanos(s)?,
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

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

// ---------------------------------------------------------------------------------------------
// Raw mirror of the JSON, borrowing its strings.

/// A string of the JSON: borrowed from the input when it holds no escape sequence (most do),
/// else unescaped into a new one. Deserialises as `String` does, with the same errors.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Str<'a>, D::Error> {
        struct StrVisitor;

        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }

            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Str<'de>, E> {
                match std::str::from_utf8(v) {
                    Ok(s) => Ok(Str(Cow::Owned(s.to_owned()))),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(v), &self)),
                }
            }

            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Str<'de>, E> {
                match String::from_utf8(v) {
                    Ok(s) => Ok(Str(Cow::Owned(s))),
                    Err(e) => Err(E::invalid_value(
                        de::Unexpected::Bytes(&e.into_bytes()),
                        &self,
                    )),
                }
            }
        }

        d.deserialize_string(StrVisitor)
    }
}

fn owned(list: Option<Vec<Str<'_>>>) -> Vec<Cow<'_, str>> {
    list.unwrap_or_default().into_iter().map(|s| s.0).collect()
}

#[derive(Deserialize)]
struct RawRecord<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    modified: Str<'a>,
    #[serde(default, borrow)]
    published: Option<Str<'a>>,
    #[serde(default, borrow)]
    withdrawn: Option<Str<'a>>,
    #[serde(default, borrow)]
    aliases: Option<Vec<Str<'a>>>,
    #[serde(default, borrow)]
    related: Option<Vec<Str<'a>>>,
    #[serde(default, borrow)]
    upstream: Option<Vec<Str<'a>>>,
    #[serde(default, borrow)]
    summary: Option<Str<'a>>,
    #[serde(default, borrow)]
    details: Option<Str<'a>>,
    #[serde(default, borrow)]
    severity: Option<Vec<RawSeverity<'a>>>,
    #[serde(default, borrow)]
    affected: Option<Vec<RawAffected<'a>>>,
    #[serde(default, borrow)]
    references: Option<Vec<RawReference<'a>>>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    score: Str<'a>,
}

#[derive(Deserialize)]
struct RawAffected<'a> {
    #[serde(default, borrow)]
    package: Option<RawPackage<'a>>,
    #[serde(default, borrow)]
    ranges: Option<Vec<RawRange<'a>>>,
    #[serde(default, borrow)]
    versions: Option<Vec<Str<'a>>>,
    #[serde(default, borrow)]
    severity: Option<Vec<RawSeverity<'a>>>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage<'a> {
    #[serde(borrow)]
    ecosystem: Str<'a>,
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(default, borrow)]
    purl: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct RawRange<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(default, borrow)]
    repo: Option<Str<'a>>,
    #[serde(borrow)]
    events: Vec<RawEvent<'a>>,
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(default, borrow)]
    introduced: Option<Str<'a>>,
    #[serde(default, borrow)]
    fixed: Option<Str<'a>>,
    #[serde(default, borrow)]
    last_affected: Option<Str<'a>>,
    #[serde(default, borrow)]
    limit: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct RawReference<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    url: Str<'a>,
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

fn ids<'a>(what: &str, list: Option<Vec<Str<'a>>>) -> Result<Vec<Cow<'a, str>>, Invalid> {
    let list = owned(list);
    for id in &list {
        check_id(what, id)?;
    }
    Ok(list)
}

fn time(what: &str, s: &str) -> Result<Timestamp, Invalid> {
    Timestamp::parse(s).map_err(|e| Invalid(format!("{what} {:?}: {e}", truncate(s, 64))))
}

// ---------------------------------------------------------------------------------------------
// The validated record, borrowing.

/// A validated record whose strings borrow from its JSON (or from a [`Record`]): what an
/// import stores is derived from it without copying every string of the record first.
/// [`RecordView::into_owned`] makes the [`Record`].
#[derive(Debug, Clone)]
pub(crate) struct RecordView<'a> {
    pub id: Cow<'a, str>,
    pub modified: Timestamp,
    pub published: Option<Timestamp>,
    pub withdrawn: Option<Timestamp>,
    pub aliases: Vec<Cow<'a, str>>,
    pub related: Vec<Cow<'a, str>>,
    pub upstream: Vec<Cow<'a, str>>,
    pub summary: Option<Cow<'a, str>>,
    pub details: Option<Cow<'a, str>>,
    pub severity: Cow<'a, [Severity]>,
    pub affected: Vec<AffectedView<'a>>,
    /// `(type, url)`.
    pub references: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub database_specific: Option<Cow<'a, Value>>,
    pub warnings: Vec<String>,
}

/// An [`Affected`] entry of a [`RecordView`].
#[derive(Debug, Clone)]
pub(crate) struct AffectedView<'a> {
    /// A valid ecosystem string ([`Ecosystem::parse`]).
    pub ecosystem: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub purl: Option<Cow<'a, str>>,
    pub ranges: Vec<RangeView<'a>>,
    pub versions: Vec<Cow<'a, str>>,
    pub severity: Cow<'a, [Severity]>,
    pub ecosystem_specific: Option<Cow<'a, Value>>,
    pub database_specific: Option<Cow<'a, Value>>,
}

/// A [`Range`] of a [`RecordView`]; serialises as a [`Range`] does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct RangeView<'a> {
    pub kind: RangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<Cow<'a, str>>,
    pub events: Vec<EventView<'a>>,
}

/// An [`Event`] of a [`RecordView`]; serialises as an [`Event`] does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EventView<'a> {
    Introduced(Cow<'a, str>),
    Fixed(Cow<'a, str>),
    LastAffected(Cow<'a, str>),
    Limit(Cow<'a, str>),
}

impl<'a> RecordView<'a> {
    /// Parses and validates one record from JSON bytes, exactly as [`Record::from_json`].
    pub fn from_json(bytes: &'a [u8]) -> Result<RecordView<'a>, Invalid> {
        // Valid UTF-8 as a whole (checked at once, fast), its strings need not be checked one
        // by one; otherwise it is read as bytes, which fails where `Record::from_json` would.
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::read(serde_json::Deserializer::from_str(text)),
            Err(_) => Self::read(serde_json::Deserializer::from_slice(bytes)),
        }
    }

    fn read<R: serde_json::de::Read<'a>>(
        mut de: serde_json::Deserializer<R>,
    ) -> Result<RecordView<'a>, Invalid> {
        let json = |e: serde_json::Error| Invalid(e.to_string());
        let raw = RawRecord::deserialize(&mut de).map_err(json)?;
        // Validated before the end of the input is checked, as `#[serde(try_from)]` does.
        let view = RecordView::validate(raw)?;
        de.end().map_err(json)?;
        Ok(view)
    }

    /// A view of `record`.
    pub fn of(record: &'a Record) -> RecordView<'a> {
        let borrow = |list: &'a [String]| list.iter().map(|s| Cow::Borrowed(s.as_str())).collect();
        RecordView {
            id: Cow::Borrowed(&record.id),
            modified: record.modified.clone(),
            published: record.published.clone(),
            withdrawn: record.withdrawn.clone(),
            aliases: borrow(&record.aliases),
            related: borrow(&record.related),
            upstream: borrow(&record.upstream),
            summary: record.summary.as_deref().map(Cow::Borrowed),
            details: record.details.as_deref().map(Cow::Borrowed),
            severity: Cow::Borrowed(&record.severity),
            affected: record
                .affected
                .iter()
                .map(|a| AffectedView {
                    ecosystem: Cow::Borrowed(a.package.ecosystem.as_str()),
                    name: Cow::Borrowed(&a.package.name),
                    purl: a.package.purl.as_deref().map(Cow::Borrowed),
                    ranges: a.ranges.iter().map(RangeView::of).collect(),
                    versions: borrow(&a.versions),
                    severity: Cow::Borrowed(&a.severity),
                    ecosystem_specific: a.ecosystem_specific.as_ref().map(Cow::Borrowed),
                    database_specific: a.database_specific.as_ref().map(Cow::Borrowed),
                })
                .collect(),
            references: record
                .references
                .iter()
                .map(|r| {
                    (
                        Cow::Borrowed(r.kind.as_str()),
                        Cow::Borrowed(r.url.as_str()),
                    )
                })
                .collect(),
            database_specific: record.database_specific.as_ref().map(Cow::Borrowed),
            warnings: record.warnings.clone(),
        }
    }

    fn validate(raw: RawRecord<'a>) -> Result<RecordView<'a>, Invalid> {
        check_id("id", &raw.id.0)?;
        let modified = time("modified", &raw.modified.0)?;
        let published = raw
            .published
            .as_ref()
            .map(|s| time("published", &s.0))
            .transpose()?;
        let withdrawn = raw
            .withdrawn
            .as_ref()
            .map(|s| time("withdrawn", &s.0))
            .transpose()?;
        let mut warnings = Vec::new();
        let severity: Vec<Severity> = raw
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
            .map(|r| (r.kind.0, r.url.0))
            .collect();
        Ok(RecordView {
            id: raw.id.0,
            modified,
            published,
            withdrawn,
            aliases: ids("alias", raw.aliases)?,
            related: ids("related id", raw.related)?,
            upstream: ids("upstream id", raw.upstream)?,
            summary: raw.summary.map(|s| s.0),
            details: raw.details.map(|s| s.0),
            severity: Cow::Owned(severity),
            affected,
            references,
            database_specific: raw.database_specific.map(Cow::Owned),
            warnings,
        })
    }

    /// The [`Record`], owning its strings.
    pub fn into_owned(self) -> Record {
        let own = |list: Vec<Cow<'_, str>>| list.into_iter().map(Cow::into_owned).collect();
        Record {
            id: self.id.into_owned(),
            modified: self.modified,
            published: self.published,
            withdrawn: self.withdrawn,
            aliases: own(self.aliases),
            related: own(self.related),
            upstream: own(self.upstream),
            summary: self.summary.map(Cow::into_owned),
            details: self.details.map(Cow::into_owned),
            severity: self.severity.into_owned(),
            affected: self
                .affected
                .into_iter()
                .map(|a| Affected {
                    package: AffectedPackage {
                        ecosystem: Ecosystem::from_valid(a.ecosystem.into_owned()),
                        name: a.name.into_owned(),
                        purl: a.purl.map(Cow::into_owned),
                    },
                    ranges: a.ranges.into_iter().map(RangeView::into_owned).collect(),
                    versions: own(a.versions),
                    severity: a.severity.into_owned(),
                    ecosystem_specific: a.ecosystem_specific.map(Cow::into_owned),
                    database_specific: a.database_specific.map(Cow::into_owned),
                })
                .collect(),
            references: self
                .references
                .into_iter()
                .map(|(kind, url)| Reference {
                    kind: kind.into_owned(),
                    url: url.into_owned(),
                })
                .collect(),
            database_specific: self.database_specific.map(Cow::into_owned),
            warnings: self.warnings,
        }
    }

    /// [`Record::best_cvss`].
    pub fn best_cvss(&self) -> Option<&Cvss> {
        best_cvss(
            self.severity
                .iter()
                .chain(self.affected.iter().flat_map(|a| a.severity.iter())),
        )
    }

    /// [`Record::distro_severity`].
    pub fn distro_severity(&self) -> Option<String> {
        distro_severity(
            &self.severity,
            self.affected.iter().map(|a| {
                (
                    a.ecosystem_specific.as_deref(),
                    a.database_specific.as_deref(),
                )
            }),
            self.summary.as_deref(),
        )
    }
}

impl<'a> RangeView<'a> {
    fn of(r: &'a Range) -> RangeView<'a> {
        RangeView {
            kind: r.kind,
            repo: r.repo.as_deref().map(Cow::Borrowed),
            events: r
                .events
                .iter()
                .map(|e| match e {
                    Event::Introduced(v) => EventView::Introduced(Cow::Borrowed(v)),
                    Event::Fixed(v) => EventView::Fixed(Cow::Borrowed(v)),
                    Event::LastAffected(v) => EventView::LastAffected(Cow::Borrowed(v)),
                    Event::Limit(v) => EventView::Limit(Cow::Borrowed(v)),
                })
                .collect(),
        }
    }

    fn into_owned(self) -> Range {
        Range {
            kind: self.kind,
            repo: self.repo.map(Cow::into_owned),
            events: self
                .events
                .into_iter()
                .map(|e| match e {
                    EventView::Introduced(v) => Event::Introduced(v.into_owned()),
                    EventView::Fixed(v) => Event::Fixed(v.into_owned()),
                    EventView::LastAffected(v) => Event::LastAffected(v.into_owned()),
                    EventView::Limit(v) => Event::Limit(v.into_owned()),
                })
                .collect(),
        }
    }
}

impl EventView<'_> {
    fn version(&self) -> &str {
        match self {
            EventView::Introduced(v)
            | EventView::Fixed(v)
            | EventView::LastAffected(v)
            | EventView::Limit(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for Record {
    /// Deserialises and validates a record (see [`Record::from_json`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Record, D::Error> {
        let raw = RawRecord::deserialize(d)?;
        RecordView::validate(raw)
            .map(RecordView::into_owned)
            .map_err(de::Error::custom)
    }
}

/// Validates one affected entry. `Ok(None)`: an entry without a package (allowed by the
/// schema for records about something else than packages), kept out silently.
fn convert_affected<'a>(
    a: RawAffected<'a>,
    warnings: &mut Vec<String>,
) -> Result<Option<AffectedView<'a>>, Invalid> {
    let Some(p) = a.package else {
        return Ok(None);
    };
    let ecosystem = p.ecosystem.0;
    let scheme = Ecosystem::check(&ecosystem)
        .map_err(|e| Invalid(format!("ecosystem {:?}: {e}", truncate(&ecosystem, 64))))?;
    let name = p.name.0;
    if name.is_empty() || name.len() > 1024 {
        return Err(Invalid("package name empty or over 1024 bytes".into()));
    }
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
        let kind = match &*r.kind.0 {
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
                    (Some(v), None, None, None) => EventView::Introduced(v.0),
                    (None, Some(v), None, None) => EventView::Fixed(v.0),
                    (None, None, Some(v), None) => EventView::LastAffected(v.0),
                    (None, None, None, Some(v)) => EventView::Limit(v.0),
                    _ => return Err(Invalid(
                        "an event must have exactly one of introduced, fixed, last_affected, limit"
                            .into(),
                    )),
                };
            let special = matches!(&event, EventView::Introduced(v) if v == "0")
                || matches!(&event, EventView::Limit(v) if v == "*");
            if !special {
                check_version(kind, event.version())?;
            }
            events.push(event);
        }
        if !events.iter().any(|e| matches!(e, EventView::Introduced(_))) {
            return Err(Invalid("range without an introduced event".into()));
        }
        ranges.push(RangeView {
            kind,
            repo: r.repo.map(|s| s.0),
            events,
        });
    }
    let versions = owned(a.versions);
    for v in &versions {
        check_version(RangeKind::Ecosystem, v)?;
    }
    let severity = a
        .severity
        .unwrap_or_default()
        .into_iter()
        .map(|s| Severity::parse(s, warnings))
        .collect::<Vec<_>>();
    Ok(Some(AffectedView {
        ecosystem,
        name,
        purl: p.purl.map(|s| s.0),
        ranges,
        versions,
        severity: Cow::Owned(severity),
        ecosystem_specific: a.ecosystem_specific.map(Cow::Owned),
        database_specific: a.database_specific.map(Cow::Owned),
    }))
}

/// The best CVSS score of `severities`: the highest score first and, among equal scores, the
/// newest CVSS version.
fn best_cvss<'s>(severities: impl Iterator<Item = &'s Severity>) -> Option<&'s Cvss> {
    severities.filter_map(|s| s.cvss.as_ref()).max_by(|a, b| {
        a.score
            .total_cmp(&b.score)
            .then_with(|| version_rank(a.version).cmp(&version_rank(b.version)))
    })
}

/// See [`Record::distro_severity`]; `specific` are the `(ecosystem_specific,
/// database_specific)` of the affected entries.
fn distro_severity<'s>(
    severity: &[Severity],
    specific: impl Iterator<Item = (Option<&'s Value>, Option<&'s Value>)>,
    summary: Option<&str>,
) -> Option<String> {
    if let Some(s) = severity.iter().find(|s| s.kind == "Ubuntu") {
        return Some(s.score.to_ascii_lowercase());
    }
    for (ecosystem_specific, database_specific) in specific {
        for (field, key) in [
            (ecosystem_specific, "ubuntu_priority"),
            (database_specific, "urgency"),
            (ecosystem_specific, "urgency"),
        ] {
            if let Some(v) = field.and_then(|v| v.get(key)).and_then(Value::as_str) {
                return Some(v.to_ascii_lowercase());
            }
        }
    }
    let summary = summary?;
    let (word, _) = summary.split_once(": ")?;
    ["Critical", "Important", "Moderate", "Low"]
        .contains(&word)
        .then(|| word.to_ascii_lowercase())
}

impl Record {
    /// Parses and validates one record from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Record, Invalid> {
        RecordView::from_json(bytes).map(RecordView::into_owned)
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
        best_cvss(
            self.severity
                .iter()
                .chain(self.affected.iter().flat_map(|a| a.severity.iter())),
        )
    }

    /// A distribution's own severity word, when it gives one: the `Ubuntu` severity type,
    /// Ubuntu's `ubuntu_priority`, Debian's `urgency`, or the Red Hat style summary prefix
    /// (`Important: curl security update`) used by Red Hat, AlmaLinux and Rocky Linux.
    pub fn distro_severity(&self) -> Option<String> {
        distro_severity(
            &self.severity,
            self.affected
                .iter()
                .map(|a| (a.ecosystem_specific.as_ref(), a.database_specific.as_ref())),
            self.summary.as_deref(),
        )
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

    #[test]
    fn strings_borrow_from_the_json_unless_escaped() {
        let json = br#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","summary":"caf\u00e9",
            "affected":[{"package":{"ecosystem":"Debian:12","name":"a"},"ranges":[
                {"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0\u002d1"}]}]}]}"#;
        let view = RecordView::from_json(json).unwrap();
        assert!(matches!(view.id, Cow::Borrowed("X-1")));
        assert!(matches!(view.summary.as_ref(), Some(Cow::Owned(s)) if s == "caf\u{e9}"));
        let a = &view.affected[0];
        assert!(matches!(a.ecosystem, Cow::Borrowed("Debian:12")));
        assert!(matches!(a.name, Cow::Borrowed("a")));
        assert!(matches!(
            &a.ranges[0].events[0],
            EventView::Introduced(Cow::Borrowed("0"))
        ));
        assert!(matches!(&a.ranges[0].events[1], EventView::Fixed(Cow::Owned(v)) if v == "1.0-1"));
        // Owned, and viewed again: the same record, and ranges serialised the same.
        let record = view.into_owned();
        assert_eq!(record, serde_json::from_slice::<Record>(json).unwrap());
        assert_eq!(record.affected[0].package.ecosystem.as_str(), "Debian:12");
        assert_eq!(
            serde_json::to_string(&RecordView::of(&record).affected[0].ranges).unwrap(),
            serde_json::to_string(&record.affected[0].ranges).unwrap()
        );
    }

    #[test]
    fn validation_errors_come_before_trailing_characters() {
        let err = |json: &str| Record::from_json(json.as_bytes()).unwrap_err().0;
        assert_eq!(
            err(r#"{"id":"X 1","modified":"2024-01-01T00:00:00Z"} x"#),
            "id \"X 1\" is not a valid identifier"
        );
        assert_eq!(
            err(r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z"} x"#),
            "trailing characters at line 1 column 48"
        );
        assert_eq!(
            err(r#"{"id":7,"modified":"2024-01-01T00:00:00Z"}"#),
            "invalid type: integer `7`, expected a string at line 1 column 7"
        );
    }
}
