//! Symbols, versions, init windows and notes compared with `readelf` on gcc-built fixtures
//! (IFUNCs, constructors, a version script, every hash style, RELR) and on the host's own
//! libraries.

use std::path::{Path, PathBuf};

use inuse_elf::{Binding, ElfFile, ElfInfo, InitInfo, Limits, Notes, Symbol, SymbolKind};

use crate::readelf;
use inuse_testkit::{Skip, or_skip};

use crate::support::{Gcc, have_tool, host_samples, testdata};

const LIBRARY: &str = r#"
#include <stdio.h>

static int impl_a(void) { return 1; }
static int impl_b(void) { return 2; }
static int (*resolve_f(void))(void) { return impl_a; }
static int (*resolve_local(void))(void) { return impl_b; }
int f(void) __attribute__((ifunc("resolve_f")));
static int local_ifunc(void) __attribute__((ifunc("resolve_local")));
int call_local(void) { return local_ifunc(); }

volatile int counter;
__attribute__((constructor)) static void ctor(void) { counter = 42; }
__attribute__((destructor)) static void dtor(void) { counter = 0; }

int old_g(void) { return 1; }
int new_g(void) { return 2; }
__asm__(".symver old_g,g@V1");
__asm__(".symver new_g,g@@V2");

int h(void) { return puts("x"); }
__thread int tls_var = 3;
int data_var = 5;
"#;

const VERSION_SCRIPT: &str = "
V1 { global: f; g; h; call_local; tls_var; data_var; local: *; };
V2 { global: g; } V1;
";

const PROGRAM: &str = r#"
extern int f(void);
extern int g(void);
extern int h(void);
static void early(void) {}
__attribute__((section(".preinit_array"), used)) static void (*preinit)(void) = early;
int main(void) { return f() + g() + h(); }
"#;

const PACKAGE_NOTE: &str = r#"{"type":"deb","name":"inuse-test","version":"1.0-1"}"#;

/// The fixtures: the library with each hash style and with RELR, and programs using it.
struct Fixtures {
    gcc: Gcc,
    /// The library as the distribution's gcc makes it (`DT_GNU_HASH` only, here).
    library: PathBuf,
    /// Every variant, the default one first.
    libraries: Vec<PathBuf>,
    pie: PathBuf,
    no_pie: PathBuf,
}

