//! What a root's own files tell the loader: `ld.so.cache`, `ld.so.conf`, the default
//! directories, musl's `ld-musl-ARCH.path`; each checked in a small fake root against the
//! real tools that read or write those files.
//!
//! Oracles: `ldconfig -r ROOT` writes the cache and, with `-v`, prints the directories it
//! indexes in order; `ldconfig -r ROOT -p` prints the cache entries in the order the loader
//! walks them; the host's glibc and musl loaders, run chrooted in the root on programs built
//! here (`inuse_testkit::Oracle::in_root`), say what they load. Running them needs root; the
//! tests skip loudly without it.
//!
//! The rules and where they come from:
//!
//! - glibc `elf/ldconfig.c`, `parse_conf`: one directory per line (leading and trailing
//!   blanks, `#` comments, a `=TYPE` suffix and trailing slashes removed; a line is never
//!   split), `include PATTERN...` read through `glob` in sorted order, relative patterns
//!   relative to the including file; `hwcap` lines ignored. The configured directories come
//!   before the loader's own system directories.
//! - glibc `elf/dl-cache.c`, `_dl_load_cache_lookup` and `search_cache`: entries whose key is
//!   the name and whose flags suit the requester's ABI (`_dl_cache_check_flags`); among the
//!   `glibc-hwcaps` entries the best one the CPU supports, else the first plain entry in cache
//!   order. `ldconfig` writes entries of one name in the order their directories were
//!   configured.
//! - glibc `elf/dl-load.c`, `_dl_init_paths`: the compiled-in system directories, which differ
//!   between distributions (Debian: `/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:
//!   /usr/lib`; Fedora: `/lib64:/usr/lib64`, printed by `ld.so --help`); the emulation derives
//!   them from where the loader file lives in the root (`loader.rs`).
//! - musl `ldso/dynlink.c`, `load_library`: the system path is the content of
//!   `<prefix>/etc/ld-musl-ARCH.path` (elements separated by `:` or newlines), where prefix is
//!   the loader's directory minus its last component, else `/lib:/usr/local/lib:/usr/lib`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use inuse_elf::Class;
use inuse_ldso::{FoundVia, LdCache, Options, abi_flags};
use inuse_testkit::{FakeRoot, Oracle, Skip, or_skip, require_root, require_tool, run_bounded};

/// Runs the host's `ldconfig` with `args` (which include `-r ROOT`) and returns its stdout.
fn ldconfig(args: &[&str]) -> Result<String, Skip> {
    let tool = require_tool("ldconfig")?;
    require_root()?;
    let mut cmd = std::process::Command::new(tool);
    cmd.args(args);
    let out = run_bounded(&mut cmd, Duration::from_secs(60)).unwrap();
    assert!(out.success(), "{cmd:?}: {}{}", out.stdout, out.stderr);
    Ok(out.stdout)
}

/// The directories `ldconfig -v` indexes in `root`, in order, without its built-in ones.
fn ldconfig_dirs(root: &FakeRoot) -> Result<Vec<String>, Skip> {
    std::fs::create_dir_all(root.host_path("/var/cache/ldconfig")).unwrap();
    let text = ldconfig(&["-X", "-v", "-r", s(root.path())])?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with(char::is_whitespace) && !l.contains("<builtin>"))
        .filter_map(|l| l.split_once(": (from ").map(|(dir, _)| dir.to_owned()))
        .collect())
}

/// `conf_dirs` of the root, keeping those that exist (ldconfig skips the others).
fn our_conf_dirs(root: &FakeRoot) -> Vec<String> {
    inuse_ldso::conf_dirs(&root_at(root.path()))
        .into_iter()
        .map(|d| String::from_utf8(d).unwrap())
        .filter(|d| root.host_path(d).is_dir())
        .collect()
}

