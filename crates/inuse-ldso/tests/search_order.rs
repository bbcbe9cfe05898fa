//! The loader's search order for one request, checked rule by rule against the real loader.
//!
//! Every fixture is compiled here from a few lines of C into a private tempdir, and the host's
//! own loader lists it (`inuse_testkit::Oracle`: `LD_TRACE_LOADED_OBJECTS=1` for glibc, the
//! musl loader's `--list`). Only these freshly built test programs are ever run, never a file
//! the resolver analyses. The resolver must name the same `name => realpath` pairs, map the
//! same set of files and report the same missing names; the assertions after the comparison
//! restate what the loader said on Debian 12 (glibc 2.36, musl 1.2.3) so that a failure names
//! the rule that broke.
//!
//! The rules and where they come from:
//!
//! - glibc `elf/dl-load.c`, `_dl_map_object`: a name is first matched against the loaded
//!   objects (`_dl_name_match_p`: names they were requested by, and `DT_SONAME`); a name with
//!   a `/` is opened as it is. Otherwise, in order: `DT_RPATH` of the requesting object, then
//!   of its loader, up to the executable, all of it only when the requester has no
//!   `DT_RUNPATH`; `LD_LIBRARY_PATH` (split on `:` and `;`, tokens expanded against the
//!   executable; ignored in secure mode); the requester's own `DT_RUNPATH`, never an
//!   ancestor's; `ld.so.cache`; the default directories; both skipped for system directories
//!   when the requester has `DF_1_NODEFLIB`. After a file is opened, an object with the same
//!   device and inode is reused (`_dl_map_object_from_fd`).
//! - glibc `elf/dl-load.c`, `_dl_dst_substitute`: `$ORIGIN`, `$LIB`, `$PLATFORM`, bare or in
//!   braces; any other `$` is kept literally. `$ORIGIN` of the executable is the directory of
//!   `/proc/self/exe` (symlinks resolved), of a library the directory of the path it was
//!   opened by. `$PLATFORM` is `GLRO(dl_platform)`, which `sysdeps/x86/cpu-features.c`
//!   rewrites to `haswell` or `xeon_phi` on Intel CPUs that have the features. In secure mode
//!   (set-user-ID or set-group-ID) `$ORIGIN` is only expanded as the start of an element, and
//!   for the executable the result must lie in a trusted (system) directory.
//! - glibc `elf/dl-hwcaps.c`, `elf/dl-load.c` (`open_path`): every searched directory is tried
//!   first in its `glibc-hwcaps/x86-64-v4`, `-v3`, `-v2` subdirectories that the CPU supports,
//!   best first.
//! - glibc `elf/dl-load.c`, `open_verify`: a candidate of the wrong ELF class or machine is
//!   skipped; one that opens but is not a loadable ELF object ends the search with an error.
//! - musl `ldso/dynlink.c`, `load_library`: `libc`, `libpthread`, `libm`, `libdl`, `librt`,
//!   `libutil`, `libxnet` are the loader itself; already-loaded objects are matched by the
//!   short name they were found under; then `LD_LIBRARY_PATH`, then the search path of the
//!   requester and of every object up its `needed_by` chain (`DT_RUNPATH`, else `DT_RPATH`:
//!   musl keeps one per object, and inherits it), then the system path. `fixup_rpath` expands
//!   only `$ORIGIN`/`${ORIGIN}`; a search path holding any other `$` is not used at all. No
//!   cache, no `glibc-hwcaps`.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use inuse_ldso::{EdgeTarget, FoundVia, Libc, Options};
use inuse_testkit::{ListingKind, Oracle, Patchelf, or_skip, require_root};

fn host_agree(
    prog: &Path,
) -> Result<(inuse_ldso::Resolution, inuse_testkit::Listing), inuse_testkit::Skip> {
    agree(
        &Oracle::host(),
        &host(),
        prog,
        Options::default(),
        Path::new("/"),
    )
}

// ---- DT_RPATH and DT_RUNPATH -------------------------------------------------------------

#[test]
fn rpath_of_the_executable_serves_every_object_below_it() {
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
    let (res, _) = or_skip!(host_agree(&prog));
    let found = object(&res, "libleaf.so.1");
    assert_eq!(found.realpath, leaf);
    assert_eq!(found.found_via, FoundVia::Rpath);
    assert_eq!(found.depth, 2);
    assert_eq!(found.needed_by, [node_of(&res, "libmid.so.1")]);
}

