//! The code the loader runs on its own: init and fini functions and IFUNC resolvers.
//!
//! A library's pages can be executed without the program ever calling into it: the loader runs
//! its constructors (`DT_PREINIT_ARRAY` for executables, `DT_INIT`, `DT_INIT_ARRAY`) and its
//! IFUNC resolvers while mapping it, and its destructors (`DT_FINI_ARRAY`, `DT_FINI`) at exit.
//! Evidence that a library's code "executed" has to discount these windows, so this module
//! finds their addresses.
//!
//! The arrays are read from the file, but in a position-independent file they usually hold
//! zeros there: each slot is filled at load time by a relative relocation whose addend is the
//! target. What the file holds per relocation format:
//!
//! - `DT_RELA` (x86-64, AArch64, RISC-V, ...): the addend lives in the relocation, so each
//!   slot with an `R_*_RELATIVE` relocation takes that relocation's addend;
//! - `DT_REL` (i386, 32-bit Arm, MIPS) and `DT_RELR`: the addend is the slot's content in the
//!   file, so the value read is already the target and these tables need not be read.
//!
//! All addresses are link-time virtual addresses: the load base is not added. A slot filled by
//! a symbolic relocation (a constructor defined in another object, which linkers do not
//! produce for `.init_array`) keeps its file value. MIPS relocations are not decoded.
//!
//! `R_*_IRELATIVE` relocations name the resolvers of local IFUNCs; exported IFUNCs are also
//! visible as [`crate::SymbolKind::Ifunc`] dynamic symbols, whose value is the resolver.

use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, Rel, Rela};
use object::{Endian, Endianness, ReadRef, elf};

use crate::file::ElfFile;
use crate::{Class, ElfError};

/// The functions the loader calls by itself, as link-time virtual addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitInfo {
    /// `DT_INIT`: the legacy `_init` function.
    pub init: Option<u64>,
    /// `DT_PREINIT_ARRAY`: run before any library's initialisers (executables only).
    pub preinit_array: Vec<u64>,
    /// `DT_INIT_ARRAY`: the constructors, in call order.
    pub init_array: Vec<u64>,
    /// `DT_FINI`: the legacy `_fini` function.
    pub fini: Option<u64>,
    /// `DT_FINI_ARRAY`, in table order (called in reverse).
    pub fini_array: Vec<u64>,
    /// The resolvers named by `R_*_IRELATIVE` relocations, sorted and without duplicates.
    pub ifunc_resolvers: Vec<u64>,
}

impl InitInfo {
    /// Every address above, in no particular order, without zeros (unfilled slots).
    pub fn addresses(&self) -> impl Iterator<Item = u64> + '_ {
        self.init
            .iter()
            .chain(&self.preinit_array)
            .chain(&self.init_array)
            .chain(&self.fini)
            .chain(&self.fini_array)
            .chain(&self.ifunc_resolvers)
            .copied()
            .filter(|&a| a != 0)
    }
}

impl<'data, R: ReadRef<'data>> ElfFile<'data, R> {
    /// The init and fini functions and IFUNC resolvers, with relative relocations applied to
    /// the arrays. Empty for a file without a dynamic section.
    pub fn init_info(&self) -> Result<InitInfo, ElfError> {
        match self.class() {
            Class::Elf32 => init_info::<FileHeader32<Endianness>, R>(self),
            Class::Elf64 => init_info::<FileHeader64<Endianness>, R>(self),
        }
    }
}

/// An array of function pointers and where it lies.
struct Array {
    start: u64,
    values: Vec<u64>,
}

impl Array {
    /// The slot at virtual address `addr`, if it is one of ours.
    fn slot(&mut self, addr: u64, word: u64) -> Option<&mut u64> {
        let rel = addr.checked_sub(self.start)?;
        if rel % word != 0 {
            return None;
        }
        self.values.get_mut(usize::try_from(rel / word).ok()?)
    }
}