#[test]
fn ld_so_conf_includes_are_read_in_ldconfig_order() {
    let data = or_skip!(inuse_testkit::testdata_dir());
    let tree = data.join("elf/ldso-conf-tree");
    let mut root = FakeRoot::new();
    root.copy(tree.join("ld.so.conf"), "/etc/ld.so.conf");
    for e in std::fs::read_dir(tree.join("ld.so.conf.d")).unwrap() {
        let e = e.unwrap();
        root.copy(e.path(), Path::new("/etc/ld.so.conf.d").join(e.file_name()));
    }
    // A Debian tree: `include ld.so.conf.d/*.conf`, relative to /etc.
    let ours = inuse_ldso::conf_dirs(&root_at(root.path()));
    assert!(ours.len() >= 5, "{ours:?}");
    for dir in &ours {
        root.dir(String::from_utf8_lossy(dir).as_ref());
    }
    let theirs = or_skip!(ldconfig_dirs(&root));
    assert_eq!(our_conf_dirs(&root), theirs);
    assert_eq!(theirs[0], "/usr/lib/x86_64-linux-gnu/libfakeroot");
}

#[test]
fn ld_so_conf_lines_are_whole_directories() {
    let mut root = FakeRoot::new();
    for d in ["a", "b", "c", "d", "e", "f", "g", "in/h"] {
        root.dir(format!("/opt/{d}"));
    }
    root.ld_so_conf(
        "/opt/a /opt/b\n/opt/c//\n  /opt/d, /opt/e # comment\n\t/opt/e=libc6 \n\
         hwcap 1 nosegneg\ninclude /etc/more/*.conf\t/etc/one.conf\n/opt/g\n",
    )
    .write("/etc/more/2.conf", "/opt/f\n")
    .write("/etc/more/1.conf", "include ../in.conf\n")
    .write("/etc/in.conf", "/opt/in/h\n/opt/c\n")
    .write("/etc/more/ignored.txt", "/opt/a\n")
    .write("/etc/one.conf", "/opt/b\n");
    let theirs = or_skip!(ldconfig_dirs(&root));
    assert_eq!(our_conf_dirs(&root), theirs);
    assert_eq!(
        theirs,
        [
            "/opt/c",
            "/opt/e",
            "/opt/in/h",
            "/opt/f",
            "/opt/b",
            "/opt/g"
        ]
    );
}

/// One `ldconfig -p` line: name, ABI label, hwcaps subdirectory, path.
#[derive(Debug)]
struct Printed {
    name: String,
    abi: String,
    hwcap: Option<String>,
    path: String,
}

fn ldconfig_print(root: &FakeRoot) -> Result<Vec<Printed>, Skip> {
    let text = ldconfig(&["-r", s(root.path()), "-p"])?;
    Ok(text
        .lines()
        .filter_map(|line| {
            // "\tlibhw.so.1 (libc6,x86-64, hwcap: \"x86-64-v3\") => /opt/h/glibc-hwcaps/..."
            let (lhs, path) = line.trim().split_once(" => ")?;
            let (name, label) = lhs.split_once(" (")?;
            let label = label.strip_suffix(')')?;
            let (abi, hwcap) = match label.split_once(", hwcap: ") {
                Some((abi, h)) => (abi, Some(h.trim_matches('"').to_owned())),
                None => (label, None),
            };
            Some(Printed {
                name: name.to_owned(),
                abi: abi.to_owned(),
                hwcap,
                path: path.to_owned(),
            })
        })
        .collect())
}