#[test]
fn rpath_of_an_intermediate_library_serves_its_dependencys_dependency() {
    let d = Dir::new();
    let (one, two) = (d.sub("one"), d.sub("two"));
    // prog --RPATH one--> liba --RPATH two--> libb (no search path) --> libleaf, in two.
    let leaf = or_skip!(lib(&two, "libleaf.so.1").build());
    let libb = or_skip!(lib(&two, "libb.so.1").needed_lib(&leaf).build());
    let liba = or_skip!(
        lib(&one, "liba.so.1")
            .needed_lib(&libb)
            .rpath(s(&two))
            .build()
    );
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&liba)
            .rpath(s(&one))
            .build()
    );
    let (res, _) = or_skip!(host_agree(&prog));
    let found = object(&res, "libleaf.so.1");
    assert_eq!(found.realpath, leaf);
    assert_eq!(found.found_via, FoundVia::Rpath);
    assert_eq!(found.depth, 3);
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
            .rpath(s(&via_rpath))
            .runpath(s(&via_runpath))
            .build()
    );
    let (res, listing) = or_skip!(host_agree(&prog));
    assert_eq!(listing.realpath_of("libedge.so.1"), Some(wanted.as_path()));
    let found = object(&res, "libedge.so.1");
    assert_eq!(found.realpath, wanted);
    assert_eq!(found.found_via, FoundVia::Runpath);
}

#[test]
fn a_requester_with_runpath_ignores_the_rpath_of_its_ancestors() {
    let d = Dir::new();
    let (one, two, empty) = (d.sub("one"), d.sub("two"), d.sub("empty"));
    // The executable's RPATH could serve libleaf, but libmid, which asks for it, has a
    // RUNPATH: glibc then searches no RPATH at all for libmid's requests.
    let leaf = or_skip!(lib(&two, "libleaf.so.1").build());
    let mid = or_skip!(
        lib(&one, "libmid.so.1")
            .needed_lib(&leaf)
            .runpath(s(&empty))
            .build()
    );
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&mid)
            .rpath(&format!("{}:{}", one.display(), two.display()))
            .build()
    );
    let (res, listing) = or_skip!(host_agree(&prog));
    assert_eq!(listing.missing, ["libleaf.so.1"], "{}", listing.transcript);
    assert_eq!(missing(&res), ["libleaf.so.1"]);
    assert_eq!(res.missing[0].needed_by, [node_of(&res, "libmid.so.1")]);
    assert_eq!(object(&res, "libmid.so.1").found_via, FoundVia::Rpath);
}

#[test]
fn runpath_serves_only_the_objects_own_requests_under_glibc() {
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
    let (res, listing) = or_skip!(host_agree(&prog));
    assert_eq!(listing.missing, ["libleaf.so.1"]);
    assert_eq!(missing(&res), ["libleaf.so.1"]);
    let mid_node = node_of(&res, "libmid.so.1");
    assert_eq!(edge(&res, mid_node, "libleaf.so.1"), EdgeTarget::Missing(0));
    assert_eq!(object(&res, "libmid.so.1").found_via, FoundVia::Runpath);
    // The loader goes on after a missing library, and so does the emulation.
    assert!(res.objects.iter().any(|o| o.name == b"libc.so.6"));
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
    let (res, _) = or_skip!(host_agree(&prog));
    assert_eq!(res.libc, Some(Libc::Musl));
    let found = object(&res, "libleaf.so.1");
    assert_eq!(found.realpath, leaf);
    assert_eq!(found.found_via, FoundVia::Runpath);
    assert!(res.missing.is_empty(), "{res:#?}");
}

#[test]
fn musl_takes_runpath_over_rpath_of_each_object() {
    let d = Dir::new();
    let (via_rpath, via_runpath) = (d.sub("rpath"), d.sub("runpath"));
    or_skip!(lib(&via_rpath, "libedge.so.1").musl().build());
    let wanted = or_skip!(lib(&via_runpath, "libedge.so.1").musl().build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .musl()
            .needed_lib(&wanted)
            .rpath(s(&via_rpath))
            .runpath(s(&via_runpath))
            .build()
    );
    let (res, _) = or_skip!(host_agree(&prog));
    assert_eq!(object(&res, "libedge.so.1").realpath, wanted);
}

#[test]
fn musl_ignores_a_search_path_with_a_token_other_than_origin() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let mine = or_skip!(lib(&libs, "libedge.so.1").musl().build());
    // fixup_rpath gives up on the whole path at the first `$` that is not `$ORIGIN`, so the
    // plain element before it is not searched either.
    let prog = or_skip!(
        exe(&d.path, "prog")
            .musl()
            .needed_lib(&mine)
            .rpath(&format!("{}:/opt/$LIB", libs.display()))
            .build()
    );
    let (res, listing) = or_skip!(host_agree(&prog));
    assert_eq!(listing.missing, ["libedge.so.1"], "{}", listing.transcript);
    assert_eq!(missing(&res), ["libedge.so.1"]);
}

// ---- Dynamic string tokens ----------------------------------------------------------------

