//! The host's dpkg database against the real `dpkg-query`: the installed package set, and the
//! owner of every ELF file under `/usr` in both merged-/usr spellings.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use inuse_pkgdb::{Inventory, Manager};
use inuse_root::{FileKind, Root};

fn have_dpkg() -> bool {
    Path::new("/var/lib/dpkg/status").exists()
        && Command::new("dpkg-query").arg("--version").output().is_ok()
}

/// dpkg's Status is "installed" (the second letter of `db:Status-Abbrev`).
fn installed(status: Option<&str>) -> bool {
    status.is_none_or(|s| s.split_whitespace().nth(2) == Some("installed"))
}

#[test]
fn installed_set_equals_dpkg_query() {
    if !have_dpkg() {
        eprintln!("SKIPPED installed_set_equals_dpkg_query: no dpkg on this host");
        return;
    }
    let out = Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${Package}\t${Architecture}\t${Version}\t${source:Package}\t${source:Version}\t${db:Status-Abbrev}\n",
        ])
        .output()
        .expect("dpkg-query runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let want: BTreeSet<[String; 5]> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 6 && f[5].as_bytes().get(1) == Some(&b'i'))
                .then(|| [f[0], f[1], f[2], f[3], f[4]].map(str::to_owned))
        })
        .collect();
    let root = Root::host().expect("host root");
    let inv = Inventory::load(&root);
    let got: BTreeSet<[String; 5]> = inv
        .packages
        .iter()
        .filter(|p| p.manager == Manager::Dpkg && installed(p.status.as_deref()))
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

/// `dpkg-query -S` for many exact paths: path -> owning package names (arch qualifiers
/// dropped); diversion lines are returned apart as (from, to, by).
fn dpkg_owners(paths: &[&Path]) -> HashMap<PathBuf, BTreeSet<String>> {
    let mut owners: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    for chunk in paths.chunks(2000) {
        let args: Vec<String> = chunk
            .iter()
            .map(|p| {
                let s = p.to_str().expect("utf-8 path");
                let mut e = String::new();
                for c in s.chars() {
                    if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                        e.push('\\');
                    }
                    e.push(c);
                }
                e
            })
            .collect();
        let out = Command::new("dpkg-query")
            .arg("-S")
            .args(&args)
            .output()
            .expect("dpkg-query -S runs");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.starts_with("diversion by ") {
                continue;
            }
            let Some((pkgs, path)) = line.split_once(": ") else {
                continue;
            };
            let set = owners.entry(PathBuf::from(path)).or_default();
            for p in pkgs.split(", ") {
                set.insert(p.split(':').next().unwrap_or(p).to_owned());
            }
        }
    }
    owners
}

#[test]
fn owner_of_every_elf_under_usr_equals_dpkg_s() {
    if !have_dpkg() {
        eprintln!("SKIPPED owner_of_every_elf_under_usr_equals_dpkg_s: no dpkg on this host");
        return;
    }
    let root = Root::host().expect("host root");
    let t = std::time::Instant::now();
    let (inv, index) = Inventory::load_with_owners(&root);
    eprintln!(
        "inventory + index: {} packages, {} paths in {:?}",
        inv.packages.len(),
        index.len(),
        t.elapsed()
    );
    let mut elves = Vec::new();
    elf_files(&root, Path::new("/usr"), &mut elves);
    assert!(
        elves.len() > 100,
        "only {} ELF files under /usr",
        elves.len()
    );

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
    let dpkg = dpkg_owners(&asked);
    let diversions = inuse_pkgdb::dpkg::parse_diversions(
        &std::fs::read("/var/lib/dpkg/diversions").unwrap_or_default(),
    );
    let empty = BTreeSet::new();
    let listed = |p: &Path| dpkg.get(p).unwrap_or(&empty).clone();

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
