//! Dynamic symbols and their versions, found the loader's way; `.symtab` functions as an extra.
//!
//! The dynamic symbols say what a library exports and what it imports, at which version: the
//! vocabulary for matching a vulnerable function to the libraries that define or call it.
//!
//! The loader has no section headers, so neither does this module. `DT_SYMTAB` gives the
//! table's address but not its length; the length comes from the hash table the loader uses to
//! look symbols up. `DT_HASH` states it (`nchain`). `DT_GNU_HASH` implies it: symbols below
//! `symoffset` are not hashed, every other symbol sits in exactly one bucket's chain, and a
//! chain ends at the entry whose low bit is set, so the table ends with the chain of the highest
//! bucket. A file with neither (no linker makes one with exports) is assumed to end its table
//! where `DT_STRTAB` starts, which is where GNU ld and lld put the string table.
//!
//! `.symtab`, when the section headers and the section survived stripping, adds the local and
//! hidden functions that uprobes need ([`ElfFile::symtab_functions`]); uprobes attach at file
//! offsets, which [`ElfFile::file_offset`] computes.

use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::{Endian, Endianness, ReadRef, U32, U64, elf};

use crate::file::{ElfFile, StrTab};
use crate::version::VersionTable;
use crate::{Class, ElfError};

/// One entry of a symbol table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The name, without a version suffix.
    pub name: Vec<u8>,
    /// `st_value`: for a defined function or object, its link-time virtual address (add the
    /// load base for a runtime address); for an IFUNC, the address of its resolver.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// What the symbol names.
    pub kind: SymbolKind,
    /// Its binding.
    pub binding: Binding,
    /// Whether this file defines the symbol (`st_shndx` is not `SHN_UNDEF`), rather than
    /// importing it.
    pub defined: bool,
    /// Its GNU symbol version, if versioned.
    pub version: Option<Version>,
}

/// `STT_*`: what a symbol names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// `STT_FUNC`: code.
    Func,
    /// `STT_GNU_IFUNC`: code chosen at load time by a resolver function.
    Ifunc,
    /// `STT_OBJECT`: data.
    Object,
    /// `STT_TLS`: a thread-local variable.
    Tls,
    /// Any other type (`STT_NOTYPE`, `STT_SECTION`, `STT_COMMON`, ...), raw.
    Other(u8),
}

/// `STB_*`: a symbol's binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binding {
    /// `STB_GLOBAL`.
    Global,
    /// `STB_WEAK`.
    Weak,
    /// `STB_LOCAL`.
    Local,
    /// `STB_GNU_UNIQUE`: one definition per process, whatever the lookup scope.
    Unique,
    /// Any other binding, raw.
    Other(u8),
}

/// A symbol's GNU version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The version name, such as `GLIBC_2.34`.
    pub name: Vec<u8>,
    /// A hidden version (`sym@VER`): only references asking for this version bind to it. For
    /// definitions, `false` means the default version (`sym@@VER`).
    pub hidden: bool,
    /// For a version required from a dependency, that dependency's name (`vn_file`, a
    /// `DT_NEEDED` entry); `None` for a version this file defines.
    pub library: Option<Vec<u8>>,
}

impl SymbolKind {
    fn from_st_type(st_type: u8) -> Self {
        match st_type {
            elf::STT_FUNC => SymbolKind::Func,
            elf::STT_GNU_IFUNC => SymbolKind::Ifunc,
            elf::STT_OBJECT => SymbolKind::Object,
            elf::STT_TLS => SymbolKind::Tls,
            other => SymbolKind::Other(other),
        }
    }

    /// Whether the symbol names code (`STT_FUNC` or `STT_GNU_IFUNC`).
    pub fn is_code(self) -> bool {
        matches!(self, SymbolKind::Func | SymbolKind::Ifunc)
    }
}

impl Binding {
    fn from_st_bind(st_bind: u8) -> Self {
        match st_bind {
            elf::STB_GLOBAL => Binding::Global,
            elf::STB_WEAK => Binding::Weak,
            elf::STB_LOCAL => Binding::Local,
            elf::STB_GNU_UNIQUE => Binding::Unique,
            other => Binding::Other(other),
        }
    }
}