#[test]
fn origin_of_a_symlinked_executable_is_the_directory_of_its_target() {
    let d = Dir::new();
    // real/bin/prog has RPATH $ORIGIN/../lib; link/bin/prog -> ../../real/bin/prog.
    let (real_bin, real_lib) = (d.sub("real/bin"), d.sub("real/lib"));
    let (link_bin, link_lib) = (d.sub("link/bin"), d.sub("link/lib"));
    let target_lib = or_skip!(lib(&real_lib, "libedge.so.1").build());
    let decoy = or_skip!(lib(&link_lib, "libedge.so.1").build());
    or_skip!(
        exe(&real_bin, "prog")
            .needed_lib(&target_lib)
            .rpath("$ORIGIN/../lib")
            .build()
    );
    let link = link_bin.join("prog");
    std::os::unix::fs::symlink("../../real/bin/prog", &link).unwrap();
    let (res, listing) = or_skip!(host_agree(&link));
    assert_eq!(
        listing.realpath_of("libedge.so.1"),
        Some(target_lib.as_path())
    );
    assert_ne!(object(&res, "libedge.so.1").realpath, decoy);
}

#[test]
fn origin_of_a_symlinked_library_is_the_directory_of_the_symlink() {
    let d = Dir::new();
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
            .rpath(s(&link_lib))
            .build()
    );
    let (res, listing) = or_skip!(host_agree(&prog));
    assert_eq!(
        listing.realpath_of("libleaf.so.1"),
        Some(link_leaf.as_path())
    );
    assert_eq!(object(&res, "libleaf.so.1").realpath, link_leaf);
    let mid_entry = object(&res, "libmid.so.1");
    assert_eq!(mid_entry.path, link_lib.join("libmid.so.1"));
    assert_eq!(mid_entry.realpath, mid);
}

#[test]
fn origin_lib_and_platform_in_braces_and_bare_are_expanded() {
    let d = Dir::new();
    let (a, b) = (d.sub("a"), d.sub("b"));
    let liba = or_skip!(lib(&a, "liba.so.1").build());
    let libb = or_skip!(lib(&b, "libb.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&liba)
            .needed_lib(&libb)
            .rpath("${ORIGIN}/a:$ORIGIN/b")
            .build()
    );
    let (res, _) = or_skip!(host_agree(&prog));
    assert_eq!(object(&res, "liba.so.1").realpath, liba);
    assert_eq!(object(&res, "libb.so.1").realpath, libb);
}

#[test]
fn lib_expands_to_the_loaders_library_directory() {
    let d = Dir::new();
    // On Debian $LIB is `lib/x86_64-linux-gnu`, on Fedora `lib64`: offer both and let the
    // host's loader pick.
    let debian = d.sub("t/lib/x86_64-linux-gnu");
    let fedora = d.sub("t/lib64");
    let one = or_skip!(lib(&debian, "libedge.so.1").build());
    or_skip!(lib(&fedora, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&one)
            .rpath(&format!(
                "{}/t/$LIB:{}/t/${{LIB}}",
                d.path.display(),
                d.path.display()
            ))
            .build()
    );
    let (res, listing) = or_skip!(host_agree(&prog));
    let loader_pick = listing.realpath_of("libedge.so.1").unwrap();
    assert_eq!(object(&res, "libedge.so.1").realpath, loader_pick);
}

#[test]
fn platform_expands_to_the_loaders_platform_name() {
    let d = Dir::new();
    // $PLATFORM is AT_PLATFORM (`x86_64`), which glibc's x86 start-up rewrites to `haswell`
    // (or `xeon_phi`) on Intel CPUs with AVX2, FMA, BMI1/2, LZCNT, MOVBE and POPCNT.
    let mut built = None;
    for platform in ["x86_64", "haswell", "xeon_phi"] {
        let dir = d.sub(&format!("p/{platform}"));
        built = Some(or_skip!(lib(&dir, "libedge.so.1").build()));
    }
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(built.unwrap())
            .rpath("$ORIGIN/p/$PLATFORM")
            .build()
    );
    let (res, listing) = or_skip!(host_agree(&prog));
    let loader_pick = listing.realpath_of("libedge.so.1").unwrap();
    assert_eq!(object(&res, "libedge.so.1").realpath, loader_pick);

    // An explicit platform wins over the CPU's.
    let options = Options {
        platform: Some("x86_64".to_owned()),
        ..Options::default()
    };
    let res = resolve_in(&host(), &prog, options, Path::new("/"));
    assert_eq!(
        object(&res, "libedge.so.1").realpath,
        d.path.join("p/x86_64/libedge.so.1")
    );
}

#[test]
fn an_unknown_token_is_kept_literally() {
    let d = Dir::new();
    let literal = d.sub("lit$FOO");
    let mine = or_skip!(lib(&literal, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&mine)
            .rpath("$ORIGIN/lit$FOO")
            .build()
    );
    let (res, _) = or_skip!(host_agree(&prog));
    assert_eq!(object(&res, "libedge.so.1").realpath, mine);
}

// ---- Secure mode (set-user-ID) ------------------------------------------------------------

