//! The dynamic section, found and decoded through program headers only.
//!
//! Addresses in the dynamic section (`DT_STRTAB`) are virtual addresses; they are translated to
//! file offsets through the `PT_LOAD` segments, as the loader sees them once mapped. Strings
//! are read from the string table with an explicit bound: a `DT_NEEDED` offset pointing past
//! the table, or a string without a terminating NUL, is an error, not an over-read.

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::{Endianness, ReadRef};

use crate::{ElfError, ElfInfo, Ident, Limits};

/// How a file is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linkage {
    /// Needs the dynamic loader (has `PT_INTERP` or dependencies).
    Dynamic,
    /// A static executable: no dynamic section, nothing to load.
    Static,
    /// A static position-independent executable: relocates itself, loads nothing.
    StaticPie,
    /// Not something that runs or loads (relocatable object, core dump, ...).
    None,
}

/// What the dynamic section of a file says about its dependencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicInfo {
    /// `DT_NEEDED` names, in order.
    pub needed: Vec<Vec<u8>>,
    /// `DT_SONAME`.
    pub soname: Option<Vec<u8>>,
    /// `DT_RPATH` (deprecated, but searched first and inherited).
    pub rpath: Option<Vec<u8>>,
    /// `DT_RUNPATH`.
    pub runpath: Option<Vec<u8>>,
    /// `DT_FLAGS`.
    pub flags: u64,
    /// `DT_FLAGS_1`.
    pub flags_1: u64,
}

/// A `PT_LOAD` segment's mapping from virtual addresses to file offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) vaddr: u64,
    pub(crate) offset: u64,
    pub(crate) filesz: u64,
}

/// Translates a virtual address to a file offset, and says how many file bytes follow it
/// inside the same segment.
pub(crate) fn to_offset(loads: &[Load], addr: u64) -> Option<(u64, u64)> {
    loads.iter().find_map(|l| {
        let rel = addr.checked_sub(l.vaddr)?;
        (rel < l.filesz).then(|| (l.offset.saturating_add(rel), l.filesz - rel))
    })
}

pub(crate) fn parse<'data, Elf, R>(
    data: R,
    ident: Ident,
    limits: &Limits,
) -> Result<ElfInfo, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let header = Elf::parse(data).map_err(|_| ElfError::TooShort)?;
    let endian = header.endian()?;
    let phentsize_ok = usize::from(header.e_phentsize(endian)) == size_of::<Elf::ProgramHeader>();
    let phdrs = program_headers(header, endian, data, limits)?;

    let mut loads = Vec::new();
    let mut has_contents = false;
    let mut interp_ph = None;
    let mut dynamic_ph = None;
    for ph in phdrs {
        match ph.p_type(endian) {
            elf::PT_LOAD => {
                let filesz: u64 = ph.p_filesz(endian).into();
                has_contents |= ph.p_flags(endian) & elf::PF_X != 0 && filesz > 0;
                loads.push(Load {
                    vaddr: ph.p_vaddr(endian).into(),
                    offset: ph.p_offset(endian).into(),
                    filesz,
                });
            }
            elf::PT_INTERP if interp_ph.is_none() => interp_ph = Some(ph),
            elf::PT_DYNAMIC if dynamic_ph.is_none() => dynamic_ph = Some(ph),
            _ => {}
        }
    }

    has_contents |= dynamic_ph.is_some_and(|ph| {
        let filesz: u64 = ph.p_filesz(endian).into();
        filesz > 0
    });
    // A file with no contents (separate debug info) keeps PT_INTERP and PT_DYNAMIC
    // headers whose bytes are not in the file: there is nothing to read.
    let interpreter = match interp_ph.filter(|_| has_contents) {
        Some(ph) => {
            let (offset, size) = ph.file_range(endian);
            if size > limits.max_string as u64 {
                return Err(ElfError::Limit("interpreter path too long"));
            }
            let bytes = data
                .read_bytes_at(offset, size)
                .map_err(|()| ElfError::Malformed("PT_INTERP outside the file"))?;
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            Some(bytes[..end].to_vec())
        }
        None => None,
    };
    let dynamic = match dynamic_ph.filter(|_| has_contents) {
        Some(ph) => Some(parse_dynamic::<Elf, R>(data, endian, ph, &loads, limits)?),
        None => None,
    };

    Ok(ElfInfo {
        ident,
        e_type: header.e_type(endian),
        machine: header.e_machine(endian),
        e_flags: header.e_flags(endian),
        e_version: header.e_version(endian),
        phentsize_ok,
        has_contents,
        interpreter,
        dynamic,
    })
}

/// The program headers, bounded by [`Limits::max_program_headers`].
pub(crate) fn program_headers<'data, Elf, R>(
    header: &Elf,
    endian: Endianness,
    data: R,
    limits: &Limits,
) -> Result<&'data [Elf::ProgramHeader], ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    // The raw e_phnum: the kernel and the loader never apply the PN_XNUM extension (count in
    // section header 0) to program headers, so neither do we.
    let phnum = usize::from(header.e_phnum(endian));
    if phnum > limits.max_program_headers {
        return Err(ElfError::Limit("too many program headers"));
    }
    if phnum == 0 {
        return Ok(&[]);
    }
    if usize::from(header.e_phentsize(endian)) != size_of::<Elf::ProgramHeader>() {
        return Err(ElfError::Malformed("program header entry size is wrong"));
    }
    let phoff: u64 = header.e_phoff(endian).into();
    data.read_slice_at(phoff, phnum)
        .map_err(|()| ElfError::Malformed("program headers outside the file"))
}