impl<'data, R: ReadRef<'data>> ElfFile<'data, R> {
    /// The dynamic symbols (`DT_SYMTAB`) with their versions, in table order, without the null
    /// symbol at index 0. Empty for a file without a dynamic symbol table.
    pub fn dynamic_symbols(&self) -> Result<Vec<Symbol>, ElfError> {
        match self.class() {
            Class::Elf32 => dynamic_symbols::<FileHeader32<Endianness>, R>(self),
            Class::Elf64 => dynamic_symbols::<FileHeader64<Endianness>, R>(self),
        }
    }

    /// The address ranges `[value, value + max(size, 1))` of the defined dynamic symbols that
    /// name data (every type but functions, IFUNCs, TLS, sections and files), read without
    /// their names or versions: the candidates of copy relocations.
    pub fn dynamic_data_ranges(&self) -> Result<Vec<(u64, u64)>, ElfError> {
        match self.class() {
            Class::Elf32 => dynamic_data_ranges::<FileHeader32<Endianness>, R>(self),
            Class::Elf64 => dynamic_data_ranges::<FileHeader64<Endianness>, R>(self),
        }
    }

    /// The defined functions of `.symtab` (`STT_FUNC` and `STT_GNU_IFUNC` with a non-zero
    /// size), in table order. `None` when the file has no section headers or no `.symtab`
    /// (stripped); an error when the section headers exist but are malformed.
    pub fn symtab_functions(&self) -> Result<Option<Vec<Symbol>>, ElfError> {
        match self.class() {
            Class::Elf32 => symtab_functions::<FileHeader32<Endianness>, R>(self),
            Class::Elf64 => symtab_functions::<FileHeader64<Endianness>, R>(self),
        }
    }
}

/// The dynamic symbol table's entries, null symbol included; empty without `DT_SYMTAB`.
fn dynamic_table<'data, Elf, R>(file: &ElfFile<'data, R>) -> Result<&'data [Elf::Sym], ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let Some(symtab) = file.dyn_value(elf::DT_SYMTAB) else {
        return Ok(&[]);
    };
    let entry_size = size_of::<Elf::Sym>() as u64;
    if file
        .dyn_value(elf::DT_SYMENT)
        .is_some_and(|e| e != entry_size)
    {
        return Err(ElfError::Malformed("DT_SYMENT is not the size of a symbol"));
    }
    let count = symbol_count(file, symtab, entry_size)?;
    let count = usize::try_from(count)
        .ok()
        .filter(|&c| c <= file.limits().max_symbols)
        .ok_or(ElfError::Limit("too many dynamic symbols"))?;
    file.slice_at(symtab, count, "DT_SYMTAB outside the file")
}

fn dynamic_data_ranges<'data, Elf, R>(file: &ElfFile<'data, R>) -> Result<Vec<(u64, u64)>, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    Ok(dynamic_table::<Elf, R>(file)?
        .iter()
        .skip(1)
        .filter(|sym| {
            !sym.is_undefined(endian)
                && !matches!(
                    sym.st_type(),
                    elf::STT_FUNC
                        | elf::STT_GNU_IFUNC
                        | elf::STT_TLS
                        | elf::STT_SECTION
                        | elf::STT_FILE
                )
        })
        .map(|sym| {
            let value: u64 = sym.st_value(endian).into();
            let size: u64 = sym.st_size(endian).into();
            (value, value.saturating_add(size.max(1)))
        })
        .collect())
}

fn dynamic_symbols<'data, Elf, R>(file: &ElfFile<'data, R>) -> Result<Vec<Symbol>, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let symbols = dynamic_table::<Elf, R>(file)?;
    if symbols.is_empty() {
        return Ok(Vec::new());
    }
    let count = symbols.len();
    let strings = file.dynamic_strings()?;
    let versions = VersionTable::read(file, &strings, count)?;
    let endian = file.endian();
    symbols
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, sym)| {
            let version = match &versions {
                Some(versions) => versions.version(index)?,
                None => None,
            };
            convert::<Elf>(sym, endian, &strings, version)
        })
        .collect()
}