/// A program that prints the path of every object in its link map, as the loader's trace
/// mode would. glibc refuses `LD_TRACE_LOADED_OBJECTS` in secure mode (it exits with status
/// 5), so for a set-user-ID fixture the fixture itself is the oracle: it is started for real,
/// and either lists what the loader mapped or never starts because a library is missing.
const PRINT_LINK_MAP: &str = r#"#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
static int show(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    if (info->dlpi_name && info->dlpi_name[0] == '/') printf("\t%s (0x0)\n", info->dlpi_name);
    return 0;
}
int main(void) { dl_iterate_phdr(show, 0); return 0; }
"#;

/// Makes `prog` set-user-ID to `nobody`, so that the loader runs in secure mode when root
/// starts it (real and effective user differ), and opens the directories to that user.
fn make_setuid_nobody(tree: &Path, prog: &Path) -> Result<(), inuse_testkit::Skip> {
    require_root()?;
    let mut dirs = vec![tree.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            }
        }
    }
    std::os::unix::fs::chown(prog, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(prog, std::fs::Permissions::from_mode(0o4755)).unwrap();
    Ok(())
}

/// Starts the set-user-ID fixture (environment cleared but for `env`) and reads its link map.
fn run_secure(prog: &Path, env: &[(&str, &str)]) -> inuse_testkit::Listing {
    let mut cmd = std::process::Command::new(prog);
    cmd.env_clear().envs(env.iter().copied());
    let out = inuse_testkit::run_bounded(&mut cmd, std::time::Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", prog.display()));
    assert!(!out.timed_out, "{} hung", prog.display());
    let mut listing = inuse_testkit::parse_listing(&out.stdout, &out.stderr);
    for l in &mut listing.loaded {
        l.realpath = std::fs::canonicalize(&l.path).ok();
    }
    listing.interpreter = std::fs::canonicalize("/lib64/ld-linux-x86-64.so.2").ok();
    listing.transcript = format!(
        "$ {} (set-user-ID nobody)\n[exit {:?}]\n--- stdout\n{}--- stderr\n{}",
        prog.display(),
        out.code,
        out.stdout,
        out.stderr
    );
    listing
}

/// Compares the resolver with a real start: when the start failed, the loader stopped at
/// the first missing library, so only the missing names can be compared.
fn assert_agrees_with_start(res: &inuse_ldso::Resolution, listing: &inuse_testkit::Listing) {
    if listing.kind == ListingKind::Failed {
        assert_eq!(missing(res), listing.missing, "{}", listing.transcript);
    } else {
        assert_agrees(res, listing);
    }
}

fn setuid_prog(d: &Dir) -> inuse_testkit::CBuild {
    inuse_testkit::CBuild::new(&d.path)
        .source(PRINT_LINK_MAP)
        .executable("prog")
}

#[test]
fn a_setuid_program_ignores_origin_outside_trusted_directories() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let mine = or_skip!(lib(&libs, "libedge.so.1").build());
    let prog = or_skip!(
        setuid_prog(&d)
            .needed_lib(&mine)
            .rpath("$ORIGIN/lib")
            .build()
    );
    // Not set-user-ID yet: $ORIGIN serves.
    assert_agrees_with_start(&resolve(&prog), &run_secure(&prog, &[]));
    assert!(missing(&resolve(&prog)).is_empty());
    or_skip!(make_setuid_nobody(&d.path, &prog));
    let listing = run_secure(&prog, &[]);
    assert_eq!(listing.missing, ["libedge.so.1"], "{}", listing.transcript);
    let res = resolve(&prog);
    assert_agrees_with_start(&res, &listing);
    assert_eq!(missing(&res), ["libedge.so.1"]);
}

#[test]
fn a_setuid_program_keeps_plain_rpath_and_its_libraries_origin() {
    let d = Dir::new();
    let (mid_dir, dep) = (d.sub("mid"), d.sub("dep"));
    // The executable's RPATH has no token; libmid's `$ORIGIN/../dep` is a library's, which
    // glibc expands even in secure mode (only the executable's must stay in trusted
    // directories: its path is chosen by whoever calls execve).
    let leaf = or_skip!(lib(&dep, "libleaf.so.1").build());
    let mid = or_skip!(
        lib(&mid_dir, "libmid.so.1")
            .needed_lib(&leaf)
            .rpath("$ORIGIN/../dep")
            .build()
    );
    let prog = or_skip!(setuid_prog(&d).needed_lib(&mid).rpath(s(&mid_dir)).build());
    or_skip!(make_setuid_nobody(&d.path, &prog));
    let listing = run_secure(&prog, &[]);
    assert!(
        listing.realpaths().contains(&leaf),
        "{}",
        listing.transcript
    );
    let res = resolve(&prog);
    assert_agrees_with_start(&res, &listing);
    assert_eq!(object(&res, "libleaf.so.1").realpath, leaf);
}