fn fixtures() -> Result<Fixtures, Skip> {
    let gcc = Gcc::new()?;
    gcc.write("lib.c", LIBRARY);
    gcc.write("lib.map", VERSION_SCRIPT);
    gcc.write("main.c", PROGRAM);
    let package = format!("--package-metadata={PACKAGE_NOTE}");
    let common = [
        "-shared",
        "-fPIC",
        "-O1",
        "lib.c",
        "-Wl,--version-script=lib.map",
        "-Wl,--build-id=sha1",
        "-Xlinker",
        &package,
    ];
    let variant = |name: &str, extra: &[&str]| {
        let args: Vec<&str> = common
            .iter()
            .copied()
            .chain(extra.iter().copied())
            .collect();
        gcc.build(name, &args)
    };
    let library = variant("libt.so", &[]);
    let libraries = vec![
        library.clone(),
        variant("libt-sysv.so", &["-Wl,--hash-style=sysv"]),
        variant("libt-both.so", &["-Wl,--hash-style=both"]),
        variant("libt-relr.so", &["-Wl,-z,pack-relative-relocs"]),
    ];
    let program = |name: &str, extra: &str| {
        gcc.build(
            name,
            &["main.c", extra, "-L.", "-l:libt.so", "-Wl,--build-id=sha1"],
        )
    };
    let pie = program("app", "-pie");
    let no_pie = program("app-nopie", "-no-pie");
    Ok(Fixtures {
        gcc,
        library,
        libraries,
        pie,
        no_pie,
    })
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn dynamic_symbols(path: &Path) -> Vec<Symbol> {
    let data = read(path);
    let elf = ElfFile::parse(&*data, &Limits::default()).expect("parse");
    elf.dynamic_symbols()
        .unwrap_or_else(|e| panic!("{}: dynamic symbols: {e}", path.display()))
}

fn kind_name(kind: SymbolKind) -> String {
    match kind {
        SymbolKind::Func => "FUNC".into(),
        SymbolKind::Ifunc => "IFUNC".into(),
        SymbolKind::Object => "OBJECT".into(),
        SymbolKind::Tls => "TLS".into(),
        SymbolKind::Other(0) => "NOTYPE".into(),
        SymbolKind::Other(3) => "SECTION".into(),
        SymbolKind::Other(4) => "FILE".into(),
        SymbolKind::Other(5) => "COMMON".into(),
        SymbolKind::Other(n) => format!("<{n}>"),
    }
}

fn bind_name(binding: Binding) -> String {
    match binding {
        Binding::Global => "GLOBAL".into(),
        Binding::Weak => "WEAK".into(),
        Binding::Local => "LOCAL".into(),
        Binding::Unique => "UNIQUE".into(),
        Binding::Other(n) => format!("<{n}>"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Compares every dynamic symbol of `path` with `readelf --dyn-syms` and `readelf -V`:
/// count, name, value, size, type, binding, defined or not, version name, default or hidden,
/// and the library a required version comes from. Returns the number of symbols compared and
/// the mismatches.
fn compare_dynamic_symbols(path: &Path) -> (usize, Vec<String>) {
    let ours = dynamic_symbols(path);
    let mut tables = readelf::symbol_tables(&["--dyn-syms"], path);
    let Some(theirs) = tables.remove(".dynsym") else {
        return (
            0,
            vec![format!("{}: readelf lists no .dynsym", path.display())],
        );
    };
    let needs = readelf::version_needs(path);
    let mut problems = Vec::new();
    let mut problem = |what: String| problems.push(format!("{}: {what}", path.display()));
    if ours.len() + 1 != theirs.count {
        problem(format!(
            "{} symbols, readelf says {} entries",
            ours.len() + 1,
            theirs.count
        ));
    }
    for (index, (o, t)) in ours.iter().zip(theirs.symbols.iter().skip(1)).enumerate() {
        let name = text(&o.name);
        let at = format!("symbol {} {name}", index + 1);
        if name != t.name {
            problem(format!("{at}: readelf name {}", t.name));
        }
        if (o.value, o.size) != (t.value, t.size) {
            problem(format!(
                "{at}: value/size {:#x}/{} vs {:#x}/{}",
                o.value, o.size, t.value, t.size
            ));
        }
        if kind_name(o.kind) != t.kind || bind_name(o.binding) != t.bind {
            problem(format!(
                "{at}: {:?} {:?} vs {} {}",
                o.kind, o.binding, t.kind, t.bind
            ));
        }
        if o.defined != (t.ndx != "UND") {
            problem(format!("{at}: defined {} vs Ndx {}", o.defined, t.ndx));
        }
        match (&o.version, &t.version) {
            (None, None) => {}
            // readelf does not print the version of the symbol that names a version
            // definition (`GLIBC_2.34`, absolute, value 0).
            (Some(v), None) if v.name == o.name && t.ndx == "ABS" => {}
            (Some(v), Some(tv)) => {
                if text(&v.name) != tv.name {
                    problem(format!("{at}: version {} vs {}", text(&v.name), tv.name));
                }
                // readelf prints `(N)` for versions required from a dependency: imports,
                // and definitions made by copy relocations in executables (`stdout`).
                match tv.index {
                    None if v.library.is_some() => {
                        problem(format!("{at}: library {:?}, readelf none", v.library));
                    }
                    None if v.hidden == tv.default => {
                        problem(format!(
                            "{at}: hidden {} vs readelf @@ {}",
                            v.hidden, tv.default
                        ));
                    }
                    None => {}
                    Some(index) => {
                        let needed = needs.get(&index).map(|(_, file)| file.as_str());
                        if v.library.as_deref().map(text).as_deref() != needed {
                            problem(format!("{at}: library {:?} vs {needed:?}", v.library));
                        }
                    }
                }
            }
            (o, t) => problem(format!("{at}: version {o:?} vs readelf {t:?}")),
        }
    }
    (ours.len(), problems)
}

/// Runs [`compare_dynamic_symbols`] over `paths`, printing a summary; panics on mismatches.
fn assert_symbols_match(paths: &[PathBuf]) {
    let mut problems = Vec::new();
    let mut total = 0;
    for path in paths {
        let (count, found) = compare_dynamic_symbols(path);
        let defined = dynamic_symbols(path).iter().filter(|s| s.defined).count();
        eprintln!(
            "compared {count:6} dynamic symbols ({defined} defined) of {}",
            path.display()
        );
        total += count;
        problems.extend(found);
    }
    assert!(total > 0, "no symbols compared");
    assert!(
        problems.is_empty(),
        "{} mismatches with readelf, first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn find<'a>(symbols: &'a [Symbol], name: &str, version: &str) -> &'a Symbol {
    symbols
        .iter()
        .find(|s| {
            s.name == name.as_bytes()
                && s.version
                    .as_ref()
                    .is_some_and(|v| v.name == version.as_bytes())
        })
        .unwrap_or_else(|| panic!("no symbol {name}@{version}"))
}

#[test]
fn fixture_symbols_match_readelf() {
    let fx = or_skip!(fixtures());
    let mut all = fx.libraries.clone();
    all.extend([fx.pie.clone(), fx.no_pie.clone()]);
    assert_symbols_match(&all);

    // And what the fixture was written to contain, so that a wrong oracle cannot pass.
    let symbols = dynamic_symbols(&fx.library);
    let f = find(&symbols, "f", "V1");
    assert_eq!((f.kind, f.defined), (SymbolKind::Ifunc, true));
    let old = find(&symbols, "g", "V1").version.clone().expect("version");
    let new = find(&symbols, "g", "V2").version.clone().expect("version");
    assert!(
        old.hidden && !new.hidden,
        "g@V1 is hidden, g@@V2 the default"
    );
    assert_eq!(find(&symbols, "tls_var", "V1").kind, SymbolKind::Tls);
    let puts = find(&symbols, "puts", "GLIBC_2.2.5");
    assert!(!puts.defined);
    assert_eq!(
        puts.version.as_ref().and_then(|v| v.library.as_deref()),
        Some(&b"libc.so.6"[..])
    );
    assert!(
        !symbols
            .iter()
            .any(|s| s.name == b"old_g" || s.name == b"counter"),
        "local: *"
    );
}

#[test]
fn host_symbols_match_readelf() {
    or_skip!(have_tool("readelf"));
    let mut paths = host_samples();
    // Big-endian and other-architecture files: readelf decodes every architecture.
    match testdata() {
        Ok(data) => {
            let foreign = data.join("elf/foreign-arch/endianness");
            for arch in ["ppc64", "ppc64le"] {
                paths.extend(["libtest.so", "main"].map(|f| foreign.join(arch).join(f)));
            }
        }
        // The host's files are still checked; only the foreign ones are skipped.
        Err(skip) => skip.context("foreign architectures").report(),
    }
    assert!(!paths.is_empty(), "no host libraries found");
    assert_symbols_match(&paths);
}

/// The `.symtab` value of the function `name`.
fn symtab_address(path: &Path, name: &str) -> u64 {
    let tables = readelf::symbol_tables(&["-s"], path);
    tables
        .get(".symtab")
        .and_then(|t| t.symbols.iter().find(|s| s.name == name))
        .unwrap_or_else(|| panic!("{}: no .symtab symbol {name}", path.display()))
        .value
}

#[test]
fn init_windows_point_at_constructors() {
    let fx = or_skip!(fixtures());
    for path in &fx.libraries {
        let data = read(path);
        let elf = ElfFile::parse(&*data, &Limits::default()).expect("parse");
        let init = elf.init_info().expect("init info");
        let dynamic = readelf::dynamic(path);
        let shown = path.display();
        assert_eq!(init.init, dynamic.get("INIT").copied(), "{shown}: DT_INIT");
        assert_eq!(init.fini, dynamic.get("FINI").copied(), "{shown}: DT_FINI");
        let ctor = symtab_address(path, "ctor");
        let dtor = symtab_address(path, "dtor");
        assert!(
            init.init_array.contains(&ctor),
            "{shown}: {init:x?} lacks ctor {ctor:#x}"
        );
        assert!(
            init.fini_array.contains(&dtor),
            "{shown}: {init:x?} lacks dtor {dtor:#x}"
        );
        assert!(
            !init.init_array.contains(&0),
            "{shown}: unfilled slot in {init:x?}"
        );
        let resolver = symtab_address(path, "resolve_local");
        assert!(
            init.ifunc_resolvers.contains(&resolver),
            "{shown}: {init:x?} lacks {resolver:#x}"
        );
        assert!(init.preinit_array.is_empty());
    }
    for path in [&fx.pie, &fx.no_pie] {
        let data = read(path);
        let elf = ElfFile::parse(&*data, &Limits::default()).expect("parse");
        let init = elf.init_info().expect("init info");
        let early = symtab_address(path, "early");
        assert_eq!(init.preinit_array, [early], "{}", path.display());
        assert!(!init.init_array.is_empty() && !init.init_array.contains(&0));
    }
}

/// GNU ld on x86-64 also writes each relative relocation's addend into the slot; lld and other
/// targets leave zeros there. With the arrays zeroed in the file, the `DT_RELA` addends must
/// still give the same targets.
#[test]
fn rela_addends_fill_zeroed_init_arrays() {
    let fx = or_skip!(fixtures());
    let original = read(&fx.library);
    let mut zeroed = original.clone();
    for name in [".init_array", ".fini_array"] {
        let (_, offset, size) = section(&fx.library, name);
        let range =
            usize::try_from(offset).expect("offset")..usize::try_from(offset + size).expect("end");
        zeroed[range].fill(0);
    }
    let init = |data: &[u8]| {
        ElfFile::parse(data, &Limits::default())
            .and_then(|elf| elf.init_info())
            .expect("init info")
    };
    let expected = init(&original);
    assert!(!expected.init_array.is_empty() && !expected.fini_array.is_empty());
    assert_eq!(init(&zeroed), expected);
}

#[test]
fn host_init_arrays_match_relocations() {
    or_skip!(have_tool("readelf"));
    let mut checked = 0;
    for path in host_samples() {
        let data = read(&path);
        let elf = ElfFile::parse(&*data, &Limits::default()).expect("parse");
        if elf.machine() != object::elf::EM_X86_64 {
            continue;
        }
        let init = elf.init_info().expect("init info");
        let relative = readelf::relocations(&path, "R_X86_64_RELATIVE");
        let dynamic = readelf::dynamic(&path);
        for (array, tag) in [
            (&init.init_array, "INIT_ARRAY"),
            (&init.fini_array, "FINI_ARRAY"),
        ] {
            let Some(&start) = dynamic.get(tag) else {
                continue;
            };
            for (i, &value) in array.iter().enumerate() {
                let slot = start + 8 * i as u64;
                if let Some(&(_, addend)) = relative.iter().find(|&&(offset, _)| offset == slot) {
                    assert_eq!(value, addend, "{} {tag}[{i}]", path.display());
                    checked += 1;
                }
            }
        }
        let mut resolvers: Vec<u64> = readelf::relocations(&path, "R_X86_64_IRELATIVE")
            .into_iter()
            .map(|(_, addend)| addend)
            .collect();
        resolvers.sort_unstable();
        resolvers.dedup();
        assert_eq!(
            init.ifunc_resolvers,
            resolvers,
            "{}: IRELATIVE",
            path.display()
        );
        checked += resolvers.len();
    }
    eprintln!("checked {checked} init/fini slots and IFUNC resolvers against readelf -r");
}

fn assert_notes_match(path: &Path) -> Notes {
    let data = read(path);
    let elf = ElfFile::parse(&*data, &Limits::default()).expect("parse");
    let ours = elf
        .notes()
        .unwrap_or_else(|e| panic!("{}: notes: {e}", path.display()));
    let theirs = readelf::notes(path);
    assert_eq!(
        ours.build_id_hex(),
        theirs.build_id,
        "{}: build ID",
        path.display()
    );
    assert_eq!(
        ours.package_json().map(str::to_owned),
        theirs.package,
        "{}",
        path.display()
    );
    let abi = ours.abi_tag.map(|t| {
        let os = ["Linux", "Hurd", "Solaris", "FreeBSD"]
            .get(t.os as usize)
            .copied()
            .unwrap_or("?");
        let [major, minor, patch] = t.version;
        format!("{os}, ABI: {major}.{minor}.{patch}")
    });
    assert_eq!(abi, theirs.abi_tag, "{}: ABI tag", path.display());
    ours
}

#[test]
fn notes_match_readelf() {
    let fx = or_skip!(fixtures());
    let notes = assert_notes_match(&fx.library);
    assert_eq!(
        notes.build_id.as_ref().map(Vec::len),
        Some(20),
        "--build-id=sha1"
    );
    assert_eq!(notes.package_json(), Some(PACKAGE_NOTE));
    let notes = assert_notes_match(&fx.pie);
    assert!(
        notes.abi_tag.is_some(),
        "glibc's crt1.o carries NT_GNU_ABI_TAG"
    );
    for path in host_samples() {
        assert_notes_match(&path);
    }
}

#[test]
fn symtab_functions_match_readelf() {
    let fx = or_skip!(fixtures());
    for path in [&fx.library, &fx.pie] {
        let data = read(path);
        let elf = ElfFile::parse(&*data, &Limits::default()).expect("parse");
        let ours = elf
            .symtab_functions()
            .expect("symtab")
            .expect("fixture has .symtab");
        let tables = readelf::symbol_tables(&["-s"], path);
        let theirs: Vec<(String, u64, u64)> = tables[".symtab"]
            .symbols
            .iter()
            .filter(|s| (s.kind == "FUNC" || s.kind == "IFUNC") && s.size != 0 && s.ndx != "UND")
            .map(|s| (s.printed_name(), s.value, s.size))
            .collect();
        let ours: Vec<(String, u64, u64)> = ours
            .iter()
            .map(|s| (text(&s.name), s.value, s.size))
            .collect();
        assert_eq!(ours, theirs, "{}", path.display());
        if path == &fx.library {
            let local = ours.iter().any(|(name, ..)| name == "resolve_local");
            assert!(local, "local functions too");
        }

        // File offsets: where readelf says the function's section starts in the file.
        let h = ours
            .iter()
            .find(|(name, ..)| name == "h" || name == "main")
            .expect("h or main");
        let (addr, offset, _) = section(path, ".text");
        assert_eq!(
            elf.file_offset(h.1),
            Some(h.1 - addr + offset),
            "{}",
            path.display()
        );
    }
}

/// A section's address, file offset and size from `readelf -S`.
fn section(path: &Path, name: &str) -> (u64, u64, u64) {
    readelf::run(&["-S"], path)
        .lines()
        .find_map(|line| {
            let (_, rest) = line.split_once(']')?;
            let mut tokens = rest.split_whitespace();
            (tokens.next()? == name).then_some(())?;
            let _type = tokens.next()?;
            let mut hex = || u64::from_str_radix(tokens.next()?, 16).ok();
            Some((hex()?, hex()?, hex()?))
        })
        .unwrap_or_else(|| panic!("{name} in readelf -S {}", path.display()))
}

/// Everything reached through program headers and the dynamic section.
type Facts = (ElfInfo, Vec<Symbol>, InitInfo, Notes);

/// The [`Facts`] of `path`, and whether it has a `.symtab`.
fn dynamic_facts(path: &Path) -> (Facts, bool) {
    let data = read(path);
    let info = ElfInfo::parse(&*data, &Limits::default()).expect("ElfInfo");
    let elf = ElfFile::parse(&*data, &Limits::default()).expect("ElfFile");
    let facts = (
        info,
        elf.dynamic_symbols().expect("symbols"),
        elf.init_info().expect("init"),
        elf.notes().expect("notes"),
    );
    (facts, elf.symtab_functions().expect("symtab").is_some())
}

#[test]
fn stripped_and_sectionless_files_keep_dynamic_facts() {
    let fx = or_skip!(fixtures());
    or_skip!(have_tool("strip"));
    let mut inputs = vec![fx.library.clone(), fx.pie.clone()];
    inputs.extend(crate::support::host_library("libz.so.1"));
    for (i, input) in inputs.iter().enumerate() {
        let stripped = fx.gcc.strip(input, &format!("stripped-{i}"));
        let sectionless = fx
            .gcc
            .without_section_headers(input, &format!("sectionless-{i}"));
        let (original, had_symtab) = dynamic_facts(input);
        let is_fixture = input.starts_with(fx.gcc.dir());
        assert_eq!(had_symtab, is_fixture, "{}: .symtab", input.display());
        for copy in [&stripped, &sectionless] {
            let (facts, has_symtab) = dynamic_facts(copy);
            assert_eq!(facts, original, "{} vs {}", copy.display(), input.display());
            assert!(!has_symtab, "{}: no .symtab left", copy.display());
        }
    }
    // The oracle agrees that the stripped copies still have every dynamic symbol.
    let copies: Vec<PathBuf> = (0..inputs.len())
        .map(|i| fx.gcc.dir().join(format!("stripped-{i}")))
        .collect();
    assert_symbols_match(&copies);
}
