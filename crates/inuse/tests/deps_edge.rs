//! Edge cases of the loader emulation behind `inuse deps`, one test per case.
//!
//! Every fixture is compiled here from a few lines of C, and wherever the host's loader can
//! load it, inuse's answer is compared with the loader's own (`inuse_testkit::Oracle`):
//! the same `name => realpath` pairs, the same set of mapped files, the same missing names.
//! The loader is the specification; the expectations written out below restate what it
//! said on Debian 12 (glibc 2.36, musl 1.2.3), so a failure shows which rule broke.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use inuse_testkit::{
    CBuild, DepsObject, FakeRoot, Inuse, InuseOutput, Listing, ListingKind, Oracle, Patchelf, Skip,
    compare, or_skip,
};
use tempfile::TempDir;

const MAIN: &str = "int main(void) { return 0; }\n";

fn inuse() -> Inuse {
    Inuse::new(env!("CARGO_BIN_EXE_inuse"))
}

/// A tempdir with its canonical path (what the loader and inuse will report).
struct Dir {
    _tmp: TempDir,
    path: PathBuf,
}

impl Dir {
    fn new() -> Dir {
        let tmp = tempfile::Builder::new()
            .prefix("inuse-deps-")
            .tempdir()
            .unwrap();
        let path = std::fs::canonicalize(tmp.path()).unwrap();
        Dir { _tmp: tmp, path }
    }

    /// A subdirectory, created.
    fn sub(&self, name: &str) -> PathBuf {
        let p = self.path.join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

/// A shared library `name` (also its soname) in `dir`, defining one function.
fn lib(dir: &Path, name: &str) -> CBuild {
    let symbol: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    CBuild::new(dir)
        .source(&format!("int fn_{symbol}(void) {{ return 1; }}\n"))
        .shared(name)
        .soname(name)
}

/// An executable `name` in `dir` with an empty `main`.
fn exe(dir: &Path, name: &str) -> CBuild {
    CBuild::new(dir).source(MAIN).executable(name)
}

/// Runs inuse (JSON) and the oracle on the same file, panics when they disagree, and returns
/// both answers for case-specific assertions.
fn agree(
    path: &Path,
    oracle: &Oracle,
    extra: &[&str],
) -> Result<(InuseOutput, DepsObject, Listing), Skip> {
    let listing = oracle.list(path)?;
    let (out, report) = inuse().deps_json(&[path], extra);
    assert_eq!(report.objects.len(), 1, "{}", out.describe());
    let object = report.objects[0].clone();
    if let Err(diff) = compare(&object, &listing) {
        panic!("{diff}\ninuse run:\n{}", out.describe());
    }
    Ok((out, object, listing))
}

fn library<'a>(object: &'a DepsObject, name: &str) -> &'a inuse_testkit::DepsLibrary {
    object
        .library(name)
        .unwrap_or_else(|| panic!("no library {name} in {object:#?}"))
}

fn assert_exit(out: &InuseOutput, code: i32) {
    assert_eq!(out.code, Some(code), "exit code\n{}", out.describe());
}

#[test]
fn runpath_wins_over_rpath_on_the_same_object() {
    let d = Dir::new();
    let (via_rpath, via_runpath) = (d.sub("rpath"), d.sub("runpath"));
    or_skip!(lib(&via_rpath, "libedge.so.1").build());
    let wanted = or_skip!(lib(&via_runpath, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&wanted)
            .rpath(via_rpath.to_str().unwrap())
            .runpath(via_runpath.to_str().unwrap())
            .build()
    );
    let (out, object, listing) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    assert_eq!(listing.realpath_of("libedge.so.1"), Some(wanted.as_path()));
    let found = library(&object, "libedge.so.1");
    assert_eq!(found.realpath, wanted);
    assert_eq!(found.found_via, "runpath");
    assert_exit(&out, 0);
}

#[test]
fn rpath_of_the_executable_serves_a_librarys_dependency() {
    let d = Dir::new();
    let (one, two) = (d.sub("one"), d.sub("two"));
    let leaf = or_skip!(lib(&two, "libleaf.so.1").build());
    let mid = or_skip!(lib(&one, "libmid.so.1").needed_lib(&leaf).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&mid)
            .rpath(&format!("{}:{}", one.display(), two.display()))
            .build()
    );
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    let found = library(&object, "libleaf.so.1");
    assert_eq!(found.realpath, leaf);
    assert_eq!(found.found_via, "rpath");
    assert_eq!(found.depth, 2);
    assert_exit(&out, 0);
}

