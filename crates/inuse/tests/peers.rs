//! Other projects' test databases (`../shared/data/peers`: trivy, syft, osv-scalibr, go-rpmdb,
//! claircore, snyk, openshift-preflight; Alpine's minirootfs) read by `inuse inventory`.
//!
//! Each case is judged twice:
//! - **by the real tool**, where it reads the database: `dpkg-query --admindir -W` for dpkg
//!   (a distroless `status.d/` is given to it as a `status` file, each stanza without `Status`
//!   marked installed, which is what such a stanza means), `rpm --dbpath -qa` for rpm
//!   (Debian's rpm 4.18: SQLite and Berkeley DB). `inventory` must list exactly what the tool
//!   lists. Where the tool refuses the whole database, inventory must still list what can be
//!   read and name the place of what cannot (a problem with its line or page, no panic).
//!   apk has no tool here: Debian 12 ships no `apk-tools`, and the Alpine roots' own
//!   `/sbin/apk` is part of what is analysed, never run; rpm 4.18 has no NDB backend.
//! - **by the peer's own assertion** (`expected.tsv`, `expected-count.txt`, `files.tsv`, the
//!   error the peer expects per its `SOURCE`). Where we disagree with a peer the difference is
//!   in [`EXCEPTIONS`], with the reason, and asserted exactly: a new difference fails, and so
//!   does an exception that no longer happens.
//!
//! Every test prints its tally (`--nocapture`): cases run, agreeing with the tool, refused by
//! the tool, agreeing with the peer, and each documented disagreement.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use inuse_pkgdb::Inventory;
use inuse_root::Root;
use inuse_testkit::{
    Skip, Verdict, dpkg_literal, dpkg_query_list, dpkg_query_search, dpkg_warned_packages, or_skip,
    require_tool, rpm_query_all,
};
use serde_json::Value;

/// A difference from a peer's assertion that we keep on purpose: (family, case, what,
/// the differing rows, why). `what` is `missing` (the peer lists it, we do not), `extra` (we
/// list it, the peer does not), `problems` (the peer asserts no error, we report these),
/// `files` (paths the peer gives the package and we do not); `tool-problems` is a difference
/// from the tool instead (it reports an error, we report nothing).
type Exception = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
);

/// The peers' file lists for dpkg are not dpkg's: see the cases that use it.
const NOT_DPKG_FILE_LIST: &str = "the peer takes a package's files from info/PKG.md5sums or its \
     Conffiles field; dpkg's file list is info/PKG.list, which this fixture lacks, so \
     `dpkg-query -S` gives these paths to no package, and neither do we (md5sums leaves out \
     directories, symlinks and conffiles: it is a checksum list, not the list of what is installed)";

/// syft's file records of a bare `status.d` stanza.
const CONFFILES_ARE_NOT_A_FILE_LIST: &str = "syft gives the stanza's Conffiles field as the \
     package's files; this status.d stanza has no PKG.md5sums beside it (a distroless image's \
     only file list) and dpkg's info/PKG.list is absent, so we know no file of it: we do not \
     take the Conffiles field alone for the package's files (it names configuration, never \
     code that can be loaded, and says nothing of the rest)";

