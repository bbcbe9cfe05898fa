//! Matching installed packages against the store: which vulnerabilities affect what is
//! installed, and in which version they are fixed.
//!
//! Reference: the OSV schema's "Evaluation" section. For one affected entry and one installed
//! version `v`:
//!
//! - `v` is affected if it is in the entry's explicit `versions` list (compared with the
//!   ecosystem's order, so `1.0-1` and `1.00-1` agree), or if any range includes it;
//! - a range's events are sorted by version (`introduced: "0"` first) and walked: `introduced`
//!   at or below `v` turns "affected" on, `fixed` at or below `v` turns it off (fixed is
//!   exclusive), `last_affected` strictly below `v` turns it off (inclusive bound); if the range
//!   has `limit` events, `v` must also be below one of them;
//! - `GIT` ranges need the repository's history and are never matched here.
//!
//! Which installed version is compared depends on the ecosystem's convention
//! ([`crate::ecosystem`]): Debian and Ubuntu records name source packages and their source
//! versions, Alpine names origin packages, rpm distributions name binary packages with their
//! `[epoch:]version-release`. Only records of the root's own ecosystem are looked up (so
//! `Debian:11` data never matches a `Debian:12` root); withdrawn records never match.
//!
//! Pitfalls: a "fixed" version can sort *below* the affected one (Fedora fixed xz by going
//! back to 5.4.6): only an explicit `versions` list catches that, and it is honoured even when
//! the ranges say otherwise. The same vulnerability is published under several ids (a DSA,
//! the CVE, an Ubuntu CVE record): records are grouped into one vulnerability by union-find
//! over `aliases`, and a distribution advisory about exactly one CVE (listed in `related` or
//! `upstream`, or spelled into the id as in `UBUNTU-CVE-2024-3094`) joins that CVE. Advisories
//! about several CVEs stay their own vulnerability: merging them would make distinct
//! vulnerabilities one. One finding is reported per (installed package, vulnerability).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use inuse_model::{Match, Severity, Vulnerability};
use inuse_pkgdb::{Inventory, PackageId};
use inuse_version::{Scheme, compare};
use serde::Serialize;

use crate::ecosystem::{Ecosystem, NameBy};
use crate::model::{Event, Range, RangeKind, Record};
use crate::store::{Info, Store, StoreError, StoredEntry};

/// One vulnerability affecting one installed package ([`Match`], the shared vocabulary's
/// type, reachable through `Deref`), and where the package is in the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    /// Position of the package in the inventory.
    pub package_id: PackageId,
    /// The vulnerability and the package.
    pub found: Match,
}

impl std::ops::Deref for Matched {
    type Target = Match;

    fn deref(&self) -> &Match {
        &self.found
    }
}

/// The JSON of a [`Matched`] is its [`Match`]'s: the inventory position is not part of it.
impl Serialize for Matched {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.found.serialize(s)
    }
}

/// The result of matching an inventory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Matches {
    /// Matches, sorted by package name, version and id.
    pub findings: Vec<Matched>,
    /// Packages whose version could not be compared, and similar problems.
    pub problems: Vec<String>,
    /// Number of packages looked up.
    pub packages_checked: usize,
    /// Packages skipped because their ecosystem is unknown or not matchable.
    pub packages_skipped: usize,
    /// Ecosystems of checked packages for which the store holds no record at all: for them,
    /// no finding means no data, not "not vulnerable".
    pub ecosystems_without_data: Vec<String>,
}

/// Whether `version` is affected by one stored entry; `Some(fix)` if it is, `fix` being the
/// version that fixes it when the entry names one.
pub fn entry_affects(
    scheme: Scheme,
    entry: &StoredEntry,
    version: &str,
) -> Result<Option<Option<String>>, inuse_version::VersionError> {
    let mut hit = false;
    for listed in &entry.versions {
        if listed == version || compare(scheme, version, listed)? == Ordering::Equal {
            hit = true;
            break;
        }
    }
    let mut fix: Option<String> = None;
    for range in &entry.ranges {
        let s = match range.kind {
            RangeKind::Ecosystem => scheme,
            RangeKind::Semver => Scheme::Semver,
            RangeKind::Git => continue,
        };
        let (affected, range_fix) = range_affects(s, range, version)?;
        hit |= affected;
        if affected || fix.is_none() {
            if let Some(f) = range_fix {
                fix = Some(match fix {
                    Some(old)
                        if compare(s, &old, &f).unwrap_or(Ordering::Equal) != Ordering::Less =>
                    {
                        old
                    }
                    _ => f,
                });
            }
        }
    }
    Ok(hit.then_some(fix))
}