#[test]
fn rpath_of_an_intermediate_library_serves_its_dependencys_dependency() {
    let d = Dir::new();
    let (one, two) = (d.sub("one"), d.sub("two"));
    // prog --RPATH one--> liba --RPATH two--> libb (no search path) --> libc_x, in two.
    let leaf = or_skip!(lib(&two, "libleaf.so.1").build());
    let libb = or_skip!(lib(&two, "libb.so.1").needed_lib(&leaf).build());
    let liba = or_skip!(
        lib(&one, "liba.so.1")
            .needed_lib(&libb)
            .rpath(two.to_str().unwrap())
            .build()
    );
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&liba)
            .rpath(one.to_str().unwrap())
            .build()
    );
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    let found = library(&object, "libleaf.so.1");
    assert_eq!(found.realpath, leaf);
    assert_eq!(found.found_via, "rpath");
    assert_eq!(found.depth, 3);
    assert_exit(&out, 0);
}

#[test]
fn runpath_is_not_inherited_under_glibc() {
    let d = Dir::new();
    let (one, two) = (d.sub("one"), d.sub("two"));
    let leaf = or_skip!(lib(&two, "libleaf.so.1").build());
    let mid = or_skip!(lib(&one, "libmid.so.1").needed_lib(&leaf).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&mid)
            .runpath(&format!("{}:{}", one.display(), two.display()))
            .build()
    );
    let (out, object, listing) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    assert_eq!(listing.missing, ["libleaf.so.1"]);
    assert_eq!(object.missing_names(), ["libleaf.so.1"]);
    let missing = &object.missing[0];
    assert!(
        missing
            .needed_by
            .iter()
            .any(|p| p.ends_with("one/libmid.so.1")),
        "needed_by of libleaf.so.1: {:?}",
        missing.needed_by
    );
    assert_eq!(library(&object, "libmid.so.1").found_via, "runpath");
    assert_exit(&out, 1);
}

#[test]
fn runpath_is_inherited_under_musl() {
    let d = Dir::new();
    let (one, two) = (d.sub("one"), d.sub("two"));
    let leaf = or_skip!(lib(&two, "libleaf.so.1").musl().build());
    let mid = or_skip!(lib(&one, "libmid.so.1").musl().needed_lib(&leaf).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .musl()
            .needed_lib(&mid)
            .runpath(&format!("{}:{}", one.display(), two.display()))
            .build()
    );
    // musl walks the chain of needing objects for RPATH and RUNPATH alike
    // (ldso/dynlink.c, load_library: `for (p=needed_by; !fd && p; p=p->needed_by)`).
    let (out, object, listing) = match Oracle::host().list(&prog) {
        Ok(_) => or_skip!(agree(&prog, &Oracle::host(), &[])),
        Err(skip) => {
            // The documented rule is still checked; only the oracle's comparison is skipped.
            skip.context("no musl loader to compare with").report();
            let (out, report) = inuse().deps_json(&[&prog], &[] as &[&str]);
            let object = report.objects[0].clone();
            let listing = inuse_testkit::parse_listing("", "");
            (out, object, listing)
        }
    };
    let _ = listing;
    assert_eq!(object.libc.as_deref(), Some("musl"));
    assert_eq!(library(&object, "libleaf.so.1").realpath, leaf);
    assert!(object.missing.is_empty(), "{object:#?}");
    assert_exit(&out, 0);
}

