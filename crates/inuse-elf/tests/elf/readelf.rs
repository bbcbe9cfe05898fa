//! `readelf` (GNU binutils) as the oracle: it decodes every ELF structure without executing the
//! file, independently of `object` and of this crate. These functions parse its `-W` output.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Runs `readelf -W <args> <path>` and returns its standard output.
pub fn run(args: &[&str], path: &Path) -> String {
    let out = Command::new("readelf")
        .arg("-W")
        .args(args)
        .arg(path)
        .output()
        .expect("run readelf");
    assert!(
        out.status.success(),
        "readelf {args:?} {} failed",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One line of a symbol table listing.
#[derive(Debug, Clone)]
pub struct Sym {
    pub value: u64,
    pub size: u64,
    pub kind: String,
    pub bind: String,
    /// `UND`, `ABS` or a section index.
    pub ndx: String,
    pub name: String,
    pub version: Option<SymVersion>,
}

impl Sym {
    /// The name as printed, version included: in `.symtab` the version is part of the name.
    pub fn printed_name(&self) -> String {
        match &self.version {
            None => self.name.clone(),
            Some(v) => format!(
                "{}@{}{}",
                self.name,
                if v.default { "@" } else { "" },
                v.name
            ),
        }
    }
}

/// The version part of a symbol name: `name@@VER`, `name@VER`, `name@VER (N)`.
#[derive(Debug, Clone)]
pub struct SymVersion {
    pub name: String,
    /// `@@`: the default version of a definition.
    pub default: bool,
    /// The version index readelf prints for references, `(N)`.
    pub index: Option<u16>,
}

/// A symbol table listed by `--dyn-syms` or `-s`: its announced entry count and its entries.
pub struct SymbolTable {
    pub count: usize,
    pub symbols: Vec<Sym>,
}

/// The symbol tables in a `--dyn-syms` or `-s` listing, by section name (`.dynsym`, `.symtab`).
pub fn symbol_tables(args: &[&str], path: &Path) -> HashMap<String, SymbolTable> {
    let mut tables = HashMap::new();
    let mut current: Option<(String, SymbolTable)> = None;
    for line in run(args, path).lines() {
        if let Some(rest) = line.strip_prefix("Symbol table '") {
            let (name, rest) = rest.split_once('\'').expect("table name");
            let count = rest
                .split_whitespace()
                .find_map(|w| w.parse().ok())
                .expect("entry count");
            if let Some((name, table)) = current.take() {
                tables.insert(name, table);
            }
            current = Some((
                name.to_owned(),
                SymbolTable {
                    count,
                    symbols: Vec::new(),
                },
            ));
        } else if let Some((_, table)) = current.as_mut() {
            if let Some(sym) = parse_symbol(line) {
                table.symbols.push(sym);
            }
        }
    }
    if let Some((name, table)) = current {
        tables.insert(name, table);
    }
    tables
}

fn parse_symbol(line: &str) -> Option<Sym> {
    let mut tokens = line.split_whitespace().peekable();
    tokens.next()?.strip_suffix(':')?.parse::<usize>().ok()?;
    let value = u64::from_str_radix(tokens.next()?, 16).ok()?;
    let size = tokens.next()?;
    let size = match size.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => size.parse().ok()?,
    };
    let kind = tokens.next()?.to_owned();
    let bind = tokens.next()?.to_owned();
    let _visibility = tokens.next()?;
    // st_other extras such as `[VARIANT_PCS]` or `[<other>: 88]`.
    if tokens.peek().is_some_and(|t| t.starts_with('[')) {
        for t in tokens.by_ref() {
            if t.ends_with(']') {
                break;
            }
        }
    }
    let ndx = tokens.next()?.to_owned();
    let full = tokens.next().unwrap_or("");
    let index = tokens
        .next()
        .and_then(|t| t.strip_prefix('(')?.strip_suffix(')')?.parse().ok());
    let (name, version) = match full.split_once('@') {
        None => (full.to_owned(), None),
        Some((name, version)) => {
            let (version, default) = match version.strip_prefix('@') {
                Some(v) => (v, true),
                None => (version, false),
            };
            let version = SymVersion {
                name: version.to_owned(),
                default,
                index,
            };
            (name.to_owned(), Some(version))
        }
    };
    Some(Sym {
        value,
        size,
        kind,
        bind,
        ndx,
        name,
        version,
    })
}

/// Version requirements from `-V`: version index -> (version name, library).
pub fn version_needs(path: &Path) -> HashMap<u16, (String, String)> {
    let mut needs = HashMap::new();
    let mut in_needs = false;
    let mut file = String::new();
    for line in run(&["-V"], path).lines() {
        if line.starts_with("Version needs section") {
            in_needs = true;
        } else if line.starts_with("Version") {
            in_needs = false;
        } else if in_needs {
            if let Some((_, rest)) = line.split_once("File: ") {
                file = rest.split_whitespace().next().unwrap_or("").to_owned();
            } else if let Some((_, rest)) = line.split_once("Name: ") {
                let name = rest.split_whitespace().next().unwrap_or("").to_owned();
                let index = rest
                    .split_once("Version: ")
                    .and_then(|(_, v)| v.trim().parse().ok())
                    .expect("version index");
                needs.insert(index, (name, file.clone()));
            }
        }
    }
    needs
}

/// The dynamic section from `-d`: tag name (`INIT_ARRAY`) -> value, first occurrence.
pub fn dynamic(path: &Path) -> HashMap<String, u64> {
    let mut tags = HashMap::new();
    for line in run(&["-d"], path).lines() {
        let Some((_, rest)) = line.split_once(" (") else {
            continue;
        };
        let Some((tag, value)) = rest.split_once(')') else {
            continue;
        };
        let Some(value) = value.split_whitespace().next() else {
            continue;
        };
        let value = match value.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => value.parse().ok(),
        };
        if let Some(value) = value {
            tags.entry(tag.to_owned()).or_insert(value);
        }
    }
    tags
}

/// Relocations of type `r_type` from `-r`: (offset, addend), for relocations without a symbol.
pub fn relocations(path: &Path, r_type: &str) -> Vec<(u64, u64)> {
    run(&["-r"], path)
        .lines()
        .filter_map(|line| {
            let mut tokens = line.split_whitespace();
            let offset = u64::from_str_radix(tokens.next()?, 16).ok()?;
            let _info = tokens.next()?;
            if tokens.next()? != r_type {
                return None;
            }
            let addend = u64::from_str_radix(tokens.next()?, 16).ok()?;
            Some((offset, addend))
        })
        .collect()
}

/// The notes from `-n`: the build ID (hex), the ABI tag text and the package metadata.
#[derive(Debug, Default)]
pub struct Notes {
    pub build_id: Option<String>,
    /// `Linux, ABI: 3.2.0`.
    pub abi_tag: Option<String>,
    pub package: Option<String>,
}

pub fn notes(path: &Path) -> Notes {
    let mut notes = Notes::default();
    for line in run(&["-n"], path).lines() {
        // With -W, the decoded value follows the note's header on the same line.
        if let Some((_, id)) = line.split_once("Build ID: ") {
            notes.build_id.get_or_insert_with(|| id.trim().to_owned());
        } else if let Some((_, os)) = line.split_once("OS: ") {
            notes.abi_tag.get_or_insert_with(|| os.trim().to_owned());
        } else if let Some((_, json)) = line.split_once("Packaging Metadata: ") {
            notes.package.get_or_insert_with(|| json.to_owned());
        }
    }
    notes
}