/// A root whose cache has one name in two directories, one name for two ABIs, and one name
/// with `glibc-hwcaps` variants; `/usr/bin/prog` needs all three. With the host's glibc, so
/// that the loader can run chrooted there.
fn cache_root(d: &Dir) -> Result<FakeRoot, Skip> {
    let build = d.sub("build");
    let mut root = FakeRoot::new();
    root.merged_usr();
    root.host_glibc()?;
    root.write("/etc/debian_version", "12.0\n");
    let dup = lib(&build, "libdup.so.1").build()?;
    root.copy(&dup, "/opt/a/libdup.so.1")
        .copy(&dup, "/opt/b/libdup.so.1");
    let m32 = d.sub("m32");
    let arch32 = lib(&m32, "libarch.so.1").m32().build()?;
    let arch = lib(&build, "libarch.so.1").build()?;
    root.copy(&arch32, "/opt/m32/libarch.so.1")
        .copy(&arch, "/opt/m64/libarch.so.1");
    let hw = lib(&build, "libhw.so.1").build()?;
    root.copy(&hw, "/opt/h/libhw.so.1")
        .copy(&hw, "/opt/h/glibc-hwcaps/x86-64-v2/libhw.so.1")
        .copy(&hw, "/opt/h/glibc-hwcaps/x86-64-v3/libhw.so.1");
    // b before a; the 32-bit directory first.
    root.ld_so_conf_d("opt.conf", "/opt/b\n/opt/a\n/opt/m32\n/opt/m64\n/opt/h\n");
    let prog = exe(&build, "prog")
        .needed_lib(&dup)
        .needed_lib(&arch)
        .needed_lib(&hw)
        .build()?;
    root.copy(&prog, "/usr/bin/prog");
    root.ldconfig()?;
    Ok(root)
}

#[test]
fn cache_lookup_takes_what_ldconfig_lists_first_for_the_abi_and_hwcaps() {
    let d = Dir::new();
    let root = or_skip!(cache_root(&d));
    let printed = or_skip!(ldconfig_print(&root));
    let cache = LdCache::parse(&std::fs::read(root.host_path("/etc/ld.so.cache")).unwrap())
        .expect("ldconfig's cache parses");
    let x86_64 = abi_flags(Class::Elf64, object::elf::EM_X86_64, 0);
    let i386 = abi_flags(Class::Elf32, object::elf::EM_386, 0);
    let hw = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let levels = [
        hw(&[]),
        hw(&["x86-64-v2"]),
        hw(&["x86-64-v3", "x86-64-v2"]),
        hw(&["x86-64-v4", "x86-64-v3", "x86-64-v2"]),
    ];
    let mut checked = 0;
    for name in ["libdup.so.1", "libarch.so.1", "libhw.so.1", "libc.so.6"] {
        for (abi, flags) in [("libc6,x86-64", &x86_64), ("libc6", &i386)] {
            for supported in &levels {
                let entries: Vec<&Printed> = printed
                    .iter()
                    .filter(|p| p.name == name && p.abi == abi)
                    .collect();
                let best_hwcap = entries
                    .iter()
                    .filter_map(|p| {
                        let rank = supported.iter().position(|h| Some(h) == p.hwcap.as_ref())?;
                        Some((rank, p))
                    })
                    .min_by_key(|(rank, _)| *rank)
                    .map(|(_, p)| p.path.as_str());
                let expected = best_hwcap.or_else(|| {
                    entries
                        .iter()
                        .find(|p| p.hwcap.is_none())
                        .map(|p| p.path.as_str())
                });
                let got = cache
                    .lookup(name.as_bytes(), flags, supported)
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                assert_eq!(
                    got.as_deref(),
                    expected,
                    "{name} {abi} {supported:?}\n{printed:#?}"
                );
                checked += usize::from(expected.is_some());
            }
        }
    }
    // Spelled out, the facts the table rests on.
    let x = |name: &str, flags: &[u32], h: &[String]| {
        String::from_utf8_lossy(cache.lookup(name.as_bytes(), flags, h).unwrap()).into_owned()
    };
    assert_eq!(x("libdup.so.1", &x86_64, &[]), "/opt/b/libdup.so.1");
    assert_eq!(x("libarch.so.1", &x86_64, &[]), "/opt/m64/libarch.so.1");
    assert_eq!(x("libarch.so.1", &i386, &[]), "/opt/m32/libarch.so.1");
    assert_eq!(
        x("libhw.so.1", &x86_64, &levels[3]),
        "/opt/h/glibc-hwcaps/x86-64-v3/libhw.so.1"
    );
    assert_eq!(
        x("libhw.so.1", &x86_64, &levels[1]),
        "/opt/h/glibc-hwcaps/x86-64-v2/libhw.so.1"
    );
    assert_eq!(x("libhw.so.1", &x86_64, &levels[0]), "/opt/h/libhw.so.1");
    assert!(cache.lookup(b"libdup.so.1", &i386, &[]).is_none());
    assert!(checked >= 14, "{checked}");
}