#[test]
fn origin_of_a_symlinked_executable_is_the_directory_of_its_target() {
    let d = Dir::new();
    // real/bin/prog has RPATH $ORIGIN/../lib; link/bin/prog -> ../../real/bin/prog.
    // Both real/lib and link/lib hold a libedge.so.1; the loader decides which is right.
    let (real_bin, real_lib) = (d.sub("real/bin"), d.sub("real/lib"));
    let (link_bin, link_lib) = (d.sub("link/bin"), d.sub("link/lib"));
    let target_lib = or_skip!(lib(&real_lib, "libedge.so.1").build());
    let decoy = or_skip!(lib(&link_lib, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&real_bin, "prog")
            .needed_lib(&target_lib)
            .rpath("$ORIGIN/../lib")
            .build()
    );
    let link = link_bin.join("prog");
    std::os::unix::fs::symlink("../../real/bin/prog", &link).unwrap();
    let _ = prog;
    let (out, object, listing) = or_skip!(agree(&link, &Oracle::host(), &[]));
    // glibc takes the main program's origin from /proc/self/exe, i.e. after symlinks.
    assert_eq!(
        listing.realpath_of("libedge.so.1"),
        Some(target_lib.as_path())
    );
    assert_ne!(library(&object, "libedge.so.1").realpath, decoy);
    assert_exit(&out, 0);
}

#[test]
fn origin_of_a_symlinked_library_is_the_directory_of_the_symlink() {
    let d = Dir::new();
    // real/lib/libmid.so.1 has RPATH $ORIGIN/../dep; the program finds it through
    // link/lib/libmid.so.1 -> ../../real/lib/libmid.so.1. real/dep and link/dep both hold
    // a libleaf.so.1.
    let (real_lib, real_dep) = (d.sub("real/lib"), d.sub("real/dep"));
    let (link_lib, link_dep) = (d.sub("link/lib"), d.sub("link/dep"));
    let real_leaf = or_skip!(lib(&real_dep, "libleaf.so.1").build());
    let link_leaf = or_skip!(lib(&link_dep, "libleaf.so.1").build());
    let mid = or_skip!(
        lib(&real_lib, "libmid.so.1")
            .needed_lib(&real_leaf)
            .rpath("$ORIGIN/../dep")
            .build()
    );
    std::os::unix::fs::symlink("../../real/lib/libmid.so.1", link_lib.join("libmid.so.1")).unwrap();
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&mid)
            .rpath(link_lib.to_str().unwrap())
            .build()
    );
    let (out, object, listing) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    // glibc computes a library's origin from the path it opened, without resolving links.
    let expected = listing.realpath_of("libleaf.so.1").unwrap().to_path_buf();
    assert_eq!(expected, link_leaf, "{}", listing.transcript);
    assert_ne!(expected, real_leaf);
    assert_eq!(library(&object, "libleaf.so.1").realpath, expected);
    let mid_entry = library(&object, "libmid.so.1");
    assert_eq!(mid_entry.path, link_lib.join("libmid.so.1"));
    assert_eq!(mid_entry.realpath, mid);
    assert_exit(&out, 0);
}

#[test]
fn origin_in_braces_is_expanded() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let wanted = or_skip!(lib(&libs, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&wanted)
            .rpath("${ORIGIN}/lib")
            .build()
    );
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    assert_eq!(library(&object, "libedge.so.1").realpath, wanted);
    assert_exit(&out, 0);
}

#[test]
fn ld_library_path_comes_before_runpath() {
    let d = Dir::new();
    let (llp, runpath) = (d.sub("llp"), d.sub("runpath"));
    let wanted = or_skip!(lib(&llp, "libedge.so.1").build());
    let other = or_skip!(lib(&runpath, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&other)
            .runpath(runpath.to_str().unwrap())
            .build()
    );
    let oracle = Oracle::host().ld_library_path(&llp);
    let llp_arg = llp.to_str().unwrap();
    let (out, object, _) = or_skip!(agree(&prog, &oracle, &["--ld-library-path", llp_arg]));
    let found = library(&object, "libedge.so.1");
    assert_eq!(found.realpath, wanted);
    assert_eq!(found.found_via, "ld_library_path");
    assert_exit(&out, 0);

    // And without the option, RUNPATH applies again (and the environment is not read).
    let (_, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    assert_eq!(library(&object, "libedge.so.1").realpath, other);
}

#[test]
fn nodeflib_executable_does_not_search_default_directories() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let mine = or_skip!(lib(&libs, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&mine)
            .rpath(libs.to_str().unwrap())
            .build()
    );
    // GNU ld ignores `-z nodeflib` for executables; patchelf sets DF_1_NODEFLIB.
    or_skip!(Patchelf::on(&prog).no_default_lib());
    let (out, object, listing) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    // libc.so.6 lives only in a default directory (cached there too, which NODEFLIB also
    // rules out), so the loader cannot find it.
    assert_eq!(listing.missing, ["libc.so.6"]);
    assert_eq!(object.missing_names(), ["libc.so.6"]);
    assert_eq!(library(&object, "libedge.so.1").realpath, mine);
    assert_exit(&out, 1);
}