fn init_info<'data, Elf, R>(file: &ElfFile<'data, R>) -> Result<InitInfo, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let mut arrays = [
        read_array(file, elf::DT_PREINIT_ARRAY, elf::DT_PREINIT_ARRAYSZ)?,
        read_array(file, elf::DT_INIT_ARRAY, elf::DT_INIT_ARRAYSZ)?,
        read_array(file, elf::DT_FINI_ARRAY, elf::DT_FINI_ARRAYSZ)?,
    ];
    let mut ifunc_resolvers = Vec::new();
    if let Some(types) = RelocationTypes::of(file.machine()) {
        apply_rela::<Elf, R>(file, types, &mut arrays, &mut ifunc_resolvers)?;
        collect_rel_resolvers::<Elf, R>(file, types, &mut ifunc_resolvers)?;
    }
    ifunc_resolvers.sort_unstable();
    ifunc_resolvers.dedup();
    let [preinit, init, fini] = arrays;
    Ok(InitInfo {
        init: file.dyn_value(elf::DT_INIT),
        preinit_array: preinit.values,
        init_array: init.values,
        fini: file.dyn_value(elf::DT_FINI),
        fini_array: fini.values,
        ifunc_resolvers,
    })
}

fn word_size<'data, R: ReadRef<'data>>(file: &ElfFile<'data, R>) -> u64 {
    match file.class() {
        Class::Elf32 => 4,
        Class::Elf64 => 8,
    }
}

/// Decodes one address-sized word.
fn decode_word(endian: Endianness, bytes: &[u8]) -> Option<u64> {
    match *bytes {
        [a, b, c, d] => Some(endian.read_u32_bytes([a, b, c, d]).into()),
        [a, b, c, d, e, f, g, h] => Some(endian.read_u64_bytes([a, b, c, d, e, f, g, h])),
        _ => None,
    }
}

fn read_array<'data, R: ReadRef<'data>>(
    file: &ElfFile<'data, R>,
    addr_tag: u32,
    size_tag: u32,
) -> Result<Array, ElfError> {
    const WHAT: &str = "init or fini array outside the file";
    let Some(start) = file.dyn_value(addr_tag) else {
        return Ok(Array {
            start: 0,
            values: Vec::new(),
        });
    };
    let word = word_size(file);
    let count = file.dyn_value(size_tag).unwrap_or(0) / word;
    if count > file.limits().max_init_entries as u64 {
        return Err(ElfError::Limit("init or fini array too long"));
    }
    // Bounded by the limit check above.
    let bytes: &[u8] = file.slice_at(start, (count * word) as usize, WHAT)?;
    let values = bytes
        .chunks_exact(word as usize)
        .map(|w| decode_word(file.endian(), w).ok_or(ElfError::Malformed(WHAT)))
        .collect::<Result<_, _>>()?;
    Ok(Array { start, values })
}

/// The relative and IFUNC relocation types of one machine.
#[derive(Clone, Copy)]
struct RelocationTypes {
    relative: u32,
    irelative: u32,
}

impl RelocationTypes {
    fn of(machine: u16) -> Option<Self> {
        let (relative, irelative) = match machine {
            elf::EM_X86_64 => (elf::R_X86_64_RELATIVE, elf::R_X86_64_IRELATIVE),
            elf::EM_386 => (elf::R_386_RELATIVE, elf::R_386_IRELATIVE),
            elf::EM_AARCH64 => (elf::R_AARCH64_RELATIVE, elf::R_AARCH64_IRELATIVE),
            elf::EM_ARM => (elf::R_ARM_RELATIVE, elf::R_ARM_IRELATIVE),
            elf::EM_PPC64 => (elf::R_PPC64_RELATIVE, elf::R_PPC64_IRELATIVE),
            elf::EM_PPC => (elf::R_PPC_RELATIVE, elf::R_PPC_IRELATIVE),
            elf::EM_S390 => (elf::R_390_RELATIVE, elf::R_390_IRELATIVE),
            elf::EM_RISCV => (elf::R_RISCV_RELATIVE, elf::R_RISCV_IRELATIVE),
            elf::EM_LOONGARCH => (elf::R_LARCH_RELATIVE, elf::R_LARCH_IRELATIVE),
            elf::EM_SPARC | elf::EM_SPARCV9 => (elf::R_SPARC_RELATIVE, elf::R_SPARC_IRELATIVE),
            _ => return None,
        };
        Some(RelocationTypes {
            relative,
            irelative,
        })
    }
}

