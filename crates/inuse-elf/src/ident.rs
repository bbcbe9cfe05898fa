//! `e_ident`: the sixteen bytes that say how to read the rest of the file.
//!
//! The loader decides from these (and `e_machine`) whether a candidate file is skipped (wrong
//! class or machine: the search goes on) or is an error (not ELF, wrong byte order, bad OS
//! ABI), so they are kept raw enough for `inuse-ldso` to apply glibc's exact rules.

use object::ReadRef;

use crate::ElfError;

/// 32-bit or 64-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

/// The identification bytes of an ELF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident {
    /// `EI_CLASS`.
    pub class: Class,
    /// `EI_DATA` is `ELFDATA2MSB`.
    pub big_endian: bool,
    /// `EI_VERSION`.
    pub version: u8,
    /// `EI_OSABI`.
    pub osabi: u8,
    /// `EI_ABIVERSION`.
    pub abi_version: u8,
    /// Whether the padding bytes after `EI_ABIVERSION` are all zero, as glibc requires.
    pub padding_zero: bool,
}

/// The ELF magic.
pub const ELFMAG: [u8; 4] = *b"\x7fELF";

impl Ident {
    /// Reads and checks the identification bytes: the magic, a known class and byte order.
    /// Other fields are reported as they are, for the caller to judge.
    pub fn read<'data, R: ReadRef<'data>>(data: R) -> Result<Ident, ElfError> {
        let bytes = data.read_bytes_at(0, 16).map_err(|()| ElfError::TooShort)?;
        if bytes[..4] != ELFMAG {
            return Err(ElfError::NotElf);
        }
        let class = match bytes[4] {
            1 => Class::Elf32,
            2 => Class::Elf64,
            _ => return Err(ElfError::Malformed("invalid ELF class")),
        };
        let big_endian = match bytes[5] {
            1 => false,
            2 => true,
            _ => return Err(ElfError::Malformed("invalid ELF data encoding")),
        };
        Ok(Ident {
            class,
            big_endian,
            version: bytes[6],
            osabi: bytes[7],
            abi_version: bytes[8],
            padding_zero: bytes[9..16].iter().all(|&b| b == 0),
        })
    }
}