/// Evaluates one range for `v`: whether it is affected, and the first `fixed` above `v`.
pub fn range_affects(
    scheme: Scheme,
    range: &Range,
    v: &str,
) -> Result<(bool, Option<String>), inuse_version::VersionError> {
    // Validate the installed version once so that a comparator failure below means the event.
    compare(scheme, v, v)?;
    let cmp = |a: &str, b: &str| compare(scheme, a, b).unwrap_or(Ordering::Equal);
    let rank = |e: &Event| match e {
        Event::Introduced(_) => 0,
        Event::LastAffected(_) => 1,
        Event::Fixed(_) => 2,
        Event::Limit(_) => 3,
    };
    let mut events: Vec<&Event> = range
        .events
        .iter()
        .filter(|e| !matches!(e, Event::Limit(_)))
        .collect();
    events.sort_by(|a, b| {
        let zero = |e: &Event| matches!(e, Event::Introduced(x) if x == "0");
        match (zero(a), zero(b)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => cmp(a.version(), b.version()).then_with(|| rank(a).cmp(&rank(b))),
        }
    });
    let mut affected = false;
    for e in &events {
        match e {
            Event::Introduced(x) => {
                if x == "0" || cmp(v, x) != Ordering::Less {
                    affected = true;
                }
            }
            Event::Fixed(x) => {
                if cmp(v, x) != Ordering::Less {
                    affected = false;
                }
            }
            Event::LastAffected(x) => {
                if cmp(v, x) == Ordering::Greater {
                    affected = false;
                }
            }
            Event::Limit(_) => {}
        }
    }
    let limits: Vec<&str> = range
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Limit(x) if x != "*" => Some(x.as_str()),
            _ => None,
        })
        .collect();
    if affected && !limits.is_empty() && !limits.iter().any(|l| cmp(v, l) == Ordering::Less) {
        affected = false;
    }
    let fix = events.iter().find_map(|e| match e {
        Event::Fixed(x) if cmp(x, v) == Ordering::Greater => Some(x.clone()),
        _ => None,
    });
    Ok((affected, fix))
}

/// A hit of one record on one package.
struct Hit {
    package: usize,
    /// The record's row in the store.
    record: i64,
    fix: Option<String>,
    scheme: Scheme,
}

