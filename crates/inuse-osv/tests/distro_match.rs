//! Real Debian and Ubuntu OSV records (the shared samples) matched in dpkg roots written here:
//! source-package matching, release scoping, explicit version lists, alias grouping, and the
//! CVE-2024-3094 case (liblzma5, built from xz-utils 5.6.1-1).

mod common;

use common::{dpkg_root, matches, pairs, store_with, testdata, write};
use inuse_testkit::or_skip;

const DEBIAN_12: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
const UBUNTU_2204: &str =
    "ID=ubuntu\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nVERSION_ID=\"22.04\"\n";

/// DSA-5649-1 as Debian published it (xz-utils, related CVE-2024-3094, fixed by going back
/// to 5.4.5 under a higher version), scoped to Debian:12 so that a bookworm root built here
/// can carry the backdoored version; plus the CVE record with its CVSS vector, as osv.dev
/// serves it, with no Debian package of its own.
fn xz_records(dir: &std::path::Path) {
    write(
        dir,
        "DSA-5649-1.json",
        br#"{"schema_version":"1.6.0","id":"DSA-5649-1","modified":"2024-03-30T00:00:00Z",
        "published":"2024-03-29T00:00:00Z","related":["CVE-2024-3094"],
        "summary":"xz-utils - security update",
        "affected":[{"package":{"ecosystem":"Debian:12","name":"xz-utils"},
          "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"5.5.1alpha-0.1"},
                    {"fixed":"5.6.1+really5.4.5-1"}]}]}]}"#,
    );
    write(
        dir,
        "CVE-2024-3094.json",
        br#"{"id":"CVE-2024-3094","modified":"2024-04-01T00:00:00Z",
        "summary":"Malicious code in xz 5.6.0 and 5.6.1 (liblzma backdoor)",
        "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]}"#,
    );
}

#[test]
fn cve_2024_3094_in_a_debian_12_root() {
    let db = tempfile::tempdir().expect("tempdir");
    xz_records(db.path());
    let (store, report) = store_with(db.path(), &[db.path()]);
    assert_eq!(report.added, 2, "{report:?}");
    let root = dpkg_root(
        DEBIAN_12,
        &[
            ("liblzma5", "5.6.1-1", "xz-utils"),
            ("xz-utils", "5.6.1-1", ""),
            ("libc6", "2.36-9+deb12u4", "glibc"),
        ],
    );
    let (_, m) = matches(&store, root.path());
    assert_eq!(
        pairs(&m),
        [
            ("liblzma5".into(), "CVE-2024-3094".into()),
            ("xz-utils".into(), "CVE-2024-3094".into())
        ]
    );
    let f = &m.findings[0];
    assert_eq!(f.vulnerability.aliases, ["DSA-5649-1"]);
    assert_eq!(f.records, ["DSA-5649-1"]);
    assert_eq!(f.package.source_name, "xz-utils");
    assert_eq!(f.package.source_version, "5.6.1-1");
    assert_eq!(
        f.vulnerability.fixed_version.as_deref(),
        Some("5.6.1+really5.4.5-1")
    );
    let sev = f
        .vulnerability
        .severity
        .as_ref()
        .expect("severity from the CVE record");
    assert_eq!((sev.label.as_str(), sev.score), ("critical", Some(10.0)));

    // The fixed version, and a version before the backdoor, are not affected.
    for v in ["5.6.1+really5.4.5-1", "5.4.1-0.2"] {
        let root = dpkg_root(DEBIAN_12, &[("liblzma5", v, "xz-utils")]);
        let (_, m) = matches(&store, root.path());
        assert!(m.findings.is_empty(), "{v}: {:?}", m.findings);
    }
    // Another release never matches Debian:12 data.
    let root = dpkg_root(
        "ID=debian\nVERSION_ID=\"11\"\n",
        &[("liblzma5", "5.6.1-1", "xz-utils")],
    );
    let (_, m) = matches(&store, root.path());
    assert!(m.findings.is_empty(), "{:?}", m.findings);
}

#[test]
fn real_debian_records() {
    let data = or_skip!(testdata());
    let db = tempfile::tempdir().expect("tempdir");
    let samples = data.join("osv/samples");
    let (store, report) = store_with(
        db.path(),
        &[&samples.join("debian"), &samples.join("osv.dev")],
    );
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    // DSA-3029-1: nginx in Debian:7, fixed in 1.2.1-2.2+wheezy3, CVE-2014-3616 as alias.
    let wheezy = "ID=debian\nVERSION_ID=\"7\"\n";
    let root = dpkg_root(
        wheezy,
        &[
            ("nginx-common", "1.2.1-2.2+wheezy2", "nginx"),
            ("nginx-full", "1.2.1-2.2+wheezy2", "nginx"),
        ],
    );
    let (_, m) = matches(&store, root.path());
    assert_eq!(
        pairs(&m),
        [
            ("nginx-common".into(), "CVE-2014-3616".into()),
            ("nginx-full".into(), "CVE-2014-3616".into())
        ]
    );
    assert_eq!(m.findings[0].vulnerability.aliases, ["DSA-3029-1"]);
    assert_eq!(
        m.findings[0].vulnerability.fixed_version.as_deref(),
        Some("1.2.1-2.2+wheezy3")
    );
    let root = dpkg_root(wheezy, &[("nginx-full", "1.2.1-2.2+wheezy3", "nginx")]);
    assert!(matches(&store, root.path()).1.findings.is_empty());
    // Same source version in Debian 8: other release, no match.
    let root = dpkg_root(
        "ID=debian\nVERSION_ID=\"8\"\n",
        &[("nginx-full", "1.2.1-2.2+wheezy2", "nginx")],
    );
    assert!(matches(&store, root.path()).1.findings.is_empty());

    // DLA-0001-1: gnutls26 in Debian:6.0 (spelled with .0), binary libgnutls26.
    let squeeze = "ID=debian\nVERSION_ID=\"6.0\"\n";
    let root = dpkg_root(squeeze, &[("libgnutls26", "2.8.6-1+squeeze3", "gnutls26")]);
    let (_, m) = matches(&store, root.path());
    assert_eq!(pairs(&m), [("libgnutls26".into(), "CVE-2014-3466".into())]);
    assert_eq!(m.findings[0].vulnerability.aliases, ["DLA-0001-1"]);
    let root = dpkg_root(squeeze, &[("libgnutls26", "2.8.6-1+squeeze4", "gnutls26")]);
    assert!(matches(&store, root.path()).1.findings.is_empty());
}

