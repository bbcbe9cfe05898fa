//! The probe targets of one ELF file: its defined functions, one per entry address.
//!
//! A uprobe is placed at a file offset, so every function needs one: its symbol value is a
//! link-time virtual address, converted through the `PT_LOAD` segment that maps it
//! ([`inuse_elf::ElfFile::file_offset`]). Functions come from `.dynsym` (what the library
//! exports, present even in stripped files) and `.symtab` when it survived stripping (static
//! and hidden functions too). Only `STT_FUNC` and `STT_GNU_IFUNC` with a non-zero size and a
//! defining section count: an undefined symbol is an import, and a zero-sized one is a label,
//! not a function.
//!
//! Several symbols often name one address (aliases such as `crc32` / `crc32_z` in some
//! builds, versioned duplicates, a `.symtab` copy of an exported name); one probe serves them
//! all, so functions are deduplicated by address, the most public name becomes the function's
//! name and the others its aliases.
//!
//! Pitfalls: for an IFUNC the symbol value is the *resolver*, which runs at load time during
//! relocation, so an IFUNC reports "entered" as soon as any process loads the library; the
//! implementation it picks is a separate (often local) function, visible only through
//! `.symtab`. Inlined functions and static functions of stripped files have no symbol and are
//! invisible.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use inuse_elf::{Binding, ElfFile, Limits, Symbol};

use crate::TraceError;

/// One function: a probe target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its name: the most public symbol at this address (`name@VERSION` for a non-default
    /// symbol version).
    pub name: String,
    /// Other symbol names at the same address.
    pub aliases: Vec<String>,
    /// Link-time virtual address (`st_value`).
    pub vaddr: u64,
    /// Offset in the file, where the probe goes.
    pub offset: u64,
    /// Size in bytes (the largest of the symbols at this address).
    pub size: u64,
}

/// The functions of one library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryFunctions {
    /// The path probes are placed on.
    pub path: PathBuf,
    /// Its functions, by address.
    pub functions: Vec<Function>,
    /// Whether a `.symtab` contributed (an unstripped file).
    pub symtab: bool,
    /// Function symbols whose address no `PT_LOAD` segment maps from the file (malformed or
    /// exotic files); they cannot be probed and are not counted in `functions`.
    pub unmapped: usize,
}

impl LibraryFunctions {
    /// Reads the functions of the ELF file at `path`. Only the headers and symbol tables are
    /// read, through a cache, not the whole file.
    pub fn read(path: &Path, limits: &Limits) -> Result<LibraryFunctions, TraceError> {
        let file = std::fs::File::open(path)
            .map_err(|e| TraceError::io(format!("cannot open {}", path.display()), e))?;
        let cache = object::ReadCache::new(file);
        let elf_error = |error| TraceError::Elf {
            path: path.to_owned(),
            error,
        };
        let elf = ElfFile::parse(&cache, limits).map_err(elf_error)?;
        let dynamic = elf.dynamic_symbols().map_err(elf_error)?;
        let symtab = elf.symtab_functions().map_err(elf_error)?;
        let has_symtab = symtab.is_some();
        let (functions, unmapped) = collect(&dynamic, symtab.as_deref().unwrap_or(&[]), |v| {
            elf.file_offset(v)
        });
        Ok(LibraryFunctions {
            path: path.to_owned(),
            functions,
            symtab: has_symtab,
            unmapped,
        })
    }
}

/// Whether a symbol is a function this file defines.
fn is_defined_function(s: &Symbol) -> bool {
    s.kind.is_code() && s.defined && s.size > 0
}

/// The name a symbol is shown under: a non-default version is part of the name, since
/// `memcpy@GLIBC_2.2.5` and `memcpy` are different functions at different addresses.
fn display_name(s: &Symbol) -> String {
    let name = String::from_utf8_lossy(&s.name);
    match &s.version {
        Some(v) if v.hidden && v.library.is_none() => {
            format!("{name}@{}", String::from_utf8_lossy(&v.name))
        }
        _ => name.into_owned(),
    }
}

/// Which name of an address to prefer: exported before `.symtab`-only, global before weak
/// before local, a default version before a hidden one, then fewer leading underscores (the
/// public spelling), then the shorter, then alphabetical, so the choice is stable.
fn rank(s: &Symbol, from_dynsym: bool, name: &str) -> (u8, u8, u8, usize, usize, String) {
    let binding = match s.binding {
        Binding::Global | Binding::Unique => 0,
        Binding::Weak => 1,
        _ => 2,
    };
    let hidden = u8::from(s.version.as_ref().is_some_and(|v| v.hidden));
    let underscores = name.bytes().take_while(|&b| b == b'_').count();
    (
        u8::from(!from_dynsym),
        binding,
        hidden,
        underscores,
        name.len(),
        name.to_owned(),
    )
}