#[test]
fn a_32_bit_library_earlier_in_the_path_is_skipped() {
    let d = Dir::new();
    let (wrong, right) = (d.sub("lib32"), d.sub("lib64"));
    or_skip!(lib(&wrong, "libedge.so.1").m32().build());
    let wanted = or_skip!(lib(&right, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&wanted)
            .rpath(&format!("{}:{}", wrong.display(), right.display()))
            .build()
    );
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    assert_eq!(library(&object, "libedge.so.1").realpath, wanted);
    assert_exit(&out, 0);
}

#[test]
fn a_non_elf_file_earlier_in_the_path_is_a_fatal_error_in_glibc() {
    let d = Dir::new();
    let (junk, right) = (d.sub("junk"), d.sub("right"));
    // Long enough to be read as an ELF header: glibc says "invalid ELF header" (a shorter
    // file gets "file too short").
    let bogus = junk.join("libedge.so.1");
    std::fs::write(&bogus, "this is not an ELF file\n".repeat(100)).unwrap();
    let wanted = or_skip!(lib(&right, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&wanted)
            .rpath(&format!("{}:{}", junk.display(), right.display()))
            .build()
    );
    let listing = or_skip!(Oracle::host().list(&prog));
    assert_eq!(listing.kind, ListingKind::Failed, "{}", listing.transcript);
    let loader_error = listing.error.clone().unwrap();
    assert!(
        loader_error.contains("invalid ELF header") && loader_error.contains("junk/libedge.so.1"),
        "{}",
        listing.transcript
    );
    // glibc stops at the first candidate that opens but is not an ELF object; it does not
    // go on to `right/`.
    let (out, report) = inuse().deps_json(&[&prog], &[] as &[&str]);
    let object = &report.objects[0];
    assert!(
        object.library("libedge.so.1").is_none(),
        "inuse found libedge.so.1 although the loader stops at {}:\n{}\nloader:\n{}",
        bogus.display(),
        out.describe(),
        listing.transcript
    );
    let missing = object
        .missing
        .iter()
        .find(|m| m.name == "libedge.so.1")
        .unwrap_or_else(|| panic!("libedge.so.1 not missing:\n{}", out.describe()));
    let error = missing.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("invalid ELF header") && error.contains(bogus.to_str().unwrap()),
        "missing[].error should name the problem and {}; got {error:?}",
        bogus.display()
    );
    assert_exit(&out, 1);
}

#[test]
fn needed_with_a_slash_is_opened_directly() {
    let d = Dir::new();
    let (elsewhere, decoy_dir) = (d.sub("elsewhere"), d.sub("decoy"));
    let direct = or_skip!(lib(&elsewhere, "libdirect.so.1").build());
    // A library of the same file name on the search path must not be used.
    or_skip!(lib(&decoy_dir, "libdirect.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .rpath(decoy_dir.to_str().unwrap())
            .build()
    );
    or_skip!(Patchelf::on(&prog).add_needed(direct.to_str().unwrap()));
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    let found = object
        .libraries
        .iter()
        .find(|l| l.realpath == direct)
        .unwrap_or_else(|| panic!("{object:#?}"));
    assert_eq!(found.found_via, "direct");
    assert_exit(&out, 0);
}

#[test]
fn a_soname_needed_by_two_parents_is_loaded_once() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let common = or_skip!(lib(&libs, "libcommon.so.1").build());
    let liba = or_skip!(lib(&libs, "liba.so.1").needed_lib(&common).build());
    let libb = or_skip!(lib(&libs, "libb.so.1").needed_lib(&common).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&liba)
            .needed_lib(&libb)
            .rpath(libs.to_str().unwrap())
            .build()
    );
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    let entries: Vec<_> = object
        .libraries
        .iter()
        .filter(|l| l.name == "libcommon.so.1")
        .collect();
    assert_eq!(entries.len(), 1, "{object:#?}");
    let parents: BTreeSet<_> = entries[0]
        .needed_by
        .iter()
        .filter_map(|p| p.file_name())
        .collect();
    assert!(
        parents.contains(std::ffi::OsStr::new("liba.so.1"))
            && parents.contains(std::ffi::OsStr::new("libb.so.1")),
        "needed_by {:?}",
        entries[0].needed_by
    );
    assert_exit(&out, 0);
}