#[test]
fn in_a_setuid_program_origin_counts_only_at_the_start_of_an_element() {
    let d = Dir::new();
    let (mid_dir, dep) = (d.sub("mid"), d.sub("dep"));
    let leaf = or_skip!(lib(&dep, "libleaf.so.1").build());
    let mid = or_skip!(
        lib(&mid_dir, "libmid.so.1")
            .needed_lib(&leaf)
            .rpath("/$ORIGIN/../dep")
            .build()
    );
    let prog = or_skip!(setuid_prog(&d).needed_lib(&mid).rpath(s(&mid_dir)).build());
    let res = resolve(&prog);
    assert_agrees_with_start(&res, &run_secure(&prog, &[]));
    assert_eq!(object(&res, "libleaf.so.1").realpath, leaf);
    or_skip!(make_setuid_nobody(&d.path, &prog));
    let listing = run_secure(&prog, &[]);
    assert_eq!(listing.missing, ["libleaf.so.1"], "{}", listing.transcript);
    let res = resolve(&prog);
    assert_agrees_with_start(&res, &listing);
    assert_eq!(missing(&res), ["libleaf.so.1"]);
}

#[test]
fn a_setuid_program_ignores_ld_library_path() {
    let d = Dir::new();
    let llp = d.sub("llp");
    let mine = or_skip!(lib(&llp, "libedge.so.1").build());
    let prog = or_skip!(setuid_prog(&d).needed_lib(&mine).build());
    or_skip!(make_setuid_nobody(&d.path, &prog));
    let listing = run_secure(&prog, &[("LD_LIBRARY_PATH", s(&llp))]);
    assert_eq!(listing.missing, ["libedge.so.1"], "{}", listing.transcript);
    let res = resolve_in(&host(), &prog, with_llp(s(&llp)), Path::new("/"));
    assert_agrees_with_start(&res, &listing);
    assert_eq!(missing(&res), ["libedge.so.1"]);
}

// ---- LD_LIBRARY_PATH ------------------------------------------------------------------------

fn with_llp(value: &str) -> Options {
    Options {
        ld_library_path: Some(value.as_bytes().to_vec()),
        ..Options::default()
    }
}

#[test]
fn ld_library_path_comes_after_rpath_and_before_runpath() {
    let d = Dir::new();
    let (rpath, llp, runpath) = (d.sub("rpath"), d.sub("llp"), d.sub("runpath"));
    let by_rpath = or_skip!(lib(&rpath, "libedge.so.1").build());
    let by_llp = or_skip!(lib(&llp, "libedge.so.1").build());
    let by_runpath = or_skip!(lib(&runpath, "libedge.so.1").build());
    let old = or_skip!(
        exe(&d.path, "old")
            .needed_lib(&by_rpath)
            .rpath(s(&rpath))
            .build()
    );
    let new = or_skip!(
        exe(&d.path, "new")
            .needed_lib(&by_runpath)
            .runpath(s(&runpath))
            .build()
    );
    let oracle = Oracle::host().ld_library_path(&llp);
    let (res, _) = or_skip!(agree(
        &oracle,
        &host(),
        &old,
        with_llp(s(&llp)),
        Path::new("/")
    ));
    let found = object(&res, "libedge.so.1");
    assert_eq!(
        (found.realpath.as_path(), found.found_via),
        (by_rpath.as_path(), FoundVia::Rpath)
    );
    let (res, _) = or_skip!(agree(
        &oracle,
        &host(),
        &new,
        with_llp(s(&llp)),
        Path::new("/")
    ));
    let found = object(&res, "libedge.so.1");
    assert_eq!(
        (found.realpath.as_path(), found.found_via),
        (by_llp.as_path(), FoundVia::LdLibraryPath)
    );
    // Without it, RUNPATH applies again.
    let (res, _) = or_skip!(host_agree(&new));
    assert_eq!(object(&res, "libedge.so.1").realpath, by_runpath);
}

#[test]
fn ld_library_path_splits_on_semicolons_and_expands_origin() {
    let d = Dir::new();
    let (nothing, llp) = (d.sub("nothing"), d.sub("llp"));
    let mine = or_skip!(lib(&llp, "libedge.so.1").build());
    let prog = or_skip!(exe(&d.path, "prog").needed_lib(&mine).build());
    for value in [
        format!("{};{}", nothing.display(), llp.display()),
        "$ORIGIN/nothing:$ORIGIN/llp".to_owned(),
    ] {
        let oracle = Oracle::host().ld_library_path(&value);
        let (res, _) = or_skip!(agree(
            &oracle,
            &host(),
            &prog,
            with_llp(&value),
            Path::new("/")
        ));
        assert_eq!(object(&res, "libedge.so.1").realpath, mine, "{value}");
    }
}