const EXCEPTIONS: &[Exception] = &[
    (
        "dpkg",
        "scalibr-statusfield",
        "extra",
        &[
            "wantinstall_halfinstalled 1.0 ",
            "wantinstall_unpacked 1.0 ",
        ],
        "scalibr keeps only the status word `installed`; an unpacked or half-installed package \
         has its files on disk: dpkg-query -W lists it and dpkg -S gives it its files, so we \
         list it (with its status) as dpkg does",
    ),
    (
        "dpkg",
        "syft-multiple",
        "missing",
        &["no-version  "],
        "syft's raw parser returns a stanza without Version (and without Status, in status.d); \
         no installed package lacks a version (dpkg refuses such a stanza), so we report it \
         as a problem naming the package instead",
    ),
    (
        "dpkg",
        "trivy-corrupsed",
        "problems",
        &[
            "package \"invalidpkg\": invalid deb version \"1:5.#\": invalid character in upstream \
           version (at byte 4)",
        ],
        "trivy asserts no error; dpkg-query warns that invalidpkg's Version '1:5.#' has an \
         invalid character, and so do we (the stanza has no Status, so neither lists it)",
    ),
    (
        "dpkg",
        "syft-image-dpkg",
        "files",
        &[
            "libpam-runtime /etc/pam.conf",
            "libpam-runtime /etc/pam.d/other",
            "libpam-runtime /lib/x86_64-linux-gnu/libz.so.1.2.11",
            "libpam-runtime /usr/share/doc/zlib1g/changelog.Debian.gz",
            "libpam-runtime /usr/share/doc/zlib1g/changelog.gz",
            "libpam-runtime /usr/share/doc/zlib1g/copyright",
        ],
        "syft takes libpam-runtime's files from info/libpam-runtime.md5sums (which this \
         fixture fills with zlib1g's files) and .conffiles; dpkg's file list is \
         info/PKG.list, absent here (dpkg-query refuses this status file anyway, for its \
         empty Package: stanza), so no package owns these paths for us",
    ),
    (
        "rpm",
        "empty-bdb",
        "tool-problems",
        &["rpm: error: bdb_ro error reading Packages database"],
        "rpm 4.18's read-only Berkeley DB backend fails on a hash database without a single \
         record; the file is well-formed and empty (snyk asserts []), so we list nothing and \
         report nothing",
    ),
    (
        "dpkg",
        "syft-multiple",
        "files",
        &[
            "util-linux /etc/default/hwclock",
            "util-linux /etc/init.d/hwclock.sh",
            "util-linux /etc/pam.d/runuser",
            "util-linux /etc/pam.d/runuser-l",
            "util-linux /etc/pam.d/su",
            "util-linux /etc/pam.d/su-l",
        ],
        CONFFILES_ARE_NOT_A_FILE_LIST,
    ),
    (
        "dpkg",
        "syft-single",
        "files",
        &[
            "apt /etc/apt/apt.conf.d/01autoremove",
            "apt /etc/cron.daily/apt-compat",
            "apt /etc/kernel/postinst.d/apt-auto-removal",
            "apt /etc/logrotate.d/apt",
        ],
        CONFFILES_ARE_NOT_A_FILE_LIST,
    ),
    (
        "dpkg",
        "trivy-md5sums",
        "files",
        &[
            "tar /usr/bin/tar",
            "tar /usr/lib/mime/packages/tar",
            "tar /usr/sbin/rmt-tar",
            "tar /usr/sbin/tarcat",
            "tar /usr/share/doc/tar/AUTHORS",
            "tar /usr/share/doc/tar/NEWS.gz",
            "tar /usr/share/doc/tar/README.Debian",
            "tar /usr/share/doc/tar/THANKS.gz",
            "tar /usr/share/doc/tar/changelog.Debian.gz",
            "tar /usr/share/doc/tar/copyright",
            "tar /usr/share/man/man1/tar.1.gz",
            "tar /usr/share/man/man1/tarcat.1.gz",
            "tar /usr/share/man/man8/rmt-tar.8.gz",
        ],
        NOT_DPKG_FILE_LIST,
    ),
];

/// The shared data's `peers/`, or a skip for missing data (a failure under `CI=true`).
fn peers_dir() -> Result<PathBuf, Skip> {
    inuse_testkit::shared_data("peers")
}

/// The sub-directories of `dir`, sorted.
fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn name_of(case: &Path) -> &str {
    case.file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 case name")
}

/// `inuse inventory --root ROOT --format json`: the exit code and the document. Any exit but
/// 0 (all read), 3 (partly read) and 2 (nothing read) fails: a panic is 101.
fn inventory(root: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_inuse"))
        .args(["inventory", "--format", "json", "--root"])
        .arg(root)
        .output()
        .expect("inuse runs");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        matches!(code, 0 | 2 | 3),
        "{}: exit {code}: {}",
        root.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: no JSON on stdout ({e}): {}",
            root.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, doc)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn array<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc[key].as_array().map_or(&[], Vec::as_slice)
}

/// A peer's TSV file: one map per row, keyed by the header.
fn tsv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let body = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = body.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t').chain(std::iter::repeat("")))
                .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// Whether the peer's test expects an error for the case, as its `SOURCE` says.
fn peer_expects_error(case: &Path) -> Option<bool> {
    let source = fs::read_to_string(case.join("SOURCE"))
        .unwrap_or_default()
        .to_lowercase();
    if source.contains("no error") {
        Some(false)
    } else if [
        "error is expected",
        "must return an error",
        "must error",
        "expects an error",
    ]
    .iter()
    .any(|s| source.contains(s))
    {
        Some(true)
    } else {
        None
    }
}