#[test]
fn load_order_matches_the_loader() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let z = or_skip!(lib(&libs, "libz9.so.1").build());
    let y = or_skip!(lib(&libs, "liby9.so.1").needed_lib(&z).build());
    let x = or_skip!(lib(&libs, "libx9.so.1").needed_lib(&y).build());
    let w = or_skip!(lib(&libs, "libw9.so.1").needed_lib(&z).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&x)
            .needed_lib(&w)
            .rpath(libs.to_str().unwrap())
            .build()
    );
    let (out, object, listing) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    let want: Vec<PathBuf> = listing
        .loaded
        .iter()
        .filter_map(|l| l.realpath.clone())
        .collect();
    let have: Vec<PathBuf> = object
        .libraries
        .iter()
        .map(|l| l.realpath.clone())
        .collect();
    assert_eq!(have, want, "load order\n{}", listing.transcript);
    assert_exit(&out, 0);
}

#[test]
fn static_executable_has_no_libraries() {
    let d = Dir::new();
    let prog = or_skip!(exe(&d.path, "prog").static_().build());
    let listing = or_skip!(Oracle::host().list(&prog));
    assert_eq!(listing.kind, ListingKind::NotDynamic);
    let (out, report) = inuse().deps_json(&[&prog], &[] as &[&str]);
    let object = &report.objects[0];
    assert_eq!(object.kind, "static", "{}", out.describe());
    assert!(object.libraries.is_empty() && object.missing.is_empty());
    assert_eq!(object.interpreter, None);
    assert_exit(&out, 0);
}

#[test]
fn static_pie_executable_has_no_libraries() {
    let d = Dir::new();
    let prog = or_skip!(exe(&d.path, "prog").static_pie().build());
    let listing = or_skip!(Oracle::host().list(&prog));
    assert_eq!(
        listing.kind,
        ListingKind::StaticallyLinked,
        "{}",
        listing.transcript
    );
    let (out, report) = inuse().deps_json(&[&prog], &[] as &[&str]);
    let object = &report.objects[0];
    assert_eq!(object.kind, "static", "{}", out.describe());
    assert!(object.libraries.is_empty() && object.missing.is_empty());
    assert_eq!(object.interpreter, None);
    assert_exit(&out, 0);
}

#[test]
fn musl_program() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let mine = or_skip!(lib(&libs, "libedge.so.1").musl().build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .musl()
            .needed_lib(&mine)
            .rpath(libs.to_str().unwrap())
            .build()
    );
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    assert_eq!(object.libc.as_deref(), Some("musl"));
    assert_eq!(object.kind, "executable");
    assert_eq!(
        object.interpreter.as_deref(),
        Some("/lib/ld-musl-x86_64.so.1")
    );
    assert_exit(&out, 0);
}

#[test]
fn program_32_bit() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let mine = or_skip!(lib(&libs, "libedge.so.1").m32().build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .m32()
            .needed_lib(&mine)
            .rpath(libs.to_str().unwrap())
            .build()
    );
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &[]));
    assert_eq!(object.libc.as_deref(), Some("glibc"));
    assert_eq!(object.interpreter.as_deref(), Some("/lib/ld-linux.so.2"));
    assert_eq!(library(&object, "libedge.so.1").realpath, mine);
    assert_exit(&out, 0);
}

/// A merged-usr root with the host's glibc, a library in /opt/inuse/lib (reachable only
/// through ld.so.conf and hence the cache) and /usr/bin/prog needing it.
fn small_root(d: &Dir) -> Result<FakeRoot, Skip> {
    let build = d.sub("build");
    let mine = lib(&build, "libinuse.so.1").build()?;
    let prog = exe(&build, "prog").needed_lib(&mine).build()?;
    let mut root = FakeRoot::new();
    root.merged_usr();
    root.host_glibc()?;
    root.copy(&mine, "/opt/inuse/lib/libinuse.so.1")
        .copy(&prog, "/usr/bin/prog")
        .ld_so_conf_d("inuse.conf", "/opt/inuse/lib\n");
    Ok(root)
}