/// Deduplicates the defined functions of both tables by address and converts each address to
/// a file offset with `offset_of`. Returns the functions in address order and the number of
/// addresses that have no file offset.
pub fn collect(
    dynamic: &[Symbol],
    symtab: &[Symbol],
    offset_of: impl Fn(u64) -> Option<u64>,
) -> (Vec<Function>, usize) {
    type Ranked = (u8, u8, u8, usize, usize, String);
    let mut by_address: BTreeMap<u64, (Vec<Ranked>, u64)> = BTreeMap::new();
    let tagged = dynamic
        .iter()
        .map(|s| (s, true))
        .chain(symtab.iter().map(|s| (s, false)));
    for (s, from_dynsym) in tagged {
        if !is_defined_function(s) {
            continue;
        }
        let name = display_name(s);
        let entry = by_address.entry(s.value).or_default();
        entry.0.push(rank(s, from_dynsym, &name));
        entry.1 = entry.1.max(s.size);
    }
    let mut functions = Vec::with_capacity(by_address.len());
    let mut unmapped = 0;
    for (vaddr, (mut names, size)) in by_address {
        let Some(offset) = offset_of(vaddr) else {
            unmapped += 1;
            continue;
        };
        names.sort();
        let mut names: Vec<String> = names.into_iter().map(|r| r.5).collect();
        // The same name from both tables, or twice with different bindings: keep one.
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        let name = names.remove(0);
        functions.push(Function {
            name,
            aliases: names,
            vaddr,
            offset,
            size,
        });
    }
    (functions, unmapped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use inuse_elf::{SymbolKind, Version};

    use super::*;

    fn sym(name: &str, value: u64, size: u64, kind: SymbolKind, binding: Binding) -> Symbol {
        Symbol {
            name: name.as_bytes().to_vec(),
            value,
            size,
            kind,
            binding,
            defined: true,
            version: None,
        }
    }

    #[test]
    fn dedupes_by_address_and_prefers_the_public_name() {
        let dynamic = vec![
            sym("__crc32_impl", 0x100, 7, SymbolKind::Func, Binding::Global),
            sym("crc32", 0x100, 7, SymbolKind::Func, Binding::Global),
            sym("deflate", 0x200, 70, SymbolKind::Func, Binding::Global),
            sym("resolver", 0x300, 9, SymbolKind::Ifunc, Binding::Global),
            // Not functions, not defined, or labels: ignored.
            sym("table", 0x400, 64, SymbolKind::Object, Binding::Global),
            sym("label", 0x500, 0, SymbolKind::Func, Binding::Global),
            Symbol {
                defined: false,
                ..sym("malloc", 0, 0, SymbolKind::Func, Binding::Global)
            },
        ];
        let symtab = vec![
            sym("crc32", 0x100, 7, SymbolKind::Func, Binding::Global),
            sym("local_helper", 0x600, 5, SymbolKind::Func, Binding::Local),
            sym("deflate_alias", 0x200, 80, SymbolKind::Func, Binding::Weak),
        ];
        let (functions, unmapped) = collect(&dynamic, &symtab, |v| Some(v + 0x1000));
        assert_eq!(unmapped, 0);
        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["crc32", "deflate", "resolver", "local_helper"]);
        assert_eq!(functions[0].aliases, ["__crc32_impl"]);
        assert_eq!(functions[1].aliases, ["deflate_alias"]);
        assert_eq!((functions[1].offset, functions[1].size), (0x1200, 80));
    }

    #[test]
    fn hidden_versions_are_part_of_the_name_and_unmapped_addresses_are_counted() {
        let mut old = sym("memcpy", 0x100, 10, SymbolKind::Func, Binding::Global);
        old.version = Some(Version {
            name: b"GLIBC_2.2.5".to_vec(),
            hidden: true,
            library: None,
        });
        let new = sym("memcpy", 0x200, 10, SymbolKind::Ifunc, Binding::Global);
        let (functions, unmapped) = collect(&[old, new], &[], |v| (v == 0x100).then_some(v));
        assert_eq!(unmapped, 1);
        assert_eq!(functions.len(), 1);
        assert_eq!(functions[0].name, "memcpy@GLIBC_2.2.5");
    }
}