/// Matches every installed package of `inventory` against `store`.
///
/// Reads only the index and the records' normalized columns: no record JSON is parsed.
pub fn match_inventory(store: &Store, inventory: &Inventory) -> Result<Matches, StoreError> {
    let _snapshot = store.snapshot()?;
    let mut out = Matches::default();
    // Group packages by what is looked up, so each (ecosystem, name) is queried once.
    let mut lookups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut ecosystems: HashMap<String, Option<Ecosystem>> = HashMap::new();
    for (i, p) in inventory.packages.iter().enumerate() {
        let Some(eco) = p.ecosystem.as_deref() else {
            out.packages_skipped += 1;
            continue;
        };
        let parsed = ecosystems
            .entry(eco.to_owned())
            .or_insert_with(|| Ecosystem::parse(eco).ok().filter(|e| e.scheme().is_some()));
        let Some(parsed) = parsed else {
            out.packages_skipped += 1;
            continue;
        };
        let name = match parsed.name_by() {
            NameBy::Source => &p.source_name,
            NameBy::Binary => &p.name,
        };
        out.packages_checked += 1;
        lookups
            .entry((eco.to_owned(), name.clone()))
            .or_default()
            .push(i);
    }

    let mut checked: Vec<&str> = lookups.keys().map(|(eco, _)| eco.as_str()).collect();
    checked.dedup();
    for eco in checked {
        if let Some(Some(ecosystem)) = ecosystems.get(eco) {
            let (exact, like) = ecosystem.lookup_keys();
            if !store.has_ecosystem(&exact, like.as_deref())? {
                out.ecosystems_without_data.push(eco.to_owned());
            }
        }
    }

    let mut hits: Vec<Hit> = Vec::new();
    let mut bad_versions: BTreeSet<usize> = BTreeSet::new();
    for ((eco, name), packages) in &lookups {
        let Some(Some(ecosystem)) = ecosystems.get(eco) else {
            continue;
        };
        let Some(scheme) = ecosystem.scheme() else {
            continue;
        };
        let (exact, like) = ecosystem.lookup_keys();
        store.lookup(&exact, like.as_deref(), name, |record, entry| {
            for &i in packages {
                let p = &inventory.packages[i];
                let version = match ecosystem.name_by() {
                    NameBy::Source => &p.source_version,
                    NameBy::Binary => &p.version,
                };
                match entry_affects(scheme, entry, version) {
                    Ok(Some(fix)) => hits.push(Hit {
                        package: i,
                        record,
                        fix,
                        scheme,
                    }),
                    Ok(None) => {}
                    Err(e) => {
                        if bad_versions.insert(i) {
                            out.problems
                                .push(format!("{} {}: cannot compare: {e}", p.name, p.version));
                        }
                    }
                }
            }
            Ok(())
        })?;
    }

    // Records of the hits, read once each: by id, and the id of each row.
    let mut records: HashMap<String, Info> = HashMap::new();
    let mut ids_of: HashMap<i64, String> = HashMap::new();
    let mut missing: BTreeSet<i64> = BTreeSet::new();
    for h in &hits {
        if ids_of.contains_key(&h.record) || missing.contains(&h.record) {
            continue;
        }
        match store.info(h.record)? {
            Some(info) => {
                ids_of.insert(h.record, info.id.clone());
                records.insert(info.id.clone(), info);
            }
            None => {
                missing.insert(h.record);
                out.problems
                    .push(format!("record row {}: no longer stored", h.record));
            }
        }
    }

    let mut groups = UnionFind::default();
    for r in records.values() {
        groups.add(&r.id);
        for a in &r.aliases {
            groups.union(&r.id, a);
        }
        if let Some(cve) = &r.cve {
            groups.union(&r.id, cve);
        }
    }

    // (package, group root) -> hits
    let mut by_vuln: BTreeMap<(usize, String), Vec<(&str, &Hit)>> = BTreeMap::new();
    for h in &hits {
        if let Some(id) = ids_of.get(&h.record) {
            let root = groups.find_name(id);
            by_vuln
                .entry((h.package, root))
                .or_default()
                .push((id.as_str(), h));
        }
    }
    let mut others: HashMap<String, Option<Info>> = HashMap::new();
    for ((package, _), hs) in by_vuln {
        let p = &inventory.packages[package];
        let matched: BTreeSet<&str> = hs.iter().map(|(id, _)| *id).collect();
        let mut ids: BTreeSet<String> = BTreeSet::new();
        for id in &matched {
            ids.insert((*id).to_owned());
            if let Some(r) = records.get(*id) {
                ids.extend(r.aliases.iter().cloned());
                if let Some(c) = &r.cve {
                    ids.insert(c.clone());
                }
            }
        }
        let id = ids
            .iter()
            .filter(|i| is_cve(i))
            .min_by(|a, b| cve_order(a, b))
            .cloned()
            .or_else(|| matched.iter().next().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        let aliases: Vec<String> = ids.iter().filter(|i| **i != id).cloned().collect();
        let scheme = hs[0].1.scheme;
        let fixed_version = hs
            .iter()
            .filter_map(|(_, h)| h.fix.clone())
            .max_by(|a, b| compare(scheme, a, b).unwrap_or(Ordering::Equal));
        // Ids of the vulnerability that did not match but are stored (the CVE record next to
        // a DSA that carries no severity) contribute severity and summary.
        for other in ids.iter().filter(|i| !matched.contains(i.as_str())) {
            if !others.contains_key(other) {
                let r = store.info_by_id(other)?;
                others.insert(other.clone(), r);
            }
        }
        let mut recs: Vec<&Info> = matched.iter().filter_map(|m| records.get(*m)).collect();
        recs.extend(
            ids.iter()
                .filter(|i| !matched.contains(i.as_str()))
                .filter_map(|i| others.get(i).and_then(Option::as_ref)),
        );
        let severity = severity_of(&recs);
        let summary = recs
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.summary.clone())
            .or_else(|| recs.iter().find_map(|r| r.summary.clone()))
            .or_else(|| recs.iter().find_map(|r| r.details_line.clone()));
        out.findings.push(Matched {
            package_id: PackageId(package as u32),
            found: Match {
                vulnerability: Vulnerability {
                    id,
                    aliases,
                    summary: summary.unwrap_or_default(),
                    severity,
                    fixed_version,
                },
                package: p.identity.clone(),
                records: matched.iter().map(|s| (*s).to_owned()).collect(),
            },
        });
    }
    out.findings.sort_by(|a, b| {
        (&a.package.name, &a.package.version, &a.vulnerability.id).cmp(&(
            &b.package.name,
            &b.package.version,
            &b.vulnerability.id,
        ))
    });
    Ok(out)
}