#[test]
fn real_ubuntu_records() {
    let data = or_skip!(testdata());
    let db = tempfile::tempdir().expect("tempdir");
    let (store, report) = store_with(db.path(), &[&data.join("osv/samples/ubuntu")]);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.added, 3);
    let root = dpkg_root(
        UBUNTU_2204,
        &[
            // Listed in UBUNTU-CVE-2024-3094's versions for 22.04, below its fix.
            ("liblzma5", "5.2.5-2build1", "xz-utils"),
            // Below USN-6859-1's and UBUNTU-CVE-2024-6387's fix 1:8.9p1-3ubuntu0.10.
            ("openssh-server", "1:8.9p1-3ubuntu0.6", "openssh"),
            ("openssh-client", "1:8.9p1-3ubuntu0.10", "openssh"),
        ],
    );
    let (_, m) = matches(&store, root.path());
    assert_eq!(
        pairs(&m),
        [
            ("liblzma5".into(), "CVE-2024-3094".into()),
            ("openssh-server".into(), "CVE-2024-6387".into())
        ]
    );
    let ssh = &m.findings[1];
    // USN-6859-1 (upstream: UBUNTU-CVE-2024-6387) and UBUNTU-CVE-2024-6387 are one finding.
    assert_eq!(ssh.records, ["UBUNTU-CVE-2024-6387", "USN-6859-1"]);
    assert_eq!(
        ssh.vulnerability.aliases,
        ["UBUNTU-CVE-2024-6387", "USN-6859-1"]
    );
    assert_eq!(
        ssh.vulnerability.fixed_version.as_deref(),
        Some("1:8.9p1-3ubuntu0.10")
    );
    let xz = &m.findings[0];
    assert_eq!(
        xz.vulnerability.fixed_version.as_deref(),
        Some("5.2.5-2ubuntu1")
    );
    assert_eq!(
        xz.vulnerability.severity.as_ref().map(|s| s.label.as_str()),
        Some("critical")
    );

    // 20.04 data does not match a 24.04 root, and 24.04's fixed version is not affected.
    let root = dpkg_root(
        "ID=ubuntu\nVERSION=\"24.04 LTS (Noble Numbat)\"\nVERSION_ID=\"24.04\"\n",
        &[
            ("liblzma5", "5.4.5-0.3", "xz-utils"),
            ("openssh-server", "1:9.6p1-3ubuntu13", "openssh"),
        ],
    );
    let (_, m) = matches(&store, root.path());
    assert_eq!(
        pairs(&m),
        [("openssh-server".into(), "CVE-2024-6387".into())]
    );
}

#[test]
fn withdrawn_and_several_affected_entries() {
    let db = tempfile::tempdir().expect("tempdir");
    write(
        db.path(),
        "a.json",
        br#"[{"id":"TEST-1","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z",
        "affected":[{"package":{"ecosystem":"Debian:12","name":"foo"},"versions":["1.0-1"]}]},
        {"id":"TEST-2","modified":"2024-01-01T00:00:00Z","affected":[
          {"package":{"ecosystem":"Debian:12","name":"foo"},
           "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.0"},{"last_affected":"2.5-1"}]}]},
          {"package":{"ecosystem":"Debian:12","name":"foo"},
           "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-2"}]}]},
          {"package":{"ecosystem":"Debian:11","name":"foo"},"versions":["3.0-1"]}]}]"#,
    );
    let (store, report) = store_with(db.path(), &[db.path()]);
    assert_eq!(report.added, 2);
    let cases = [
        ("1.0-1", true),
        ("1.0-2", false),
        ("2.0", true),
        ("2.5-1", true),
        ("2.5-2", false),
        ("3.0-1", false),
    ];
    for (v, want) in cases {
        let root = dpkg_root(DEBIAN_12, &[("foo", v, "")]);
        let (_, m) = matches(&store, root.path());
        let ids: Vec<&str> = m
            .findings
            .iter()
            .map(|f| f.vulnerability.id.as_str())
            .collect();
        assert_eq!(ids, if want { vec!["TEST-2"] } else { vec![] }, "{v}");
    }
}