/// How many entries the dynamic symbol table at `symtab` has, null symbol included.
fn symbol_count<'data, R: ReadRef<'data>>(
    file: &ElfFile<'data, R>,
    symtab: u64,
    entry_size: u64,
) -> Result<u64, ElfError> {
    if let Some(hash) = file.dyn_value(elf::DT_HASH) {
        return sysv_hash_count(file, hash);
    }
    if let Some(gnu_hash) = file.dyn_value(elf::DT_GNU_HASH) {
        if let Some(count) = gnu_hash_count(file, gnu_hash)? {
            return Ok(count);
        }
    }
    next_table(file, symtab)
        .map(|end| (end - symtab) / entry_size)
        .ok_or(ElfError::Malformed(
            "no hash table or following table to size the dynamic symbol table",
        ))
}

/// The address of the first table the dynamic section lists after `symtab`: where the symbol
/// table must end. GNU ld puts `DT_STRTAB` there, lld `DT_VERSYM`.
fn next_table<'data, R: ReadRef<'data>>(file: &ElfFile<'data, R>, symtab: u64) -> Option<u64> {
    [
        elf::DT_STRTAB,
        elf::DT_VERSYM,
        elf::DT_VERDEF,
        elf::DT_VERNEED,
        elf::DT_HASH,
        elf::DT_GNU_HASH,
        elf::DT_RELA,
        elf::DT_REL,
        elf::DT_JMPREL,
    ]
    .into_iter()
    .filter_map(|tag| file.dyn_value(tag))
    .filter(|&addr| addr > symtab)
    .min()
}

/// `nchain` of a `DT_HASH` table. Its words are 32 bits, except on 64-bit s390 and Alpha.
fn sysv_hash_count<'data, R: ReadRef<'data>>(
    file: &ElfFile<'data, R>,
    hash: u64,
) -> Result<u64, ElfError> {
    const WHAT: &str = "DT_HASH outside the file";
    let endian = file.endian();
    let wide = file.machine() == elf::EM_ALPHA
        || (file.machine() == elf::EM_S390 && file.class() == Class::Elf64);
    let nchain = if wide {
        file.slice_at::<U64<Endianness>>(hash, 2, WHAT)?
            .get(1)
            .map(|w| w.get(endian))
    } else {
        file.slice_at::<U32<Endianness>>(hash, 2, WHAT)?
            .get(1)
            .map(|w| u64::from(w.get(endian)))
    };
    nchain.ok_or(ElfError::Malformed(WHAT))
}

/// The number of symbols a `DT_GNU_HASH` table covers: one past the end of the chain of the
/// highest non-empty bucket. `None` if every bucket is empty: the symbols then are all
/// unhashed imports, and GNU ld sets `symoffset` to 1 whatever their number.
fn gnu_hash_count<'data, R: ReadRef<'data>>(
    file: &ElfFile<'data, R>,
    gnu_hash: u64,
) -> Result<Option<u64>, ElfError> {
    const WHAT: &str = "DT_GNU_HASH outside the file";
    let endian = file.endian();
    let max_symbols = file.limits().max_symbols as u64;
    let word = |w: &U32<Endianness>| u64::from(w.get(endian));
    let header = file.slice_at::<U32<Endianness>>(gnu_hash, 4, WHAT)?;
    let (nbuckets, symoffset, bloom_words) = match header {
        [nbuckets, symoffset, bloom_size, _bloom_shift] => {
            (word(nbuckets), word(symoffset), word(bloom_size))
        }
        _ => return Err(ElfError::Malformed(WHAT)),
    };
    if nbuckets > max_symbols || bloom_words > max_symbols {
        return Err(ElfError::Limit("DT_GNU_HASH table too large"));
    }
    let bloom_word_size = match file.class() {
        Class::Elf32 => 4,
        Class::Elf64 => 8,
    };
    // All products below are bounded by the limit check above.
    let buckets_at = gnu_hash
        .checked_add(16 + bloom_words * bloom_word_size)
        .ok_or(ElfError::Malformed(WHAT))?;
    let buckets = file.slice_at::<U32<Endianness>>(buckets_at, nbuckets as usize, WHAT)?;
    let highest = buckets.iter().map(word).max().unwrap_or(0);
    if highest == 0 {
        return Ok(None);
    }
    if highest < symoffset {
        return Err(ElfError::Malformed("DT_GNU_HASH bucket below symoffset"));
    }
    if highest >= max_symbols {
        return Err(ElfError::Limit("too many dynamic symbols"));
    }
    let chain_at = buckets_at
        .checked_add(4 * nbuckets)
        .and_then(|chains| chains.checked_add(4 * (highest - symoffset)))
        .ok_or(ElfError::Malformed(WHAT))?;
    let chain = file.bytes_at(chain_at, 4 * (max_symbols - highest), WHAT)?;
    for (index, entry) in (highest..).zip(chain.chunks_exact(4)) {
        let value = match *entry {
            [a, b, c, d] => endian.read_u32_bytes([a, b, c, d]),
            _ => return Err(ElfError::Malformed(WHAT)),
        };
        if value & 1 != 0 {
            return Ok(Some(index + 1));
        }
    }
    if chain.len() as u64 / 4 >= max_symbols - highest {
        Err(ElfError::Limit("too many dynamic symbols"))
    } else {
        Err(ElfError::Malformed("DT_GNU_HASH chain does not end"))
    }
}