/// The relocation tables of one format (`DT_RELA` or `DT_REL`): the main table, and the PLT
/// table when `DT_PLTREL` says it has this format.
fn tables<'data, R: ReadRef<'data>>(
    file: &ElfFile<'data, R>,
    [addr_tag, size_tag, entry_tag]: [u32; 3],
    entry_size: u64,
) -> Result<Vec<(u64, usize)>, ElfError> {
    let count = |size: Option<u64>| {
        let count = size.unwrap_or(0) / entry_size;
        usize::try_from(count)
            .ok()
            .filter(|&c| c <= file.limits().max_relocations)
            .ok_or(ElfError::Limit("too many relocations"))
    };
    let mut tables = Vec::with_capacity(2);
    if let Some(addr) = file.dyn_value(addr_tag) {
        if file.dyn_value(entry_tag).is_some_and(|e| e != entry_size) {
            return Err(ElfError::Malformed("relocation entry size is wrong"));
        }
        tables.push((addr, count(file.dyn_value(size_tag))?));
    }
    if file.dyn_value(elf::DT_PLTREL) == Some(u64::from(addr_tag)) {
        if let Some(addr) = file.dyn_value(elf::DT_JMPREL) {
            tables.push((addr, count(file.dyn_value(elf::DT_PLTRELSZ))?));
        }
    }
    Ok(tables)
}

fn apply_rela<'data, Elf, R>(
    file: &ElfFile<'data, R>,
    types: RelocationTypes,
    arrays: &mut [Array],
    resolvers: &mut Vec<u64>,
) -> Result<(), ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let word = word_size(file);
    // A 32-bit addend is sign-extended by `into`; addresses wrap at the class's width.
    let mask = if word == 4 {
        u64::from(u32::MAX)
    } else {
        u64::MAX
    };
    let tags = [elf::DT_RELA, elf::DT_RELASZ, elf::DT_RELAENT];
    for (addr, count) in tables(file, tags, size_of::<Elf::Rela>() as u64)? {
        let relocations: &[Elf::Rela] =
            file.slice_at(addr, count, "DT_RELA table outside the file")?;
        for rela in relocations {
            let r_type = rela.r_type(endian, false);
            let target = (rela.r_addend(endian).into() as u64) & mask;
            if r_type == types.relative {
                let offset = rela.r_offset(endian).into();
                if let Some(slot) = arrays.iter_mut().find_map(|a| a.slot(offset, word)) {
                    *slot = target;
                }
            } else if r_type == types.irelative {
                resolvers.push(target);
            }
        }
    }
    Ok(())
}

/// `R_*_IRELATIVE` relocations in `DT_REL` tables keep the resolver's address in the slot.
fn collect_rel_resolvers<'data, Elf, R>(
    file: &ElfFile<'data, R>,
    types: RelocationTypes,
    resolvers: &mut Vec<u64>,
) -> Result<(), ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    const WHAT: &str = "IRELATIVE slot outside the file";
    let endian = file.endian();
    let word = word_size(file);
    let tags = [elf::DT_REL, elf::DT_RELSZ, elf::DT_RELENT];
    for (addr, count) in tables(file, tags, size_of::<Elf::Rel>() as u64)? {
        let relocations: &[Elf::Rel] =
            file.slice_at(addr, count, "DT_REL table outside the file")?;
        for rel in relocations
            .iter()
            .filter(|r| r.r_type(endian) == types.irelative)
        {
            // `word` is 4 or 8.
            let bytes: &[u8] = file.slice_at(rel.r_offset(endian).into(), word as usize, WHAT)?;
            resolvers.push(decode_word(endian, bytes).ok_or(ElfError::Malformed(WHAT))?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_word_aligned_and_inside() {
        let mut array = Array {
            start: 0x3dd8,
            values: vec![0, 0],
        };
        assert!(array.slot(0x3dd8, 8).is_some());
        assert!(array.slot(0x3de0, 8).is_some());
        assert!(array.slot(0x3de8, 8).is_none());
        assert!(array.slot(0x3ddc, 8).is_none());
        assert!(array.slot(0x3dd0, 8).is_none());
    }

    #[test]
    fn words_follow_byte_order() {
        assert_eq!(decode_word(Endianness::Little, &[1, 0, 0, 0]), Some(1));
        assert_eq!(
            decode_word(Endianness::Big, &[0, 0, 0, 0, 0, 0, 1, 0]),
            Some(256)
        );
        assert_eq!(decode_word(Endianness::Big, &[0, 1]), None);
    }
}
