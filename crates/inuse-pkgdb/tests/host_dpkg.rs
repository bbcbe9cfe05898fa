//! The host's dpkg database against the real `dpkg-query`: the package set (every state but
//! `config-files`, which is not installed), and the owner of every ELF file under `/usr` in
//! both merged-/usr spellings. Both answers are taken while the database stands still, so
//! that a package installed meanwhile by another process cannot fail them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use inuse_pkgdb::{Inventory, Manager};
use inuse_root::{FileKind, Root};
use inuse_testkit::{
    Skip, Verdict, dpkg_literal, dpkg_query_list, dpkg_query_search, or_skip, require_tool,
};

/// The host's dpkg database and `dpkg-query`, or why not.
fn host_dpkg() -> Result<(), Skip> {
    require_tool("dpkg-query")?;
    if Path::new("/var/lib/dpkg/status").exists() {
        Ok(())
    } else {
        Err(Skip::new("this host has no dpkg database"))
    }
}

/// What changes when dpkg changes the database: `status` (replaced by a rename, so a new
/// inode), its size and time, and the `info` directory's time (lists added or removed).
fn db_state() -> Option<(u64, u64, SystemTime, SystemTime)> {
    let status = std::fs::metadata("/var/lib/dpkg/status").ok()?;
    let info = std::fs::metadata("/var/lib/dpkg/info").ok()?;
    Some((
        status.ino(),
        status.len(),
        status.modified().ok()?,
        info.modified().ok()?,
    ))
}

/// Runs `f` until the host's dpkg database did not change while it ran. On a busy machine
/// another process may install a package between our read and dpkg-query's; the answers
/// would then differ for no fault of either.
fn while_quiet<T>(mut f: impl FnMut() -> Result<T, Skip>) -> Result<T, Skip> {
    for _ in 0..10 {
        let before = db_state();
        let out = f()?;
        if db_state() == before {
            return Ok(out);
        }
        eprintln!("the dpkg database changed while it was read: again");
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    panic!("the host's dpkg database kept changing for 10 attempts")
}

/// Every package `dpkg-query -W` lists is ours, in every state but `config-files` (which is
/// in `not_installed`), with the same version, architecture and source.
#[test]
fn installed_set_equals_dpkg_query() {
    or_skip!(host_dpkg());
    let admindir = Path::new("/var/lib/dpkg");
    let root = Root::host().expect("host root");
    let (rows, inv) = or_skip!(while_quiet(|| {
        let rows = match dpkg_query_list(admindir)? {
            Verdict::Listed { rows, .. } => rows,
            Verdict::Refused(why) => panic!("dpkg-query refuses the host's database: {why}"),
        };
        Ok((rows, Inventory::load(&root)))
    }));
    let want: BTreeSet<[String; 5]> = rows
        .iter()
        .filter(|r| r.status != "config-files")
        .map(|r| {
            [
                &r.name,
                &r.arch,
                &r.version,
                &r.source_name,
                &r.source_version,
            ]
            .map(Clone::clone)
        })
        .collect();
    let got: BTreeSet<[String; 5]> = inv
        .packages
        .iter()
        .filter(|p| p.manager == Manager::Dpkg)
        .map(|p| {
            [
                &p.name,
                &p.arch,
                &p.version,
                &p.source_name,
                &p.source_version,
            ]
            .map(Clone::clone)
        })
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    assert!(!want.is_empty());
    let rc: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.status == "config-files")
        .map(|r| r.name.as_str())
        .collect();
    let not: BTreeSet<&str> = inv
        .not_installed
        .iter()
        .filter(|n| n.status.ends_with(" config-files"))
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(not, rc, "config-files packages");
    assert!(
        inv.problems.is_empty(),
        "problems on the host: {:?}",
        inv.problems
    );
    let eco = inv.distro.as_ref().and_then(|d| d.ecosystem.clone());
    for p in &inv.packages {
        assert_eq!(p.ecosystem, eco);
        assert!(p.purl.starts_with("pkg:deb/"), "{}", p.purl);
    }
    eprintln!("compared {} installed packages with dpkg-query", want.len());
}

/// Every regular ELF file below `dir` (symlinks not followed), found through the root.
fn elf_files(root: &Root, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = root.read_dir(dir) else {
        return;
    };
    for (name, kind) in entries {
        let path = dir.join(&name);
        match kind {
            FileKind::Dir => elf_files(root, &path, out),
            FileKind::File => {
                let mut magic = [0u8; 4];
                if let Ok((mut f, _)) = root.open_file(&path)
                    && f.read_exact(&mut magic).is_ok()
                    && magic == *b"\x7fELF"
                {
                    out.push(path);
                }
            }
            _ => {}
        }
    }
}