#[test]
fn an_empty_ld_library_path_element_is_the_current_directory() {
    let d = Dir::new();
    let cwd = d.sub("cwd");
    let mine = or_skip!(lib(&cwd, "libedge.so.1").build());
    let prog = or_skip!(exe(&d.path, "prog").needed_lib(&mine).build());
    let listing = or_skip!(
        Oracle::host()
            .ld_library_path("/nonexistent::")
            .cwd(&cwd)
            .list(&prog)
    );
    // The loader opens `libedge.so.1` relative to its current directory and lists it by that
    // bare name, which the listing parser cannot tell from the vDSO: check the text.
    assert!(listing.missing.is_empty(), "{}", listing.transcript);
    assert!(
        listing.transcript.contains("\tlibedge.so.1 (0x"),
        "{}",
        listing.transcript
    );
    let res = resolve_in(&host(), &prog, with_llp("/nonexistent::"), &cwd);
    let found = object(&res, "libedge.so.1");
    assert_eq!(
        (found.realpath.as_path(), found.found_via),
        (mine.as_path(), FoundVia::LdLibraryPath)
    );
    // Elsewhere, the same setting finds nothing.
    let res = resolve_in(&host(), &prog, with_llp("/nonexistent::"), &d.path);
    assert_eq!(missing(&res), ["libedge.so.1"]);
}

// ---- glibc-hwcaps ---------------------------------------------------------------------------

#[test]
fn glibc_hwcaps_subdirectories_are_tried_best_first() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let plain = or_skip!(lib(&libs, "libhw.so.1").build());
    for level in ["x86-64-v2", "x86-64-v3", "x86-64-v4"] {
        let sub = d.sub(&format!("lib/glibc-hwcaps/{level}"));
        or_skip!(lib(&sub, "libhw.so.1").build());
    }
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&plain)
            .rpath(s(&libs))
            .build()
    );
    // This CPU's level, as the loader sees it.
    let (res, listing) = or_skip!(host_agree(&prog));
    let loader_pick = listing.realpath_of("libhw.so.1").unwrap().to_path_buf();
    assert_eq!(object(&res, "libhw.so.1").realpath, loader_pick);
    // Each level takes the best subdirectory it supports; level 1 takes none.
    for (level, expected) in [
        (4, libs.join("glibc-hwcaps/x86-64-v4/libhw.so.1")),
        (3, libs.join("glibc-hwcaps/x86-64-v3/libhw.so.1")),
        (2, libs.join("glibc-hwcaps/x86-64-v2/libhw.so.1")),
        (1, plain.clone()),
    ] {
        let options = Options {
            hwcaps_level: Some(level),
            ..Options::default()
        };
        let res = resolve_in(&host(), &prog, options, Path::new("/"));
        assert_eq!(
            object(&res, "libhw.so.1").realpath,
            expected,
            "level {level}"
        );
    }
    // Only supported levels count: with v3 gone a v4 CPU takes v2... unless v4 is there.
    std::fs::remove_dir_all(libs.join("glibc-hwcaps/x86-64-v4")).unwrap();
    std::fs::remove_dir_all(libs.join("glibc-hwcaps/x86-64-v3")).unwrap();
    let options = Options {
        hwcaps_level: Some(4),
        ..Options::default()
    };
    let res = resolve_in(&host(), &prog, options, Path::new("/"));
    assert_eq!(
        object(&res, "libhw.so.1").realpath,
        libs.join("glibc-hwcaps/x86-64-v2/libhw.so.1")
    );
    or_skip!(host_agree(&prog));
}

#[test]
fn musl_has_no_glibc_hwcaps() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let plain = or_skip!(lib(&libs, "libhw.so.1").musl().build());
    let sub = d.sub("lib/glibc-hwcaps/x86-64-v2");
    or_skip!(lib(&sub, "libhw.so.1").musl().build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .musl()
            .needed_lib(&plain)
            .rpath(s(&libs))
            .build()
    );
    let options = Options {
        hwcaps_level: Some(4),
        ..Options::default()
    };
    let (res, _) = or_skip!(agree(
        &Oracle::host(),
        &host(),
        &prog,
        options,
        Path::new("/")
    ));
    assert_eq!(object(&res, "libhw.so.1").realpath, plain);
}

// ---- Candidates that do not fit -------------------------------------------------------------

#[test]
fn a_library_of_the_wrong_class_is_skipped() {
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
    let (res, _) = or_skip!(host_agree(&prog));
    assert_eq!(object(&res, "libedge.so.1").realpath, wanted);
}

#[test]
fn a_file_that_is_not_elf_stops_the_search_in_glibc() {
    let d = Dir::new();
    let (junk, right) = (d.sub("junk"), d.sub("right"));
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
    assert!(
        listing
            .error
            .as_deref()
            .unwrap()
            .contains("invalid ELF header")
    );
    let res = resolve(&prog);
    assert_eq!(missing(&res), ["libedge.so.1"]);
    let error = res.missing[0].error.as_deref().unwrap();
    assert!(
        error.contains("invalid ELF header") && error.contains(s(&bogus)),
        "{error}"
    );
}