/// The best CVSS score of the records (each record's own best was chosen on import, the
/// newest CVSS version winning among equal scores), else a distribution's severity word.
fn severity_of(recs: &[&Info]) -> Option<Severity> {
    let best = recs
        .iter()
        .filter_map(|r| r.cvss.as_ref())
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((score, vector, rating)) = best {
        return Some(Severity {
            label: rating.clone(),
            score: Some(*score),
            vector: Some(vector.clone()),
        });
    }
    recs.iter()
        .find_map(|r| r.distro_severity.clone())
        .map(|label| Severity {
            label,
            score: None,
            vector: None,
        })
}

/// `CVE-YYYY-NNNN...`.
pub fn is_cve(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, num)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && num.len() >= 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && num.bytes().all(|b| b.is_ascii_digit())
}

/// Orders CVE ids by year, then number (so `CVE-2024-10000` follows `CVE-2024-9999`).
fn cve_order(a: &str, b: &str) -> Ordering {
    let key = |s: &str| {
        let rest = &s[4..];
        let (y, n) = rest.split_once('-').unwrap_or((rest, ""));
        (y.to_owned(), n.len(), n.to_owned())
    };
    key(a).cmp(&key(b))
}

/// The one CVE a distribution record is about, if it is about exactly one: CVE ids in its
/// id (`UBUNTU-CVE-2024-3094`), aliases, `related` and `upstream`, the last two also through
/// ids that spell a CVE in them.
pub fn single_cve(r: &Record) -> Option<String> {
    single_cve_of(
        std::iter::once(&r.id)
            .chain(&r.aliases)
            .chain(&r.related)
            .chain(&r.upstream)
            .map(String::as_str),
    )
}

/// [`single_cve`] of a record's id, aliases, related and upstream ids.
pub(crate) fn single_cve_of<'s>(ids: impl Iterator<Item = &'s str>) -> Option<String> {
    let mut found: Option<&str> = None;
    for id in ids {
        let cve = if is_cve(id) {
            Some(id)
        } else {
            id.find("-CVE-")
                .map(|pos| &id[pos + 1..])
                .filter(|c| is_cve(c))
        };
        match (cve, found) {
            (Some(c), None) => found = Some(c),
            (Some(c), Some(f)) if c != f => return None,
            _ => {}
        }
    }
    found.map(str::to_owned)
}

/// Union-find over identifier strings.
#[derive(Default)]
struct UnionFind {
    index: HashMap<String, usize>,
    parent: Vec<usize>,
    names: Vec<String>,
}

impl UnionFind {
    fn add(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: &str, b: &str) {
        let (a, b) = (self.add(a), self.add(b));
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller index becomes the root: deterministic whatever the order of unions.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }

