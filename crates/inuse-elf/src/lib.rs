//! ELF facts for inuse, read the way the dynamic loader reads them.
//!
//! The loader never looks at section headers: it maps `PT_LOAD` segments, finds the dynamic
//! section through `PT_DYNAMIC`, and turns the addresses in it (`DT_STRTAB`, ...) into file
//! offsets through the `PT_LOAD` table. Stripped and section-less files exist and load fine, so
//! this crate does the same: everything the dependency resolver needs comes from the ELF
//! header, the program headers and the dynamic section.
//!
//! Files are hostile input. Every count and length is bounded by [`Limits`], every offset is
//! checked, and a malformed file yields an [`ElfError`] naming the problem, never a panic.
//! Parsing is generic over [`object::ReadRef`], so it works on a byte slice (tests, fuzzing) or
//! on a [`object::ReadCache`] over an open file, which reads only the few ranges needed: a
//! 100 MB library costs a handful of small reads.
//!
//! [`ElfInfo`] is the summary the dependency resolver needs. [`ElfFile`] is the entry point
//! for the rest, read on demand: dynamic symbols and their versions ([`Symbol`]), the code
//! that runs at load time ([`InitInfo`]), and notes such as the build ID ([`Notes`]).

mod dynamic;
mod file;
mod ident;
mod init;
mod notes;
mod symbols;
mod version;

use std::fs::File;

pub use dynamic::{DynamicInfo, Linkage};
pub use file::ElfFile;
pub use ident::{Class, Ident};
pub use init::InitInfo;
pub use notes::{AbiTag, Notes};
/// Re-exported so that callers can parse open files with [`ElfFile`] without naming `object`.
pub use object::ReadCache;
pub use symbols::{Binding, Symbol, SymbolKind, Version};

/// Reads from `offset` until `buf` is full or the file ends; returns the bytes read.
fn read_prefix(file: &File, buf: &mut [u8], offset: u64) -> Result<usize, ElfError> {
    use std::os::unix::fs::FileExt;
    let mut len = 0;
    while len < buf.len() {
        match file.read_at(&mut buf[len..], offset + len as u64) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(len)
}

/// How much of a file [`ElfInfo::read_file`] reads at once before reading the ranges it
/// needs one by one: the ELF header and the program headers of almost every file, and the
/// whole of small ones.
pub const PREFIX: usize = 4096;

/// [`object::ReadCacheOps`] over an open file by `pread` (no seek, no shared file offset),
/// with the first bytes, already read, served from memory.
struct Pread<'f> {
    file: &'f File,
    head: Vec<u8>,
    pos: u64,
}

impl object::ReadCacheOps for Pread<'_> {
    fn len(&mut self) -> Result<u64, ()> {
        self.file.metadata().map(|m| m.len()).map_err(drop)
    }

    fn seek(&mut self, pos: u64) -> Result<u64, ()> {
        self.pos = pos;
        Ok(pos)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ()> {
        let in_head = usize::try_from(self.pos)
            .ok()
            .and_then(|p| self.head.get(p..)?.get(..buf.len()));
        let n = match in_head {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                buf.len()
            }
            None => read_prefix(self.file, buf, self.pos).map_err(drop)?,
        };
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ()> {
        match self.read(buf)? {
            n if n == buf.len() => Ok(()),
            _ => Err(()),
        }
    }
}

/// Upper bounds for what one file may make us read or allocate.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Program headers in one file.
    pub max_program_headers: usize,
    /// Entries in the dynamic section.
    pub max_dynamic_entries: usize,
    /// `DT_NEEDED` entries in one file.
    pub max_needed: usize,
    /// Bytes in one string (a library name, a search path, a symbol name).
    pub max_string: usize,
    /// Bytes in one string table (`DT_STRTAB`, the `.symtab` string table).
    pub max_string_table: usize,
    /// Symbols in one symbol table (`DT_SYMTAB` or `.symtab`).
    pub max_symbols: usize,
    /// Version definitions and requirements, counted together, in one file.
    pub max_versions: usize,
    /// Entries in one relocation table (`DT_RELA`, `DT_REL`, `DT_JMPREL`).
    pub max_relocations: usize,
    /// Entries in one of the init or fini arrays.
    pub max_init_entries: usize,
    /// Section headers (only `.symtab` lookups read them).
    pub max_sections: usize,
    /// Bytes of `PT_NOTE` segments read, over all of them.
    pub max_note_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_program_headers: 4096,
            max_dynamic_entries: 1 << 16,
            max_needed: 4096,
            max_string: 1 << 16,
            max_string_table: 1 << 26,
            max_symbols: 1 << 20,
            max_versions: 1 << 12,
            max_relocations: 1 << 22,
            max_init_entries: 1 << 16,
            max_sections: 1 << 16,
            max_note_bytes: 1 << 20,
        }
    }
}