#[test]
fn nodeflib_skips_the_cache_and_the_default_directories() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let mine = or_skip!(lib(&libs, "libedge.so.1").build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&mine)
            .rpath(s(&libs))
            .build()
    );
    or_skip!(Patchelf::on(&prog).no_default_lib());
    let (res, listing) = or_skip!(host_agree(&prog));
    assert_eq!(listing.missing, ["libc.so.6"]);
    assert_eq!(missing(&res), ["libc.so.6"]);
    assert_eq!(object(&res, "libedge.so.1").realpath, mine);
}

// ---- Objects already loaded -----------------------------------------------------------------

#[test]
fn a_name_matching_a_loaded_soname_is_not_searched() {
    let d = Dir::new();
    let (direct, build, libs) = (d.sub("direct"), d.sub("build"), d.sub("lib"));
    // libreal.so (opened by path) carries the soname libsame.so.1; libuser asks for
    // libsame.so.1, which is nowhere on its search path: glibc matches the loaded soname.
    let real = or_skip!(lib(&direct, "libreal.so").soname("libsame.so.1").build());
    let stub = or_skip!(lib(&build, "libsame.so.1").build());
    let user = or_skip!(lib(&libs, "libuser.so.1").needed_lib(&stub).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&user)
            .rpath(s(&libs))
            .build()
    );
    or_skip!(Patchelf::on(&prog).add_needed(s(&real)));
    std::fs::remove_file(&stub).unwrap();
    let (res, _) = or_skip!(host_agree(&prog));
    let user_node = node_of(&res, "libuser.so.1");
    let real_node = res.objects.iter().position(|o| o.realpath == real).unwrap() + 1;
    assert_eq!(
        edge(&res, user_node, "libsame.so.1"),
        EdgeTarget::Object(real_node)
    );
    assert!(res.missing.is_empty(), "{res:#?}");
    assert_eq!(res.objects[real_node - 1].found_via, FoundVia::Direct);
}

#[test]
fn a_preload_answers_to_its_soname() {
    let d = Dir::new();
    let (pre_dir, build) = (d.sub("pre"), d.sub("build"));
    let pre = or_skip!(lib(&pre_dir, "custom.so").soname("libfoo.so.1").build());
    let stub = or_skip!(lib(&build, "libfoo.so.1").build());
    let prog = or_skip!(exe(&d.path, "prog").needed_lib(&stub).build());
    std::fs::remove_file(&stub).unwrap();
    // Without the preload, nothing provides libfoo.so.1.
    let (res, _) = or_skip!(host_agree(&prog));
    assert_eq!(missing(&res), ["libfoo.so.1"]);
    let oracle = Oracle::host().preload(s(&pre));
    let options = Options {
        preload: vec![pre.clone().into_os_string()],
        ..Options::default()
    };
    let (res, listing) = or_skip!(agree(&oracle, &host(), &prog, options, Path::new("/")));
    assert_eq!(listing.loaded[0].realpath.as_deref(), Some(pre.as_path()));
    assert_eq!(res.objects[0].realpath, pre);
    assert_eq!(res.objects[0].found_via, FoundVia::Preload);
    assert_eq!(edge(&res, 0, "libfoo.so.1"), EdgeTarget::Object(1));
}

#[test]
fn the_same_file_under_two_names_is_loaded_once() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let real = or_skip!(lib(&libs, "libx.so.1.0").soname("libx.so.1").build());
    std::os::unix::fs::symlink("libx.so.1.0", libs.join("libx.so.1")).unwrap();
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(libs.join("libx.so.1"))
            .rpath(s(&libs))
            .build()
    );
    or_skip!(Patchelf::on(&prog).add_needed("libx.so.1.0"));
    let (res, _) = or_skip!(host_agree(&prog));
    let copies = res.objects.iter().filter(|o| o.realpath == real).count();
    assert_eq!(copies, 1, "{res:#?}");
    assert_eq!(edge(&res, 0, "libx.so.1"), edge(&res, 0, "libx.so.1.0"));
}

#[test]
fn musl_libc_names_are_the_loader_itself() {
    let d = Dir::new();
    let prog = or_skip!(exe(&d.path, "prog").musl().build());
    // musl's libc, libm, libpthread... are one file: the loader. No search happens.
    for name in ["libm.so.6", "libpthread.so.0", "libdl.so.2"] {
        or_skip!(Patchelf::on(&prog).add_needed(name));
    }
    let (res, _) = or_skip!(host_agree(&prog));
    assert_eq!(res.libc, Some(Libc::Musl));
    assert_eq!(res.objects.len(), 1, "{res:#?}");
    assert_eq!(res.objects[0].found_via, FoundVia::Interpreter);
    for name in ["libc.so", "libm.so.6", "libpthread.so.0", "libdl.so.2"] {
        assert_eq!(edge(&res, 0, name), EdgeTarget::Object(1), "{name}");
    }
    assert!(res.missing.is_empty());
}

// ---- Missing libraries ----------------------------------------------------------------------

