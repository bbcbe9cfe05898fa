//! Fuzzes the OSV reader: `Record::from_json` on arbitrary bytes must never panic, and a
//! record it accepts must keep its invariants (scores within 0-10, every ECOSYSTEM/SEMVER
//! range with an `introduced` event) and be matchable: evaluating every affected entry
//! against the versions the record itself names must not panic either. The same bytes are
//! also offered to the three CVSS vector parsers.

#![no_main]

use inuse_osv::cvss::Cvss;
use inuse_osv::matching::entry_affects;
use inuse_osv::model::{Event, RangeKind, Record};
use inuse_osv::store::StoredEntry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for parsed in [Cvss::v2(text), Cvss::v3(text), Cvss::v4(text)] {
            if let Ok(c) = parsed {
                assert!((0.0..=10.0).contains(&c.score), "{text:?}: {}", c.score);
            }
        }
    }
    let Ok(record) = Record::from_json(data) else {
        return;
    };
    assert!(!record.id.is_empty());
    for s in record
        .severity
        .iter()
        .chain(record.affected.iter().flat_map(|a| &a.severity))
    {
        if let Some(c) = &s.cvss {
            assert!((0.0..=10.0).contains(&c.score));
        }
    }
    for a in &record.affected {
        let Some(scheme) = a.package.ecosystem.scheme() else {
            continue;
        };
        let entry = StoredEntry {
            ranges: a.ranges.clone(),
            versions: a.versions.clone(),
        };
        let mut probes: Vec<&str> = a.versions.iter().map(String::as_str).collect();
        for r in &a.ranges {
            if r.kind != RangeKind::Git {
                assert!(r.events.iter().any(|e| matches!(e, Event::Introduced(_))));
            }
            probes.extend(r.events.iter().map(Event::version));
        }
        for v in probes.iter().take(64) {
            let _ = entry_affects(scheme, &entry, v);
        }
    }
});