    fn find_name(&mut self, name: &str) -> String {
        let i = self.add(name);
        let r = self.find(i);
        self.names[r].clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn range(events: &[(&str, &str)]) -> Range {
        Range {
            kind: RangeKind::Ecosystem,
            repo: None,
            events: events
                .iter()
                .map(|(k, v)| match *k {
                    "introduced" => Event::Introduced((*v).to_owned()),
                    "fixed" => Event::Fixed((*v).to_owned()),
                    "last_affected" => Event::LastAffected((*v).to_owned()),
                    _ => Event::Limit((*v).to_owned()),
                })
                .collect(),
        }
    }

    fn affects(events: &[(&str, &str)], v: &str) -> bool {
        range_affects(Scheme::Deb, &range(events), v).unwrap().0
    }

    #[test]
    fn range_semantics() {
        let r = [("introduced", "0"), ("fixed", "1.2-1")];
        assert!(affects(&r, "1.1-1"));
        assert!(!affects(&r, "1.2-1"), "fixed is exclusive");
        assert!(!affects(&r, "1.3"));
        let r = [("introduced", "1.0"), ("last_affected", "1.5")];
        assert!(!affects(&r, "0.9"));
        assert!(affects(&r, "1.0"), "introduced is inclusive");
        assert!(affects(&r, "1.5"), "last_affected is inclusive");
        assert!(!affects(&r, "1.5.1"));
        // Events out of order, two windows.
        let r = [
            ("fixed", "2.5"),
            ("introduced", "2.0"),
            ("fixed", "1.5"),
            ("introduced", "1.0"),
        ];
        for (v, want) in [
            ("0.5", false),
            ("1.2", true),
            ("1.7", false),
            ("2.2", true),
            ("3", false),
        ] {
            assert_eq!(affects(&r, v), want, "{v}");
        }
        // limit: only below it.
        let r = [("introduced", "0"), ("limit", "2.0")];
        assert!(affects(&r, "1.9"));
        assert!(!affects(&r, "2.0"));
        let r = [("introduced", "0"), ("limit", "*")];
        assert!(affects(&r, "99"));
        // Empty window: introduced and fixed in the same version.
        assert!(!affects(&[("introduced", "1.0"), ("fixed", "1.0")], "1.0"));
        // dpkg order, not string order.
        assert!(affects(
            &[("introduced", "0"), ("fixed", "1.10-1")],
            "1.9-1"
        ));
        assert!(affects(
            &[("introduced", "0"), ("fixed", "1.0-1")],
            "1.0~rc1-1"
        ));
    }

    #[test]
    fn fix_and_versions_list() {
        let entry = StoredEntry {
            ranges: vec![range(&[
                ("introduced", "5.5.1alpha-0.1"),
                ("fixed", "5.6.1+really5.4.5-1"),
            ])],
            versions: vec!["5.4.6-1".into()],
        };
        assert_eq!(
            entry_affects(Scheme::Deb, &entry, "5.6.1-1").unwrap(),
            Some(Some("5.6.1+really5.4.5-1".into()))
        );
        assert_eq!(
            entry_affects(Scheme::Deb, &entry, "5.6.1+really5.4.5-1").unwrap(),
            None
        );
        // Listed explicitly although below the range: the "fixed by going back" case.
        assert!(
            entry_affects(Scheme::Deb, &entry, "5.4.6-1")
                .unwrap()
                .is_some()
        );
        assert!(entry_affects(Scheme::Deb, &entry, "5.4.6-1:").is_err());
    }

    #[test]
    fn cve_identity() {
        assert!(is_cve("CVE-2024-3094"));
        assert!(!is_cve("CVE-24-3094"));
        assert!(!is_cve("UBUNTU-CVE-2024-3094"));
        let r = Record::from_json(
            br#"{"id":"UBUNTU-CVE-2024-3094","modified":"2024-01-01T00:00:00Z","related":["CVE-2024-3094"]}"#,
        )
        .unwrap();
        assert_eq!(single_cve(&r).as_deref(), Some("CVE-2024-3094"));
        let r = Record::from_json(
            br#"{"id":"USN-1","modified":"2024-01-01T00:00:00Z","upstream":["CVE-2024-1","CVE-2024-2"]}"#,
        );
        assert!(r.is_ok());
        let r = Record::from_json(
            br#"{"id":"USN-1","modified":"2024-01-01T00:00:00Z","upstream":["CVE-2024-1111","CVE-2024-2222"]}"#,
        )
        .unwrap();
        assert_eq!(
            single_cve(&r),
            None,
            "several CVEs: stays its own vulnerability"
        );
        assert_eq!(
            cve_order("CVE-2024-10000", "CVE-2024-9999"),
            Ordering::Greater
        );
    }
}