#[test]
fn a_missing_library_is_reported_and_the_load_goes_on() {
    for musl in [false, true] {
        let d = Dir::new();
        let (gone, libs) = (d.sub("gone"), d.sub("lib"));
        let build = |b: inuse_testkit::CBuild| if musl { b.musl() } else { b };
        let lost = or_skip!(build(lib(&gone, "libgone.so.1")).build());
        let there = or_skip!(build(lib(&libs, "libthere.so.1")).build());
        let prog = or_skip!(
            build(exe(&d.path, "prog"))
                .needed_lib(&lost)
                .needed_lib(&there)
                .rpath(s(&libs))
                .build()
        );
        std::fs::remove_file(&lost).unwrap();
        let (res, _) = or_skip!(host_agree(&prog));
        assert_eq!(missing(&res), ["libgone.so.1"], "musl: {musl}");
        assert_eq!(res.missing[0].needed_by, [0]);
        assert_eq!(res.missing[0].error, None);
        assert_eq!(object(&res, "libthere.so.1").realpath, there);
    }
}

// ---- Inputs ---------------------------------------------------------------------------------

#[test]
fn static_and_static_pie_programs_load_nothing() {
    let d = Dir::new();
    let fixed = or_skip!(exe(&d.path, "static").static_().build());
    let pie = or_skip!(exe(&d.path, "static-pie").static_pie().build());
    assert_eq!(
        or_skip!(Oracle::host().list(&fixed)).kind,
        ListingKind::NotDynamic
    );
    assert_eq!(
        or_skip!(Oracle::host().list(&pie)).kind,
        ListingKind::StaticallyLinked
    );
    for prog in [&fixed, &pie] {
        let res = resolve(prog);
        assert_eq!(
            res.kind,
            inuse_ldso::InputKind::Static,
            "{}",
            prog.display()
        );
        assert!(res.objects.is_empty() && res.missing.is_empty());
        assert_eq!((res.interpreter.as_ref(), res.libc), (None, None));
    }
}

#[test]
fn a_32_bit_program_uses_its_own_loader_and_libraries() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let mine = or_skip!(lib(&libs, "libedge.so.1").m32().build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .m32()
            .needed_lib(&mine)
            .rpath(s(&libs))
            .build()
    );
    let (res, _) = or_skip!(host_agree(&prog));
    assert_eq!(res.libc, Some(Libc::Glibc));
    assert_eq!(
        res.interpreter.as_deref(),
        Some(Path::new("/lib/ld-linux.so.2"))
    );
    assert_eq!(object(&res, "libedge.so.1").realpath, mine);
    // libc.so.6 comes from the cache's 32-bit entry, not the 64-bit one.
    let libc = object(&res, "libc.so.6");
    assert_eq!(libc.found_via, FoundVia::LdSoCache);
    assert!(
        !libc.realpath.starts_with("/usr/lib/x86_64-linux-gnu"),
        "{libc:?}"
    );
}

#[test]
fn a_shared_library_input_is_resolved_as_ldd_does() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let leaf = or_skip!(lib(&libs, "libleaf.so.1").build());
    let top = or_skip!(
        lib(&d.path, "libtop.so.1")
            .needed_lib(&leaf)
            .rpath("$ORIGIN/lib")
            .build()
    );
    let (res, _) = or_skip!(host_agree(&top));
    assert_eq!(res.kind, inuse_ldso::InputKind::SharedLibrary);
    assert_eq!(res.libc, Some(Libc::Glibc));
    assert_eq!(object(&res, "libleaf.so.1").realpath, leaf);
}

#[test]
fn why_lists_every_chain_and_count_leaves_out_the_loader() {
    let d = Dir::new();
    let libs = d.sub("lib");
    let common = or_skip!(lib(&libs, "libcommon.so.1").build());
    let liba = or_skip!(lib(&libs, "liba.so.1").needed_lib(&common).build());
    let libb = or_skip!(lib(&libs, "libb.so.1").needed_lib(&common).build());
    let prog = or_skip!(
        exe(&d.path, "prog")
            .needed_lib(&liba)
            .needed_lib(&libb)
            .rpath(s(&libs))
            .build()
    );
    let (res, listing) = or_skip!(host_agree(&prog));
    let (a, b, c) = (
        node_of(&res, "liba.so.1"),
        node_of(&res, "libb.so.1"),
        node_of(&res, "libcommon.so.1"),
    );
    let mut chains = res.why("libcommon.so.1", 10);
    chains.sort();
    assert_eq!(chains, [vec![0, a, c], vec![0, b, c]]);
    assert_eq!(res.why("libcommon.so.1", 1).len(), 1);
    let mut mapped = listing.realpaths();
    mapped.remove(listing.interpreter.as_ref().unwrap());
    assert_eq!(res.count(), mapped.len());
    assert_eq!(res.count(), 4, "liba, libb, libcommon, libc");
    assert_eq!(object(&res, "libcommon.so.1").needed_by, [a, b]);
}