/// Runs inuse with `--root` and the oracle in the root, compares.
fn agree_in_root(
    root: &FakeRoot,
    path: &str,
    oracle: &Oracle,
    extra: &[&str],
) -> Result<(InuseOutput, DepsObject, Listing), Skip> {
    let listing = oracle.list(path)?;
    let mut args = vec!["--root", root.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    let (out, report) = inuse().deps_json(&[path], &args);
    let object = report.object(path).clone();
    if let Err(diff) = compare(&object, &listing) {
        panic!("{diff}\ninuse run:\n{}", out.describe());
    }
    Ok((out, object, listing))
}

#[test]
fn root_with_its_own_ld_so_cache() {
    let d = Dir::new();
    let mut root = or_skip!(small_root(&d));
    or_skip!(root.ldconfig());
    let oracle = Oracle::in_root(root.path());
    let (out, object, listing) = or_skip!(agree_in_root(&root, "/usr/bin/prog", &oracle, &[]));
    assert_eq!(
        listing.realpath_of("libinuse.so.1"),
        Some(Path::new("/opt/inuse/lib/libinuse.so.1"))
    );
    let found = library(&object, "libinuse.so.1");
    assert_eq!(found.found_via, "ld.so.cache");
    assert_eq!(found.realpath, Path::new("/opt/inuse/lib/libinuse.so.1"));
    // Reported paths are inside the root, never prefixed with the root's host path.
    let host_prefix = root.path().to_str().unwrap();
    for l in &object.libraries {
        assert!(
            !l.path.starts_with(host_prefix) && !l.realpath.starts_with(host_prefix),
            "{l:?}"
        );
    }
    assert_eq!(
        library(&object, "libc.so.6").realpath,
        Path::new("/usr/lib/x86_64-linux-gnu/libc.so.6")
    );
    assert_exit(&out, 0);
}

/// The loader itself never reads `ld.so.conf`; a root without a cache is one where `ldconfig`
/// has not run yet (an image being built, a copied tree). inuse then answers what the loader
/// will do once `ldconfig` has indexed the configured directories, marks those libraries
/// `found_via: "ld.so.conf"` and warns. The oracle is exactly that: the real loader after
/// `ldconfig -r` on the same root.
#[test]
fn root_without_ld_so_cache_uses_the_directories_ldconfig_would_index() {
    let d = Dir::new();
    let mut root = or_skip!(small_root(&d));
    root.ld_so_conf("include ld.so.conf.d/*.conf\n");
    assert!(!root.host_path("/etc/ld.so.cache").exists());
    let root_arg = root.path().to_str().unwrap().to_owned();
    let (out, report) = inuse().deps_json(&["/usr/bin/prog"], &["--root", &root_arg]);
    let object = report.object("/usr/bin/prog").clone();
    assert!(
        out.stderr.contains("no /etc/ld.so.cache"),
        "no warning about the missing cache:\n{}",
        out.describe()
    );
    let found = library(&object, "libinuse.so.1");
    assert_eq!(found.found_via, "ld.so.conf");
    assert_eq!(found.realpath, Path::new("/opt/inuse/lib/libinuse.so.1"));
    assert_exit(&out, 0);

    or_skip!(root.ldconfig());
    let listing = or_skip!(Oracle::in_root(root.path()).list("/usr/bin/prog"));
    if let Err(diff) = compare(&object, &listing) {
        panic!("{diff}\ninuse run:\n{}", out.describe());
    }
}

#[test]
fn preload_option_is_loaded_first() {
    let d = Dir::new();
    let (pre_dir, libs) = (d.sub("pre"), d.sub("lib"));
    let pre = or_skip!(lib(&pre_dir, "libpre.so.1").build());
    let mine = or_skip!(lib(&libs, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&mine)
            .rpath(libs.to_str().unwrap())
            .build()
    );
    let pre_arg = pre.to_str().unwrap();
    let oracle = Oracle::host().preload(pre_arg);
    let (out, object, listing) = or_skip!(agree(&prog, &oracle, &["--preload", pre_arg]));
    let found = object
        .libraries
        .iter()
        .find(|l| l.realpath == pre)
        .unwrap_or_else(|| panic!("{object:#?}"));
    assert_eq!(found.found_via, "preload");
    // The loader maps preloads right after the program.
    assert_eq!(listing.loaded[0].realpath.as_deref(), Some(pre.as_path()));
    assert_eq!(object.libraries[0].realpath, pre);
    assert_exit(&out, 0);
}

#[test]
fn etc_ld_so_preload_inside_a_root() {
    let d = Dir::new();
    let mut root = or_skip!(small_root(&d));
    let build = d.sub("pre");
    let pre = or_skip!(lib(&build, "libpre.so.1").build());
    root.copy(&pre, "/usr/lib/x86_64-linux-gnu/libpre.so.1")
        .ld_so_preload("# preloaded everywhere\n/usr/lib/x86_64-linux-gnu/libpre.so.1\n");
    or_skip!(root.ldconfig());
    let oracle = Oracle::in_root(root.path());
    let (out, object, listing) = or_skip!(agree_in_root(&root, "/usr/bin/prog", &oracle, &[]));
    let pre_inside = Path::new("/usr/lib/x86_64-linux-gnu/libpre.so.1");
    assert!(
        listing.realpaths().contains(pre_inside),
        "{}",
        listing.transcript
    );
    let found = object
        .libraries
        .iter()
        .find(|l| l.realpath == pre_inside)
        .unwrap_or_else(|| panic!("{object:#?}"));
    assert_eq!(found.found_via, "preload");
    assert_exit(&out, 0);
}

#[test]
fn why_lists_every_chain_to_a_library() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let common = or_skip!(lib(&libs, "libcommon.so.1").build());
    let liba = or_skip!(lib(&libs, "liba.so.1").needed_lib(&common).build());
    let libb = or_skip!(lib(&libs, "libb.so.1").needed_lib(&common).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&liba)
            .needed_lib(&libb)
            .rpath(libs.to_str().unwrap())
            .build()
    );
    let (out, object, _) = or_skip!(agree(&prog, &Oracle::host(), &["--why", "libcommon.so.1"]));
    let prog_s = prog.to_str().unwrap().to_owned();
    let chains: BTreeSet<Vec<String>> = object.why.iter().cloned().collect();
    let expected: BTreeSet<Vec<String>> = [
        vec![prog_s.clone(), "liba.so.1".into(), "libcommon.so.1".into()],
        vec![prog_s, "libb.so.1".into(), "libcommon.so.1".into()],
    ]
    .into_iter()
    .collect();
    assert_eq!(chains, expected, "{}", out.describe());
    assert_exit(&out, 0);
}