/// The other merged-/usr spelling of a real `/usr/...` path, when the root's top-level
/// directory is a symlink into `/usr`.
fn other_spelling(root: &Root, path: &Path) -> Option<PathBuf> {
    let rest = path.strip_prefix("/usr").ok()?;
    let top = rest.components().next()?;
    let alias = Path::new("/").join(top);
    (root.canonicalize(&alias).ok()? != alias).then(|| Path::new("/").join(rest))
}

#[test]
fn owner_of_every_elf_under_usr_equals_dpkg_s() {
    or_skip!(host_dpkg());
    let root = Root::host().expect("host root");
    let t = std::time::Instant::now();
    // Ours and dpkg's answers are taken while the database stands still (see `while_quiet`).
    let (inv, index, spellings, dpkg) = or_skip!(while_quiet(|| {
        let (inv, index) = Inventory::load_with_owners(&root);
        let mut elves = Vec::new();
        elf_files(&root, Path::new("/usr"), &mut elves);
        let spellings: Vec<(PathBuf, Option<PathBuf>)> = elves
            .iter()
            .map(|p| (p.clone(), other_spelling(&root, p)))
            .collect();
        let mut asked: Vec<&Path> = Vec::new();
        for (p, alt) in &spellings {
            asked.push(p);
            if let Some(a) = alt {
                asked.push(a);
            }
        }
        let patterns: Vec<String> = asked
            .iter()
            .map(|p| dpkg_literal(p.to_str().expect("utf-8 path")))
            .collect();
        let dpkg = dpkg_query_search(Path::new("/var/lib/dpkg"), &patterns)?;
        Ok((inv, index, spellings, dpkg))
    }));
    eprintln!(
        "inventory + index: {} packages, {} paths in {:?}",
        inv.packages.len(),
        index.len(),
        t.elapsed()
    );
    assert!(
        spellings.len() > 100,
        "only {} ELF files under /usr",
        spellings.len()
    );
    let diversions = inuse_pkgdb::dpkg::parse_diversions(
        &std::fs::read("/var/lib/dpkg/diversions").unwrap_or_default(),
    );
    let empty = BTreeSet::new();
    let listed = |p: &Path| {
        p.to_str()
            .and_then(|p| dpkg.get(p))
            .unwrap_or(&empty)
            .clone()
    };

    let mut mismatches: BTreeMap<PathBuf, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut owned = 0usize;
    for (path, alt) in &spellings {
        let mut want = listed(path);
        if let Some(a) = alt {
            want.extend(listed(a));
        }
        // dpkg -S answers for the listed name; the file under a diverted name belongs to the
        // package that was diverted, the original name to the diverting one.
        for d in &diversions {
            let (from, to) = (
                Path::new(std::str::from_utf8(&d.from).unwrap_or("")),
                Path::new(std::str::from_utf8(&d.to).unwrap_or("")),
            );
            let same = |x: &Path| x == path || Some(x) == alt.as_deref();
            if same(to) {
                want = listed(from);
                want.retain(|p| Some(p.as_str()) != d.by.as_deref());
            } else if same(from) {
                want.retain(|p| Some(p.as_str()) == d.by.as_deref());
            }
        }
        let got: BTreeSet<String> = index
            .owners_of_real(path)
            .iter()
            .map(|&id| inv.packages[id.index()].name.clone())
            .collect();
        if !want.is_empty() {
            owned += 1;
        }
        // The alias spelling must lead to the same owners through the root's symlinks.
        if let Some(a) = alt {
            let via_alias: BTreeSet<String> = index
                .owners(a)
                .iter()
                .map(|&id| inv.packages[id.index()].name.clone())
                .collect();
            assert_eq!(via_alias, got, "{} vs {}", a.display(), path.display());
        }
        if got != want {
            mismatches.insert(path.clone(), (got, want));
        }
    }
    eprintln!(
        "compared owners of {} ELF files under /usr ({} owned, {} unowned) with dpkg-query -S",
        spellings.len(),
        owned,
        spellings.len() - owned
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches (path: (ours, dpkg's)): {:#?}",
        mismatches.len(),
        mismatches.iter().take(20).collect::<Vec<_>>()
    );
}