#[test]
fn the_loader_in_the_root_agrees_with_the_cache_lookup() {
    let d = Dir::new();
    let root = or_skip!(cache_root(&d));
    let fs = root_at(root.path());
    let prog = Path::new("/usr/bin/prog");
    let (res, listing) = or_skip!(agree(
        &Oracle::in_root(root.path()),
        &fs,
        prog,
        Options::default(),
        Path::new("/")
    ));
    for name in ["libdup.so.1", "libarch.so.1", "libhw.so.1", "libc.so.6"] {
        assert_eq!(object(&res, name).found_via, FoundVia::LdSoCache, "{name}");
    }
    assert_eq!(
        listing.realpath_of("libdup.so.1"),
        Some(Path::new("/opt/b/libdup.so.1"))
    );
    assert_eq!(
        object(&res, "libarch.so.1").realpath,
        Path::new("/opt/m64/libarch.so.1")
    );
    // A CPU at a lower level takes a lower subdirectory; level 1 none.
    for (level, expected) in [
        (2, "/opt/h/glibc-hwcaps/x86-64-v2/libhw.so.1"),
        (1, "/opt/h/libhw.so.1"),
    ] {
        let options = Options {
            hwcaps_level: Some(level),
            ..Options::default()
        };
        let res = resolve_in(&fs, prog, options, Path::new("/"));
        assert_eq!(object(&res, "libhw.so.1").realpath, Path::new(expected));
    }
    // Paths are inside the root, never prefixed with its host path.
    for o in &res.objects {
        assert!(!o.path.starts_with(root.path()) && !o.realpath.starts_with(root.path()));
    }
}

#[test]
fn without_a_cache_the_loader_searches_its_default_directories() {
    let d = Dir::new();
    let build = d.sub("build");
    let mut root = FakeRoot::new();
    root.merged_usr();
    or_skip!(root.host_glibc());
    // Debian's glibc adds /lib and /usr/lib to the multiarch directories.
    root.write("/etc/debian_version", "12.0\n");
    let mine = or_skip!(lib(&build, "libdef.so.1").build());
    let prog = or_skip!(exe(&build, "prog").needed_lib(&mine).build());
    root.copy(&mine, "/usr/lib/libdef.so.1")
        .copy(&prog, "/usr/bin/prog");
    let fs = root_at(root.path());
    let (res, _) = or_skip!(agree(
        &Oracle::in_root(root.path()),
        &fs,
        Path::new("/usr/bin/prog"),
        Options::default(),
        Path::new("/")
    ));
    let found = object(&res, "libdef.so.1");
    assert_eq!(found.found_via, FoundVia::Default);
    assert_eq!(found.path, Path::new("/lib/libdef.so.1"));
    assert_eq!(found.realpath, Path::new("/usr/lib/libdef.so.1"));
    // The configured directories stand in for the cache ldconfig has not written yet.
    assert_eq!(object(&res, "libc.so.6").found_via, FoundVia::LdSoConf);
}