/// Counts and the documented disagreements of one family of cases.
struct Tally {
    family: &'static str,
    cases: usize,
    tool_agrees: usize,
    tool_refuses: usize,
    no_tool: usize,
    peer_agrees: usize,
    disagreements: Vec<String>,
    seen: BTreeSet<(String, &'static str)>,
    case_disagrees: bool,
    /// Differences from a peer that [`EXCEPTIONS`] does not document: each fails the test.
    undocumented: Vec<String>,
}

impl Tally {
    fn new(family: &'static str) -> Tally {
        Tally {
            family,
            cases: 0,
            tool_agrees: 0,
            tool_refuses: 0,
            no_tool: 0,
            peer_agrees: 0,
            disagreements: Vec::new(),
            seen: BTreeSet::new(),
            case_disagrees: false,
            undocumented: Vec::new(),
        }
    }

    fn start(&mut self) {
        self.cases += 1;
        self.case_disagrees = false;
    }

    fn end(&mut self) {
        if !self.case_disagrees {
            self.peer_agrees += 1;
        }
    }

    /// A difference from the peer: none, or exactly the documented one.
    fn differs(&mut self, case: &str, what: &'static str, observed: BTreeSet<String>) {
        let declared = EXCEPTIONS
            .iter()
            .find(|(f, c, w, _, _)| *f == self.family && *c == case && *w == what);
        match declared {
            None => {
                if !observed.is_empty() {
                    self.undocumented
                        .push(format!("{}/{case}: {what}: {observed:#?}", self.family));
                }
            }
            Some((_, _, _, rows, why)) => {
                let rows: BTreeSet<String> = rows.iter().map(|r| (*r).to_owned()).collect();
                assert_eq!(
                    observed, rows,
                    "{}/{case}: the documented {what} exception ({why}) no longer holds",
                    self.family
                );
                self.disagreements
                    .push(format!("{case}: {what} {observed:?}: {why}"));
                self.seen.insert((case.to_owned(), what));
                // `tool-*`: a difference from the tool's verdict, not from the peer.
                if !what.starts_with("tool-") {
                    self.case_disagrees = true;
                }
            }
        }
    }