#[test]
fn count_is_the_number_of_mapped_objects() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let common = or_skip!(lib(&libs, "libcommon.so.1").build());
    let liba = or_skip!(lib(&libs, "liba.so.1").needed_lib(&common).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&liba)
            .needed_lib(&common)
            .rpath(libs.to_str().unwrap())
            .build()
    );
    let (out, object, listing) = or_skip!(agree(&prog, &Oracle::host(), &["--count"]));
    // libcommon, liba, libc.so.6, each once; `--count` documents that the dynamic loader
    // (and the vDSO) are not counted, although the loader is in `libraries`.
    let mut mapped = listing.realpaths();
    mapped.remove(listing.interpreter.as_ref().unwrap());
    let expected = mapped.len() as u64;
    assert_eq!(expected, 3, "{}", listing.transcript);
    assert_eq!(object.count, Some(expected), "{}", out.describe());
    assert_eq!(object.libraries.len() as u64, expected + 1);
    assert_exit(&out, 0);

    // The plain `--count` output carries the same number.
    let plain = inuse().run(["deps", "--count", prog.to_str().unwrap()]);
    assert_eq!(plain.code, Some(0), "{}", plain.describe());
    assert!(
        plain
            .stdout
            .split(|c: char| !c.is_ascii_digit())
            .any(|n| n == expected.to_string()),
        "no {expected} in:\n{}",
        plain.describe()
    );
}