#[test]
fn the_default_directories_follow_where_the_loader_lives() {
    // A Fedora-like root: the loader in /usr/lib64 (reached by /lib64), no Debian marker.
    // Fedora's loader searches /lib64:/usr/lib64 and expands $LIB to lib64 (`ld.so --help`);
    // the host's loader is Debian's, so it cannot be the oracle here.
    let d = Dir::new();
    let build = d.sub("build");
    let mut root = FakeRoot::new();
    let loader = PathBuf::from("/lib64/ld-linux-x86-64.so.2");
    let libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(libc) = libc.filter(|_| loader.exists()) else {
        inuse_testkit::Skip::new("no x86-64 glibc on this host").report();
        return;
    };
    root.dir("/usr/lib64")
        .dir("/usr/bin")
        .symlink("/lib64", "usr/lib64")
        .copy(&loader, "/usr/lib64/ld-linux-x86-64.so.2")
        .copy(libc, "/usr/lib64/libc.so.6");
    let f = or_skip!(lib(&build, "libf.so.1").build());
    let g = or_skip!(lib(&build, "libg.so.1").build());
    let h = or_skip!(lib(&build, "libh.so.1").build());
    let prog = or_skip!(
        exe(&build, "prog")
            .needed_lib(&f)
            .needed_lib(&g)
            .needed_lib(&h)
            .rpath("/opt/$LIB")
            .build()
    );
    root.copy(&f, "/usr/lib64/libf.so.1")
        .copy(&g, "/usr/lib/libg.so.1")
        .copy(&h, "/opt/lib64/libh.so.1")
        .copy(&prog, "/usr/bin/prog");
    let res = resolve_in(
        &root_at(root.path()),
        Path::new("/usr/bin/prog"),
        Options::default(),
        Path::new("/"),
    );
    assert_eq!(object(&res, "libf.so.1").found_via, FoundVia::Default);
    assert_eq!(
        object(&res, "libf.so.1").path,
        Path::new("/lib64/libf.so.1")
    );
    assert_eq!(
        object(&res, "libh.so.1").realpath,
        Path::new("/opt/lib64/libh.so.1")
    );
    assert_eq!(missing(&res), ["libg.so.1"]);
    // The same tree marked as Debian searches /usr/lib too.
    root.write("/etc/debian_version", "12.0\n");
    let res = resolve_in(
        &root_at(root.path()),
        Path::new("/usr/bin/prog"),
        Options::default(),
        Path::new("/"),
    );
    assert_eq!(
        object(&res, "libg.so.1").realpath,
        Path::new("/usr/lib/libg.so.1")
    );
}

/// A root with the host's musl loader at /lib and a musl program needing libm1.so.1, which
/// is in /opt/m3 and, as a decoy, in /usr/lib.
fn musl_root(d: &Dir) -> Result<FakeRoot, Skip> {
    let loader = Path::new("/lib/ld-musl-x86_64.so.1");
    if !loader.exists() {
        return Err(Skip::new("no musl loader on this host (musl)"));
    }
    let build = d.sub("build");
    let mine = lib(&build, "libm1.so.1").musl().build()?;
    let prog = exe(&build, "prog").musl().needed_lib(&mine).build()?;
    let mut root = FakeRoot::new();
    root.copy(loader, "/lib/ld-musl-x86_64.so.1")
        .copy(&mine, "/opt/m3/libm1.so.1")
        .copy(&mine, "/usr/lib/libm1.so.1")
        .copy(&prog, "/bin/prog")
        .dir("/opt/m1")
        .dir("/opt/m2");
    Ok(root)
}

#[test]
fn musl_reads_its_path_file_instead_of_the_default_path() {
    let d = Dir::new();
    let mut root = or_skip!(musl_root(&d));
    let prog = Path::new("/bin/prog");
    let oracle = Oracle::in_root(root.path());
    let (res, _) = or_skip!(agree(
        &oracle,
        &root_at(root.path()),
        prog,
        Options::default(),
        Path::new("/")
    ));
    assert_eq!(
        object(&res, "libm1.so.1").realpath,
        Path::new("/usr/lib/libm1.so.1")
    );
    assert_eq!(object(&res, "libm1.so.1").found_via, FoundVia::Default);

    root.write("/etc/ld-musl-x86_64.path", "/opt/m1\n/opt/m2:/opt/m3\n");
    let (res, _) = or_skip!(agree(
        &oracle,
        &root_at(root.path()),
        prog,
        Options::default(),
        Path::new("/")
    ));
    assert_eq!(
        object(&res, "libm1.so.1").realpath,
        Path::new("/opt/m3/libm1.so.1")
    );

    // A path file that lists nothing useful: nothing else is searched.
    root.write("/etc/ld-musl-x86_64.path", "/opt/m1\n");
    let (res, listing) = or_skip!(agree(
        &oracle,
        &root_at(root.path()),
        prog,
        Options::default(),
        Path::new("/")
    ));
    assert_eq!(listing.missing, ["libm1.so.1"]);
    assert_eq!(missing(&res), ["libm1.so.1"]);
}