    fn finish(&self) {
        assert!(
            self.undocumented.is_empty(),
            "differences from the peers' assertions:\n{}",
            self.undocumented.join("\n")
        );
        for (f, c, w, _, _) in EXCEPTIONS.iter().filter(|e| e.0 == self.family) {
            assert!(
                self.seen.contains(&((*c).to_owned(), *w)),
                "{f}/{c}: the documented {w} exception was not met (case gone or fixed?)"
            );
        }
        eprintln!(
            "peers/{}: {} cases; the tool agrees on {}, refuses {}, is absent for {}; the \
             peer's assertion agrees on {}, differs on {}; documented differences:",
            self.family,
            self.cases,
            self.tool_agrees,
            self.tool_refuses,
            self.no_tool,
            self.peer_agrees,
            self.cases - self.peer_agrees
        );
        for d in &self.disagreements {
            eprintln!("  {d}");
        }
    }
}

/// Our problems, as `file: place: message` lines; each must name its file.
fn problems(doc: &Value) -> Vec<(String, Option<String>, String)> {
    array(doc, "problems")
        .iter()
        .map(|p| {
            let file = text(p, "file").to_owned();
            assert!(file.starts_with('/'), "a problem names no file: {p}");
            (
                file,
                p["place"].as_str().map(str::to_owned),
                text(p, "message").to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// dpkg

/// The dpkg stanza files of a distroless `status.d/` (not the control files beside them).
fn status_d_files(dir: &Path) -> Vec<PathBuf> {
    const CONTROL: [&str; 6] = [
        ".md5sums",
        ".conffiles",
        ".list",
        ".preinst",
        ".postinst",
        ".prerm",
    ];
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| {
        let n = p.to_string_lossy();
        !CONTROL.iter().any(|s| n.ends_with(s))
    });
    out.sort();
    out
}

/// The admin directory to give `dpkg-query`: the root's own, or, for a distroless root, a
/// new one whose `status` holds the `status.d/` stanzas, those without `Status` marked
/// installed.
fn dpkg_admindir(root: &Path) -> (PathBuf, Option<tempfile::TempDir>) {
    let own = root.join("var/lib/dpkg");
    if own.join("status").is_file() {
        return (own, None);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut status = String::new();
    for file in status_d_files(&own.join("status.d")) {
        let body = String::from_utf8_lossy(&fs::read(&file).expect("read")).into_owned();
        for stanza in body.split("\n\n").filter(|s| !s.trim().is_empty()) {
            if !stanza
                .lines()
                .any(|l| l.to_lowercase().starts_with("status:"))
            {
                status.push_str("Status: install ok installed\n");
            }
            status.push_str(stanza.trim_start_matches('\n'));
            status.push_str("\n\n");
        }
    }
    fs::write(dir.path().join("status"), status).expect("status");
    (dir.path().to_owned(), Some(dir))
}

/// The package a problem names (`package "NAME": ...`).
fn named(message: &str) -> Option<String> {
    let rest = message.strip_prefix("package \"")?;
    Some(rest.split_once('"')?.0.to_owned())
}

#[test]
fn dpkg_cases_list_what_dpkg_query_lists() {
    let peers = or_skip!(peers_dir());
    or_skip!(require_tool("dpkg-query"));
    let mut tally = Tally::new("dpkg");
    for case in cases(&peers.join("dpkg")) {
        let name = name_of(&case);
        let root = case.join("root");
        tally.start();
        let (code, doc) = inventory(&root);
        let packages: Vec<&Value> = array(&doc, "packages")
            .iter()
            .filter(|p| text(p, "manager") == "dpkg")
            .collect();
        let ours: BTreeSet<[String; 5]> = packages
            .iter()
            .map(|p| {
                ["name", "version", "arch", "source_name", "source_version"]
                    .map(|k| text(p, k).to_owned())
            })
            .collect();
        let config_files: BTreeSet<(String, String)> = array(&doc, "not_installed")
            .iter()
            .filter(|n| text(n, "status").ends_with(" config-files"))
            .map(|n| (text(n, "name").to_owned(), text(n, "version").to_owned()))
            .collect();
        let problems = problems(&doc);

        // The tool.
        let (admindir, _keep) = dpkg_admindir(&root);
        let verdict = or_skip!(dpkg_query_list(&admindir));
        let dpkg_reads = verdict.rows().is_some();
        match verdict {
            Verdict::Listed { rows, warnings } => {
                let theirs: BTreeSet<[String; 5]> = rows
                    .iter()
                    .filter(|r| r.status != "config-files")
                    .map(|r| {
                        [
                            r.name.clone(),
                            r.version.clone(),
                            r.arch.clone(),
                            r.source_name.clone(),
                            r.source_version.clone(),
                        ]
                    })
                    .collect();
                assert_eq!(ours, theirs, "{name}: ours, then dpkg-query -W");
                let theirs_rc: BTreeSet<(String, String)> = rows
                    .iter()
                    .filter(|r| r.status == "config-files")
                    .map(|r| (r.name.clone(), r.version.clone()))
                    .collect();
                assert_eq!(config_files, theirs_rc, "{name}: config-files packages");
                let named_by_us: BTreeSet<String> = problems
                    .iter()
                    .map(|(_, _, m)| named(m).unwrap_or_else(|| panic!("{name}: {m}")))
                    .collect();
                assert_eq!(
                    named_by_us,
                    dpkg_warned_packages(&warnings, "Version"),
                    "{name}: packages our problems name vs dpkg's Version warnings"
                );
                tally.tool_agrees += 1;
            }
            Verdict::Refused(why) => {
                assert!(
                    !problems.is_empty(),
                    "{name}: dpkg-query refuses the database ({why}) and we report nothing"
                );
                for (file, place, message) in &problems {
                    assert!(
                        place.as_deref().is_some_and(|p| p.starts_with("line ")),
                        "{name}: {file}: {message}: no line"
                    );
                }
                tally.tool_refuses += 1;
            }
        }

        // The peer.
        let expected = case.join("expected.tsv");
        if expected.is_file() {
            let peer = tsv(&expected);
            let key = |n: &str, v: &str, a: &str| format!("{n} {v} {a}");
            let peer_keys: BTreeSet<String> = peer
                .iter()
                .map(|r| key(&r["name"], &r["version"], &r["arch"]))
                .collect();
            let mut our_keys: BTreeSet<String> = packages
                .iter()
                .map(|p| key(text(p, "name"), text(p, "version"), text(p, "arch")))
                .collect();
            if name.ends_with("include-not-installed") {
                // The peer's IncludeNotInstalled mode: every stanza with a version.
                our_keys.extend(
                    array(&doc, "not_installed")
                        .iter()
                        .map(|p| key(text(p, "name"), text(p, "version"), text(p, "arch"))),
                );
            }
            tally.differs(name, "missing", &peer_keys - &our_keys);
            tally.differs(name, "extra", &our_keys - &peer_keys);
            let mut sources = BTreeSet::new();
            for r in peer.iter().filter(|r| !r["source_name"].is_empty()) {
                let ours = packages.iter().find(|p| text(p, "name") == r["name"]);
                let (n, v) = ours.map_or(("", ""), |p| {
                    (text(p, "source_name"), text(p, "source_version"))
                });
                if n != r["source_name"]
                    || (!r["source_version"].is_empty() && v != r["source_version"])
                {
                    sources.insert(format!(
                        "{}: ours {n} {v}, peer's {} {}",
                        r["name"], r["source_name"], r["source_version"]
                    ));
                }
            }
            tally.differs(name, "source", sources);
        }
        match peer_expects_error(&case) {
            Some(true) => assert!(
                !problems.is_empty() && code != 0,
                "{name}: the peer expects an error; exit {code}, no problem"
            ),
            Some(false) => tally.differs(
                name,
                "problems",
                problems.iter().map(|(_, _, m)| m.clone()).collect(),
            ),
            None => {}
        }

        // Files the peer gives a package: ours are dpkg -S's (distroless: the peer's, read
        // from status.d's md5sums, which dpkg does not know).
        let files = case.join("files.tsv");
        if files.is_file() {
            let rows = tsv(&files);
            let (inv, index) = Inventory::load_with_owners(&Root::open(&root).expect("root"));
            let distroless = !root.join("var/lib/dpkg/status").is_file();
            let ask_dpkg = dpkg_reads && !distroless;
            let dpkg = if !ask_dpkg {
                BTreeMap::new()
            } else {
                let patterns: Vec<String> = rows.iter().map(|r| dpkg_literal(&r["path"])).collect();
                or_skip!(dpkg_query_search(&admindir, &patterns))
            };
            let mut differs = BTreeSet::new();
            for r in &rows {
                let path = &r["path"];
                let ours: BTreeSet<String> = index
                    .owners(Path::new(path))
                    .iter()
                    .map(|id| inv.packages[id.index()].name.clone())
                    .collect();
                if ask_dpkg {
                    assert_eq!(
                        ours,
                        dpkg.get(path).cloned().unwrap_or_default(),
                        "{name}: owners of {path}: ours, then dpkg -S"
                    );
                }
                if !ours.contains(&r["package"]) {
                    differs.insert(format!("{} {path}", r["package"]));
                }
            }
            tally.differs(name, "files", differs);
        }
        tally.end();
    }
    tally.finish();
}

// ---------------------------------------------------------------------------------------
// rpm

/// Where an rpm database of this format lies in a root, from its first bytes.
fn rpm_placement(db: &Path) -> &'static str {
    let head = fs::read(db)
        .map(|b| b[..b.len().min(16)].to_vec())
        .unwrap_or_default();
    if head.starts_with(b"SQLite format 3\0") {
        "var/lib/rpm/rpmdb.sqlite"
    } else if head.starts_with(b"RpmP") {
        "usr/lib/sysimage/rpm/Packages.db"
    } else {
        "var/lib/rpm/Packages"
    }
}

/// A new root holding `db` at `rel`.
fn root_with(db: &Path, rel: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join(rel);
    fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    fs::copy(db, &dest).expect("copy the database");
    dir
}

/// One of our rpm packages as the peers and `rpm -qa` spell it: name, epoch (empty when
/// none), version, release, arch, source rpm.
fn rpm_fields(p: &Value) -> [String; 6] {
    let full = text(p, "version");
    let (epoch, vr) = full.split_once(':').unwrap_or(("", full));
    let (version, release) = vr.rsplit_once('-').unwrap_or((vr, ""));
    let source_version = text(p, "source_version");
    let source_vr = source_version
        .split_once(':')
        .map_or(source_version, |(_, vr)| vr);
    [
        text(p, "name").to_owned(),
        epoch.to_owned(),
        version.to_owned(),
        release.to_owned(),
        text(p, "arch").to_owned(),
        format!("{}-{source_vr}.src.rpm", text(p, "source_name")),
    ]
}

/// The same, as the `rpm -qa` line of [`inuse_testkit::RPM_QA_FORMAT`].
fn rpm_qa_line(p: &Value) -> String {
    let [name, epoch, version, release, arch, src] = rpm_fields(p);
    let none = |s: String| if s.is_empty() { "(none)".to_owned() } else { s };
    [name, none(epoch), version, release, none(arch), src].join("\t")
}

/// A peer's row against our package with that name: every column the peer asserts that we
/// model (vendor is our maintainer, summary our description, size our installed size).
fn rpm_row_differences(row: &BTreeMap<String, String>, ours: Option<&Value>) -> Vec<String> {
    let Some(p) = ours else {
        return vec![format!("{} missing", row["name"])];
    };
    let fields = rpm_fields(p);
    let mut ours: BTreeMap<&str, String> =
        ["name", "epoch", "version", "release", "arch", "sourcerpm"]
            .into_iter()
            .zip(fields)
            .collect();
    ours.insert("license", text(p, "license").to_owned());
    ours.insert("vendor", text(p, "maintainer").to_owned());
    ours.insert("summary", text(p, "description").to_owned());
    ours.insert(
        "size",
        p["installed_size"]
            .as_u64()
            .map_or(String::new(), |n| n.to_string()),
    );
    row.iter()
        .filter_map(|(k, v)| {
            let o = ours.get(k.as_str())?;
            (o != v).then(|| format!("{} {k}: ours {o:?}, peer's {v:?}", row["name"]))
        })
        .collect()
}

#[test]
fn rpm_cases_list_what_rpm_lists() {
    let peers = or_skip!(peers_dir());
    or_skip!(require_tool("rpm"));
    let mut tally = Tally::new("rpm");
    for case in cases(&peers.join("rpmdb")) {
        let name = name_of(&case);
        if matches!(name, "expected-only" | "header-blob" | "malformed") {
            continue; // their own tests below
        }
        let db = fs::read_dir(&case)
            .expect("case")
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                n.starts_with("Packages") || n.ends_with(".sqlite")
            })
            .unwrap_or_else(|| panic!("{name}: no database file"));
        tally.start();
        let rel = rpm_placement(&db);
        let root = root_with(&db, rel);
        let (code, doc) = inventory(root.path());
        let packages = array(&doc, "packages");
        let problems = problems(&doc);
        let ours: BTreeSet<String> = packages.iter().map(rpm_qa_line).collect();

        let file_name = Path::new(rel)
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name");
        if rel.ends_with("Packages.db") {
            // Debian's rpm 4.18 is built without the NDB backend: it cannot read this file.
            tally.no_tool += 1;
            assert!(problems.is_empty(), "{name}: {problems:?}");
        } else {
            match or_skip!(rpm_query_all(&db, file_name)) {
                Verdict::Listed { rows, .. } => {
                    assert_eq!(ours, rows, "{name}: ours, then rpm -qa");
                    assert!(problems.is_empty(), "{name}: {problems:?}");
                    tally.tool_agrees += 1;
                }
                Verdict::Refused(why) => {
                    tally.tool_refuses += 1;
                    tally.differs(
                        name,
                        "tool-problems",
                        if problems.is_empty() {
                            BTreeSet::from([format!(
                                "rpm: {}",
                                why.lines().last().unwrap_or_default()
                            )])
                        } else {
                            BTreeSet::new()
                        },
                    );
                }
            }
        }

        // The peer: the whole list, one package, or a count.
        let by_name = |n: &str| packages.iter().find(|p| text(p, "name") == n);
        let mut differs = BTreeSet::new();
        for file in fs::read_dir(&case)
            .expect("case")
            .flatten()
            .map(|e| e.path())
        {
            let fname = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if fname == "expected.tsv" {
                let rows = tsv(&file);
                let theirs: BTreeSet<&str> = rows.iter().map(|r| r["name"].as_str()).collect();
                let names: BTreeSet<&str> = packages.iter().map(|p| text(p, "name")).collect();
                differs.extend(names.difference(&theirs).map(|n| format!("{n} extra")));
                for r in &rows {
                    differs.extend(rpm_row_differences(r, by_name(&r["name"])));
                }
            } else if fname.starts_with("expected-package-") {
                for r in &tsv(&file) {
                    differs.extend(rpm_row_differences(r, by_name(&r["name"])));
                }
            } else if fname == "expected-count.txt" {
                let want: usize = fs::read_to_string(&file)
                    .expect("count")
                    .trim()
                    .parse()
                    .expect("number");
                if want != packages.len() {
                    differs.insert(format!(
                        "{} packages, the peer counts {want}",
                        packages.len()
                    ));
                }
            } else if let Some(pkg) = fname
                .strip_prefix("expected-files-")
                .and_then(|f| f.strip_suffix(".tsv"))
            {
                let (inv, index) =
                    Inventory::load_with_owners(&Root::open(root.path()).expect("root"));
                for r in &tsv(&file) {
                    let owners: Vec<&str> = index
                        .owners(Path::new(&r["path"]))
                        .iter()
                        .map(|id| inv.packages[id.index()].name.as_str())
                        .collect();
                    if !owners.contains(&pkg) {
                        differs.insert(format!("{pkg} does not own {}", r["path"]));
                    }
                }
            }
        }
        tally.differs(name, "fields", differs);
        if peer_expects_error(&case) == Some(false) && (code != 0 || !problems.is_empty()) {
            tally.differs(
                name,
                "problems",
                problems.iter().map(|(_, _, m)| m.clone()).collect(),
            );
        }
        tally.end();
    }
    tally.finish();
}

/// The peers' corrupt rpm databases, each laid as a SQLite and as a Berkeley DB database:
/// rpm refuses every one, the peers expect an error and no package; inventory lists nothing,
/// exits 2 and names the file (and the page, for a Berkeley DB).
#[test]
fn rpm_malformed_databases_are_refused_with_the_place() {
    let peers = or_skip!(peers_dir());
    or_skip!(require_tool("rpm"));
    let dir = peers.join("rpmdb/malformed");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("malformed")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n != "SOURCE"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut checked = 0;
    for file in &files {
        for rel in ["var/lib/rpm/rpmdb.sqlite", "var/lib/rpm/Packages"] {
            let name = Path::new(rel)
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name");
            let root = root_with(file, rel);
            let (code, doc) = inventory(root.path());
            let what = format!("{} as {rel}", file.display());
            assert!(array(&doc, "packages").is_empty(), "{what}");
            assert_eq!(code, 2, "{what}: nothing could be read");
            let problems = problems(&doc);
            assert_eq!(problems.len(), 1, "{what}: {problems:?}");
            assert_eq!(problems[0].0, format!("/{rel}"), "{what}");
            if rel.ends_with("Packages") {
                assert!(
                    problems[0].1.is_some(),
                    "{what}: no page named: {problems:?}"
                );
            }
            match or_skip!(rpm_query_all(file, name)) {
                Verdict::Refused(_) => {}
                Verdict::Listed { rows, .. } => panic!("{what}: rpm lists {rows:?}"),
            }
            checked += 1;
        }
    }
    eprintln!(
        "peers/rpmdb/malformed: {} files x 2 layouts = {checked} cases; rpm refuses all, \
         the peers expect an error, inventory names the file in each",
        files.len()
    );
}

/// go-rpmdb's raw header blob: it parses and names a package (TestNevra asserts no values).
#[test]
fn rpm_header_blob_parses() {
    let peers = or_skip!(peers_dir());
    let blob = fs::read(peers.join("rpmdb/header-blob/blob.bin")).expect("blob");
    let header = inuse_pkgdb::rpm::Header::parse(&blob).expect("the blob parses");
    use inuse_pkgdb::rpm::header::tag;
    for t in [tag::NAME, tag::VERSION, tag::RELEASE] {
        let value = header.string(t).expect("readable").expect("present");
        assert!(!value.is_empty());
    }
    eprintln!("peers/rpmdb/header-blob: the header parses and names a package");
}

/// The peer lists of databases absent from the snapshot must stay unrun loudly, not
/// silently: when a database appears here, this fails and the case joins the tests above.
#[test]
fn rpm_expected_only_lists_have_no_database_yet() {
    let peers = or_skip!(peers_dir());
    for case in cases(&peers.join("rpmdb/expected-only")) {
        for f in fs::read_dir(&case).expect("case").flatten() {
            let n = f.file_name().to_string_lossy().into_owned();
            assert!(
                n == "SOURCE" || n.ends_with(".tsv"),
                "{}: a database ({n}) is here now: run it with the other rpm cases",
                case.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// apk

#[test]
fn apk_cases_agree_with_the_peers() {
    let peers = or_skip!(peers_dir());
    let mut tally = Tally::new("apk");
    for case in cases(&peers.join("apk")) {
        let name = name_of(&case);
        tally.start();
        // No apk tool on Debian 12 (see the module documentation).
        tally.no_tool += 1;
        let root = root_with(&case.join("installed"), "lib/apk/db/installed");
        let (code, doc) = inventory(root.path());
        let packages = array(&doc, "packages");
        let problems = problems(&doc);
        for (file, place, message) in &problems {
            assert_eq!(file, "/lib/apk/db/installed", "{name}: {message}");
            assert!(place.is_some(), "{name}: {message}: no line");
        }
        let expected = case.join("expected.tsv");
        if expected.is_file() {
            let rows = tsv(&expected);
            let key = |n: &str, v: &str, a: &str, o: &str| format!("{n} {v} {a} {o}");
            let theirs: BTreeSet<String> = rows
                .iter()
                .map(|r| {
                    // No origin: the binary name is its own source (our model's rule).
                    let origin = if r["origin"].is_empty() {
                        &r["name"]
                    } else {
                        &r["origin"]
                    };
                    key(&r["name"], &r["version"], &r["arch"], origin)
                })
                .collect();
            let ours: BTreeSet<String> = packages
                .iter()
                .map(|p| {
                    key(
                        text(p, "name"),
                        text(p, "version"),
                        text(p, "arch"),
                        text(p, "source_name"),
                    )
                })
                .collect();
            tally.differs(name, "missing", &theirs - &ours);
            tally.differs(name, "extra", &ours - &theirs);
            let mut licenses = BTreeSet::new();
            for r in rows.iter().filter(|r| r.contains_key("license")) {
                let p = packages.iter().find(|p| text(p, "name") == r["name"]);
                let ours = p.map_or("", |p| text(p, "license"));
                if ours != r["license"] {
                    licenses.insert(format!(
                        "{}: ours {ours:?}, peer's {:?}",
                        r["name"], r["license"]
                    ));
                }
            }
            tally.differs(name, "license", licenses);
        }
        match peer_expects_error(&case) {
            Some(true) => assert!(
                !problems.is_empty() && code != 0,
                "{name}: the peer expects an error; exit {code}, no problem"
            ),
            Some(false) => tally.differs(
                name,
                "problems",
                problems.iter().map(|(_, _, m)| m.clone()).collect(),
            ),
            None => {}
        }
        let files = case.join("files.tsv");
        if files.is_file() {
            let (inv, index) = Inventory::load_with_owners(&Root::open(root.path()).expect("root"));
            let mut differs = BTreeSet::new();
            for r in &tsv(&files) {
                // syft-extra-file-attributes names no package: its one package owns them.
                let pkg = if r["package"].is_empty() {
                    assert_eq!(inv.packages.len(), 1, "{name}");
                    inv.packages[0].name.clone()
                } else {
                    r["package"].clone()
                };
                let path = format!("/{}", r["path"].trim_start_matches('/'));
                let owners: Vec<&str> = index
                    .owners(Path::new(&path))
                    .iter()
                    .map(|id| inv.packages[id.index()].name.as_str())
                    .collect();
                if !owners.contains(&pkg.as_str()) {
                    differs.insert(format!("{pkg} {path}"));
                }
            }
            tally.differs(name, "files", differs);
        }
        tally.end();
    }
    tally.finish();
}

/// Alpine's minirootfs tarballs, unpacked: the packages their database lists (checked against
/// `*.apk-installed.tsv`, written by the data's own reader `list_apk.py`, not by us), the
/// ecosystem of their `os-release`, and not one ELF file that no package owns.
#[test]
fn alpine_minirootfs_roots_are_read_whole() {
    let peers = or_skip!(peers_dir());
    or_skip!(require_tool("tar"));
    let mut n = 0;
    let mut tarballs: Vec<PathBuf> = fs::read_dir(peers.join("roots"))
        .expect("roots")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    tarballs.sort();
    for tarball in &tarballs {
        let stem = tarball
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".tar.gz"))
            .expect("name");
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("tar")
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(dir.path())
            .output()
            .expect("tar runs");
        assert!(
            out.status.success(),
            "tar: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (code, doc) = inventory(dir.path());
        assert_eq!(code, 0, "{stem}: {}", doc["problems"]);
        let version = stem
            .strip_prefix("alpine-minirootfs-")
            .and_then(|s| s.split('-').next())
            .expect("version");
        let minor = version.rsplit_once('.').map_or(version, |(m, _)| m);
        assert_eq!(
            doc["distro"]["ecosystem"],
            format!("Alpine:v{minor}"),
            "{stem}"
        );
        let ours: BTreeSet<String> = array(&doc, "packages")
            .iter()
            .map(|p| {
                ["name", "version", "arch", "source_name"]
                    .map(|k| text(p, k))
                    .join("\t")
            })
            .collect();
        let listed = peers.join(format!("roots/{stem}.apk-installed.tsv"));
        let theirs: BTreeSet<String> = tsv(&listed)
            .iter()
            .map(|r| {
                [&r["name"], &r["version"], &r["arch"], &r["origin"]]
                    .map(String::as_str)
                    .join("\t")
            })
            .collect();
        assert_eq!(ours, theirs, "{stem}");
        assert!(ours.len() >= 14, "{stem}: {} packages", ours.len());
        assert_eq!(doc["unowned_elf"], serde_json::json!([]), "{stem}");
        n += 1;
    }
    assert_eq!(n, 3, "{tarballs:?}");
    eprintln!("peers/roots: {n} Alpine minirootfs read whole, every ELF file owned");
}