/// Why a file could not be read as ELF.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// Shorter than an ELF header.
    #[error("file too short")]
    TooShort,
    /// The first four bytes are not `\x7fELF`.
    #[error("not an ELF file")]
    NotElf,
    /// The file is ELF, but a structure in it is inconsistent.
    #[error("malformed ELF: {0}")]
    Malformed(&'static str),
    /// The `object` crate rejected a structure.
    #[error("malformed ELF: {0}")]
    Object(#[from] object::Error),
    /// The file exceeds one of the [`Limits`].
    #[error("ELF file exceeds a limit: {0}")]
    Limit(&'static str),
    /// Reading the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The facts of one ELF file that inuse uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// The identification bytes and header fields the loader checks.
    pub ident: Ident,
    /// `e_type`: `ET_EXEC`, `ET_DYN`, ...
    pub e_type: u16,
    /// `e_machine`.
    pub machine: u16,
    /// `e_flags` (architecture-specific ABI flags).
    pub e_flags: u32,
    /// `e_version`.
    pub e_version: u32,
    /// Whether `e_phentsize` is the size of a program header of this class.
    pub phentsize_ok: bool,
    /// Whether the file has contents to load: an executable `PT_LOAD` segment or a
    /// `PT_DYNAMIC` with bytes in the file. Separate debug-info files (`/usr/lib/debug/...`)
    /// keep the program headers of the original but neither: they are ELF, and not loadable.
    /// (Data-only libraries have no code but do have their dynamic section.)
    pub has_contents: bool,
    /// The `PT_INTERP` path, if any.
    pub interpreter: Option<Vec<u8>>,
    /// What the dynamic section says; `None` without `PT_DYNAMIC`.
    pub dynamic: Option<DynamicInfo>,
}

/// `ET_EXEC`.
pub const ET_EXEC: u16 = object::elf::ET_EXEC;
/// `ET_DYN`.
pub const ET_DYN: u16 = object::elf::ET_DYN;
/// `DF_1_NODEFLIB`: do not search the default directories for this object's dependencies.
pub const DF_1_NODEFLIB: u64 = object::elf::DF_1_NODEFLIB as u64;
/// `DF_1_PIE`: the object is a position-independent executable.
pub const DF_1_PIE: u64 = object::elf::DF_1_PIE as u64;
/// `DF_ORIGIN` / `DF_1_ORIGIN`: the object uses `$ORIGIN`.
pub const DF_1_ORIGIN: u64 = object::elf::DF_1_ORIGIN as u64;

impl ElfInfo {
    /// Parses the ELF header, the program headers and the dynamic section of `data`.
    pub fn parse<'data, R: object::ReadRef<'data>>(
        data: R,
        limits: &Limits,
    ) -> Result<ElfInfo, ElfError> {
        let ident = Ident::read(data)?;
        match ident.class {
            Class::Elf32 => dynamic::parse::<object::elf::FileHeader32<object::Endianness>, R>(
                data, ident, limits,
            ),
            Class::Elf64 => dynamic::parse::<object::elf::FileHeader64<object::Endianness>, R>(
                data, ident, limits,
            ),
        }
    }

    /// Parses an open file, reading only what is needed.
    ///
    /// The first [`PREFIX`] bytes are read with one `pread`: they settle non-ELF files (walks
    /// meet many), hold the whole of small files, and the ELF and program headers of almost
    /// all others, which are then parsed as a slice. Only if that fails on a larger file (the
    /// dynamic section and its strings lie further in most libraries) is the file parsed
    /// again through a [`object::ReadCache`] that reads each range it needs with one `pread`,
    /// a few hundred bytes each. A parse that succeeds on the prefix read nothing outside it,
    /// so both give the facts [`ElfInfo::parse`] gives on the whole file.
    ///
    /// (The prefix was 64 KiB: on a whole host that copied 200 MB from the page cache for a
    /// dynamic section that was rarely in it, and freeing each 64 KiB buffer made glibc
    /// consolidate its free lists; together a third of `inuse deps`.)
    pub fn read_file(file: &File, limits: &Limits) -> Result<ElfInfo, ElfError> {
        let mut head = vec![0u8; PREFIX];
        let len = read_prefix(file, &mut head, 0)?;
        head.truncate(len);
        let whole = len < PREFIX;
        match ElfInfo::parse(&head[..], limits) {
            Ok(info) => Ok(info),
            Err(e) if whole || head[..4] != ident::ELFMAG => Err(e),
            Err(_) => ElfInfo::parse(
                &object::ReadCache::new(Pread { file, head, pos: 0 }),
                limits,
            ),
        }
    }

    /// How the file is linked: dynamically, statically, as static PIE.
    pub fn linkage(&self) -> Linkage {
        if !self.has_contents {
            return Linkage::None;
        }
        match (&self.interpreter, &self.dynamic) {
            (Some(_), _) => Linkage::Dynamic,
            (None, Some(d)) if !d.needed.is_empty() => Linkage::Dynamic,
            (None, Some(d)) if self.e_type == ET_DYN && d.flags_1 & DF_1_PIE != 0 => {
                Linkage::StaticPie
            }
            (None, Some(_)) if self.e_type == ET_DYN => Linkage::Dynamic,
            (None, _) if self.e_type == ET_EXEC || self.e_type == ET_DYN => Linkage::Static,
            _ => Linkage::None,
        }
    }

    /// Whether this file is meant to be run rather than loaded as a library: `ET_EXEC`, a PIE
    /// (`DF_1_PIE`), or a position-independent object with an interpreter and no soname
    /// (PIEs from toolchains that predate `DF_1_PIE`). `libc.so.6` has an interpreter and
    /// can be run, but has a soname: it is a library.
    pub fn is_executable(&self) -> bool {
        match self.e_type {
            ET_EXEC => true,
            ET_DYN => match &self.dynamic {
                Some(d) => {
                    d.flags_1 & DF_1_PIE != 0 || (self.interpreter.is_some() && d.soname.is_none())
                }
                None => true,
            },
            _ => false,
        }
    }
}
