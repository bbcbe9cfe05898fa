//! Hostile input to the importer: invalid JSON, wrong types, unknown ecosystems, absurd
//! versions, zip bombs. Each is reported (file, id when readable, reason) and skipped; the
//! valid records next to it are imported; memory stays bounded by the limits.

mod common;

use std::io::Write;
use std::path::Path;

use common::write;
use inuse_osv::Store;
use inuse_osv::import::{Importer, Limits, Report};

const GOOD: &str = r#"{"id":"GOOD-1","modified":"2024-01-01T00:00:00Z","affected":[
  {"package":{"ecosystem":"Debian:12","name":"foo"},"versions":["1.0-1"]}]}"#;

fn import(store: &mut Store, paths: &[&Path], limits: Limits) -> Report {
    let mut w = store.writer().expect("writer");
    let mut imp = Importer::new(&mut w, limits);
    for p in paths {
        imp.path(p).expect("store errors only");
    }
    let r = std::mem::take(&mut imp.report);
    w.commit().expect("commit");
    r
}

fn reasons(r: &Report) -> Vec<String> {
    r.rejected.iter().map(ToString::to_string).collect()
}

#[test]
fn invalid_records_are_reported_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("in");
    write(&d, "0-good.json", GOOD.as_bytes());
    write(&d, "bad-json.json", b"{\"id\": \"BAD-1\", ");
    write(
        &d,
        "wrong-type.json",
        br#"{"id":"BAD-2","modified":"2024-01-01T00:00:00Z","affected":{"x":1}}"#,
    );
    write(&d, "no-modified.json", br#"{"id":"BAD-3"}"#);
    write(
        &d,
        "bad-time.json",
        br#"{"id":"BAD-4","modified":"2024-13-01T00:00:00Z"}"#,
    );
    write(&d, "bad-event.json", br#"{"id":"PART-1","modified":"2024-01-01T00:00:00Z","affected":[
        {"package":{"ecosystem":"Debian:12","name":"foo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"1"}]}]},
        {"package":{"ecosystem":"Mars:1","name":"foo"},"versions":["1"]},
        {"package":{"ecosystem":"Debian:12","name":"foo"},"versions":["1:"]},
        {"package":{"ecosystem":"Debian:12","name":"foo"},"versions":["1.2-3"]}]}"#);
    let huge = format!(
        r#"{{"id":"PART-2","modified":"2024-01-01T00:00:00Z","affected":[{{"package":{{"ecosystem":"Debian:12","name":"bar"}},"versions":["{}"]}}]}}"#,
        "9".repeat(100_000)
    );
    write(&d, "huge-version.json", huge.as_bytes());
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    write(&d, "deep.json", deep.as_bytes());
    let deep_field = format!(
        r#"{{"id":"DEEP-1","modified":"2024-01-01T00:00:00Z","database_specific":{deep}}}"#
    );
    write(&d, "deep-field.json", deep_field.as_bytes());
    write(
        &d,
        "array.json",
        format!("[{GOOD}, 7, {{\"id\":\"BAD-5\"}}]")
            .replace("GOOD-1", "GOOD-2")
            .as_bytes(),
    );
    write(&d, "empty.json", b"");
    write(&d, "not-json.zip", b"PK\x03\x04 this is no zip");

    let mut store = Store::open(&dir.path().join("v.sqlite")).expect("store");
    let r = import(
        &mut store,
        &[&d, &dir.path().join("missing")],
        Limits::default(),
    );
    let reasons = reasons(&r);
    let has = |needle: &str| reasons.iter().any(|x| x.contains(needle));
    assert!(has("bad-json.json"), "{reasons:#?}");
    assert!(has("wrong-type.json: BAD-2: invalid type"), "{reasons:#?}");
    assert!(
        has("no-modified.json: BAD-3: missing field `modified`"),
        "{reasons:#?}"
    );
    assert!(has("bad-time.json: BAD-4: modified"), "{reasons:#?}");
    assert!(has("deep.json[0]"), "{reasons:#?}");
    assert!(
        has("deep-field.json: DEEP-1: recursion limit"),
        "{reasons:#?}"
    );
    assert!(
        has("array.json[1]") && has("array.json[2]: BAD-5"),
        "{reasons:#?}"
    );
    assert!(has("empty.json"), "{reasons:#?}");
    assert!(has("not-json.zip: not a readable zip"), "{reasons:#?}");
    assert!(has("missing"), "{reasons:#?}");
    assert_eq!(r.rejected.len(), 11, "{reasons:#?}");
    // Valid records with bad parts: imported, the parts dropped and reported.
    assert_eq!(
        (r.records, r.added),
        (4, 4),
        "GOOD-1, GOOD-2, PART-1, PART-2"
    );
    let warn: Vec<String> = r.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warn.len(), 4, "{warn:#?}");
    assert!(
        warn.iter()
            .any(|w| w.contains("PART-1") && w.contains("not an OSV ecosystem"))
    );
    assert!(
        warn.iter()
            .any(|w| w.contains("PART-2") && w.contains("limit"))
    );
    let foo = store.affected("Debian:12", None, "foo").expect("lookup");
    let ids: Vec<&str> = foo.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["GOOD-1", "GOOD-2", "PART-1"]);
    assert!(
        store
            .affected("Debian:12", None, "bar")
            .expect("lookup")
            .is_empty()
    );
}