fn symtab_functions<'data, Elf, R>(
    file: &ElfFile<'data, R>,
) -> Result<Option<Vec<Symbol>>, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let data = file.data();
    let endian = file.endian();
    let limits = file.limits();
    let header = Elf::parse(data).map_err(|_| ElfError::TooShort)?;
    if header.e_shoff(endian).into() == 0 {
        return Ok(None);
    }
    if header.shnum(endian, data)? > limits.max_sections {
        return Err(ElfError::Limit("too many section headers"));
    }
    let sections = header.section_headers(endian, data)?;
    let Some(symtab) = sections
        .iter()
        .find(|s| s.sh_type(endian) == elf::SHT_SYMTAB)
    else {
        return Ok(None);
    };
    let entry_size = size_of::<Elf::Sym>() as u64;
    let (offset, size) = symtab
        .file_range(endian)
        .ok_or(ElfError::Malformed(".symtab has no file data"))?;
    let count = usize::try_from(size / entry_size)
        .ok()
        .filter(|&c| c <= limits.max_symbols)
        .ok_or(ElfError::Limit("too many .symtab symbols"))?;
    let symbols: &[Elf::Sym] = data
        .read_slice_at(offset, count)
        .map_err(|()| ElfError::Malformed(".symtab outside the file"))?;
    let strtab = usize::try_from(symtab.sh_link(endian))
        .ok()
        .and_then(|link| sections.get(link))
        .ok_or(ElfError::Malformed(
            ".symtab string table index out of range",
        ))?;
    let (str_offset, str_size) = strtab
        .file_range(endian)
        .ok_or(ElfError::Malformed(".symtab string table has no file data"))?;
    let strings = StrTab::read(data, str_offset, str_size, limits)?;
    symbols
        .iter()
        .skip(1)
        .filter(|sym| {
            SymbolKind::from_st_type(sym.st_type()).is_code()
                && sym.st_size(endian).into() != 0
                && !sym.is_undefined(endian)
        })
        .map(|sym| convert::<Elf>(sym, endian, &strings, None))
        .collect::<Result<_, _>>()
        .map(Some)
}

fn convert<Elf: FileHeader<Endian = Endianness>>(
    sym: &Elf::Sym,
    endian: Endianness,
    strings: &StrTab<'_>,
    version: Option<Version>,
) -> Result<Symbol, ElfError> {
    Ok(Symbol {
        name: strings.get(sym.st_name(endian).into())?.to_vec(),
        value: sym.st_value(endian).into(),
        size: sym.st_size(endian).into(),
        kind: SymbolKind::from_st_type(sym.st_type()),
        binding: Binding::from_st_bind(sym.st_bind()),
        defined: !sym.is_undefined(endian),
        version,
    })
}