/// The entries of the `PT_DYNAMIC` segment `ph`, bounded by [`Limits::max_dynamic_entries`].
/// Entries after `DT_NULL` are included; callers stop there.
pub(crate) fn dynamic_entries<'data, Elf, R>(
    data: R,
    endian: Endianness,
    ph: &Elf::ProgramHeader,
    limits: &Limits,
) -> Result<&'data [Elf::Dyn], ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let (offset, size) = ph.file_range(endian);
    let count = size / size_of::<Elf::Dyn>() as u64;
    if count > limits.max_dynamic_entries as u64 {
        return Err(ElfError::Limit("too many dynamic entries"));
    }
    if count == 0 {
        // No bytes in the file (separate debug-info files keep only the memory size).
        return Ok(&[]);
    }
    data.read_slice_at(offset, count as usize)
        .map_err(|()| ElfError::Malformed("PT_DYNAMIC outside the file"))
}

fn parse_dynamic<'data, Elf, R>(
    data: R,
    endian: Endianness,
    ph: &Elf::ProgramHeader,
    loads: &[Load],
    limits: &Limits,
) -> Result<DynamicInfo, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let entries = dynamic_entries::<Elf, R>(data, endian, ph, limits)?;

    let mut info = DynamicInfo::default();
    let mut strtab = None;
    let mut strsz = None;
    let mut needed = Vec::new();
    let mut soname = None;
    let mut rpath = None;
    let mut runpath = None;
    for d in entries {
        let tag = d.d_tag(endian).into();
        let val: u64 = d.d_val(endian).into();
        match u32::try_from(tag).unwrap_or(u32::MAX) {
            elf::DT_NULL if tag == 0 => break,
            elf::DT_NEEDED => {
                if needed.len() >= limits.max_needed {
                    return Err(ElfError::Limit("too many DT_NEEDED entries"));
                }
                needed.push(val);
            }
            elf::DT_SONAME => soname = Some(val),
            elf::DT_RPATH => rpath = Some(val),
            elf::DT_RUNPATH => runpath = Some(val),
            elf::DT_STRTAB => strtab = Some(val),
            elf::DT_STRSZ => strsz = Some(val),
            elf::DT_FLAGS => info.flags = val,
            elf::DT_FLAGS_1 => info.flags_1 = val,
            _ => {}
        }
    }

    let wants_strings =
        !needed.is_empty() || soname.is_some() || rpath.is_some() || runpath.is_some();
    if !wants_strings {
        return Ok(info);
    }
    let strtab = strtab.ok_or(ElfError::Malformed("dynamic section has no DT_STRTAB"))?;
    let (str_offset, in_segment) =
        to_offset(loads, strtab).ok_or(ElfError::Malformed("DT_STRTAB is not in a PT_LOAD"))?;
    // The table ends at DT_STRSZ, or at the end of its segment when that is missing or lies.
    let str_size = strsz.map_or(in_segment, |s| s.min(in_segment));
    let string = |off: u64| -> Result<Vec<u8>, ElfError> {
        if off >= str_size {
            return Err(ElfError::Malformed("string offset outside DT_STRTAB"));
        }
        let start = str_offset.saturating_add(off);
        let end = str_offset
            .saturating_add(str_size)
            .min(start.saturating_add(limits.max_string as u64 + 1));
        // Growing windows rather than `read_bytes_at_until`, which a `ReadCache` stops after
        // 4 KiB: a slice and a file must give the same string, up to `max_string`.
        let mut window = 256;
        loop {
            let size = window.min(end - start);
            let bytes = data
                .read_bytes_at(start, size)
                .map_err(|()| ElfError::Malformed("unreadable dynamic string"))?;
            if let Some(len) = bytes.iter().position(|&b| b == 0) {
                return Ok(bytes[..len].to_vec());
            }
            if size == end - start {
                return Err(ElfError::Malformed("unterminated dynamic string"));
            }
            window = window.saturating_mul(8);
        }
    };
    info.needed = needed.into_iter().map(string).collect::<Result<_, _>>()?;
    info.soname = soname.map(string).transpose()?;
    info.rpath = rpath.map(string).transpose()?;
    info.runpath = runpath.map(string).transpose()?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_translate_through_loads() {
        let loads = [
            Load {
                vaddr: 0x1000,
                offset: 0,
                filesz: 0x100,
            },
            Load {
                vaddr: 0x3000,
                offset: 0x200,
                filesz: 0x10,
            },
        ];
        assert_eq!(to_offset(&loads, 0x1010), Some((0x10, 0xf0)));
        assert_eq!(to_offset(&loads, 0x3008), Some((0x208, 8)));
        assert_eq!(to_offset(&loads, 0x3010), None);
        assert_eq!(to_offset(&loads, 0x0fff), None);
    }
}