/// A zip of `entries` (name, bytes), deflated.
fn make_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).expect("create");
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in entries {
        z.start_file(*name, opts).expect("start");
        z.write_all(bytes).expect("write");
    }
    z.finish().expect("finish");
}

#[test]
fn zip_bombs_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = Limits {
        max_record_bytes: 1 << 20,
        max_archive_bytes: 3 << 20,
        max_archive_entries: 100,
    };
    // One entry inflating to 64 MiB (a few hundred KiB compressed), next to a good record.
    let bomb = vec![b' '; 64 << 20];
    let one = dir.path().join("one.zip");
    make_zip(&one, &[("a.json", GOOD.as_bytes()), ("bomb.json", &bomb)]);
    assert!(std::fs::metadata(&one).expect("meta").len() < 1 << 20);
    // Many entries under the per-entry limit that together exceed the total.
    let chunk = vec![b' '; 900 << 10];
    let many = dir.path().join("many.zip");
    let names: Vec<String> = (0..8).map(|i| format!("{i}.json")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &chunk[..])).collect();
    make_zip(&many, &entries);
    // Too many entries.
    let crowd = dir.path().join("crowd.zip");
    let names: Vec<String> = (0..101).map(|i| format!("{i}.json")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), GOOD.as_bytes()))
        .collect();
    make_zip(&crowd, &entries);

    let mut store = Store::open(&dir.path().join("v.sqlite")).expect("store");
    let r = import(&mut store, &[&one, &many, &crowd], limits);
    let reasons = reasons(&r);
    assert!(
        reasons
            .iter()
            .any(|x| x.contains("one.zip:bomb.json") && x.contains("limit")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|x| x.contains("many.zip") && x.contains("in total")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|x| x.contains("crowd.zip") && x.contains("101 entries")),
        "{reasons:#?}"
    );
    assert_eq!(r.added, 1, "the good record next to the bomb");
}

#[test]
fn a_failed_import_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.sqlite");
    let d = dir.path().join("in");
    write(&d, "good.json", GOOD.as_bytes());
    let mut store = Store::open(&path).expect("store");
    import(&mut store, &[&d], Limits::default());
    {
        // An import that is never committed (the process was interrupted).
        let mut w = store.writer().expect("writer");
        let mut imp = Importer::new(&mut w, Limits::default());
        write(
            &d,
            "good.json",
            GOOD.replace("2024-01-01", "2025-01-01")
                .replace("foo", "baz")
                .as_bytes(),
        );
        imp.path(&d).expect("import");
        assert_eq!(imp.report.replaced, 1);
    }
    drop(store);
    let store = Store::open_read_only(&path).expect("store");
    assert_eq!(
        store
            .affected("Debian:12", None, "foo")
            .expect("lookup")
            .len(),
        1
    );
    assert!(
        store
            .affected("Debian:12", None, "baz")
            .expect("lookup")
            .is_empty()
    );
}
