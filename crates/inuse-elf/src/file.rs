//! [`ElfFile`]: one pass over the program headers, shared by the readers of symbols, init
//! windows and notes.
//!
//! [`crate::ElfInfo`] answers the dependency resolver in one go. The facts here are larger
//! (thousands of symbols) and each feature wants a different subset, so they are read on
//! demand from a parsed view that remembers the `PT_LOAD` table, the dynamic entries and the
//! `PT_NOTE` segments. Everything is reached the way the loader reaches it, through program
//! headers and dynamic tags, so it works on stripped and section-less files; section headers
//! are read only for the optional `.symtab` ([`ElfFile::symtab_functions`]).

use std::marker::PhantomData;

use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::{Endianness, Pod, ReadRef, elf};

use crate::dynamic::{Load, dynamic_entries, program_headers, to_offset};
use crate::{Class, ElfError, Ident, Limits};

/// An ELF file whose program headers and dynamic section have been read, ready for the
/// on-demand readers ([`ElfFile::dynamic_symbols`], [`ElfFile::init_info`],
/// [`ElfFile::notes`], [`ElfFile::symtab_functions`]).
///
/// `R` is a byte slice or an [`object::ReadCache`] over an open file; with the cache, only the
/// tables asked for are read:
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let file = std::fs::File::open("/usr/lib/x86_64-linux-gnu/libc.so.6")?;
/// let cache = object::ReadCache::new(&file);
/// let elf = inuse_elf::ElfFile::parse(&cache, &inuse_elf::Limits::default())?;
/// let build_id = elf.notes()?.build_id_hex();
/// # Ok(()) }
/// ```
pub struct ElfFile<'data, R: ReadRef<'data>> {
    data: R,
    limits: Limits,
    ident: Ident,
    endian: Endianness,
    e_type: u16,
    machine: u16,
    loads: Vec<Load>,
    notes: Vec<NoteSegment>,
    /// Dynamic entries up to, not including, `DT_NULL`, as `(tag, value)`.
    dynamic: Vec<(u64, u64)>,
    marker: PhantomData<&'data [u8]>,
}

// Not derived: that would print the whole file.
impl<'data, R: ReadRef<'data>> std::fmt::Debug for ElfFile<'data, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElfFile")
            .field("ident", &self.ident)
            .field("e_type", &self.e_type)
            .field("machine", &self.machine)
            .field("loads", &self.loads)
            .field("notes", &self.notes)
            .field("dynamic", &self.dynamic)
            .finish_non_exhaustive()
    }
}

/// Where a `PT_NOTE` segment lies in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoteSegment {
    pub(crate) offset: u64,
    pub(crate) size: u64,
    pub(crate) align: u64,
}

impl<'data, R: ReadRef<'data>> ElfFile<'data, R> {
    /// Reads the ELF header, the program headers and the dynamic section.
    ///
    /// Fails only when those are unreadable; the tables they point to are checked when they
    /// are asked for.
    pub fn parse(data: R, limits: &Limits) -> Result<Self, ElfError> {
        let ident = Ident::read(data)?;
        match ident.class {
            Class::Elf32 => Self::parse_as::<FileHeader32<Endianness>>(data, ident, limits),
            Class::Elf64 => Self::parse_as::<FileHeader64<Endianness>>(data, ident, limits),
        }
    }

    fn parse_as<Elf: FileHeader<Endian = Endianness>>(
        data: R,
        ident: Ident,
        limits: &Limits,
    ) -> Result<Self, ElfError> {
        let header = Elf::parse(data).map_err(|_| ElfError::TooShort)?;
        let endian = header.endian()?;
        let mut loads = Vec::new();
        let mut notes = Vec::new();
        let mut dynamic_ph = None;
        for ph in program_headers(header, endian, data, limits)? {
            match ph.p_type(endian) {
                elf::PT_LOAD => loads.push(Load {
                    vaddr: ph.p_vaddr(endian).into(),
                    offset: ph.p_offset(endian).into(),
                    filesz: ph.p_filesz(endian).into(),
                }),
                elf::PT_NOTE => {
                    let (offset, size) = ph.file_range(endian);
                    let align = ph.p_align(endian).into();
                    notes.push(NoteSegment {
                        offset,
                        size,
                        align,
                    });
                }
                elf::PT_DYNAMIC if dynamic_ph.is_none() => dynamic_ph = Some(ph),
                _ => {}
            }
        }
        let dynamic = match dynamic_ph {
            Some(ph) => dynamic_entries::<Elf, R>(data, endian, ph, limits)?
                .iter()
                .map(|d| (d.d_tag(endian).into(), d.d_val(endian).into()))
                .take_while(|&(tag, _)| tag != u64::from(elf::DT_NULL))
                .collect(),
            None => Vec::new(),
        };
        Ok(ElfFile {
            data,
            limits: *limits,
            ident,
            endian,
            e_type: header.e_type(endian),
            machine: header.e_machine(endian),
            loads,
            notes,
            dynamic,
            marker: PhantomData,
        })
    }

    /// The identification bytes.
    pub fn ident(&self) -> Ident {
        self.ident
    }

    /// `e_type`: [`crate::ET_EXEC`], [`crate::ET_DYN`], ...
    pub fn e_type(&self) -> u16 {
        self.e_type
    }

    /// `e_machine`.
    pub fn machine(&self) -> u16 {
        self.machine
    }

    /// Translates a virtual address (a symbol value, an init function) to its offset in the
    /// file through the `PT_LOAD` segment that maps it, as uprobes and `/proc/PID/maps`
    /// offsets need. `None` when no segment maps the address from the file (`.bss`, or an
    /// address outside every segment).
    pub fn file_offset(&self, vaddr: u64) -> Option<u64> {
        to_offset(&self.loads, vaddr).map(|(offset, _)| offset)
    }

    pub(crate) fn data(&self) -> R {
        self.data
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn endian(&self) -> Endianness {
        self.endian
    }

    pub(crate) fn class(&self) -> Class {
        self.ident.class
    }

    pub(crate) fn note_segments(&self) -> &[NoteSegment] {
        &self.notes
    }

    /// The value of the first dynamic entry with `tag`, as the loader takes it.
    pub(crate) fn dyn_value(&self, tag: u32) -> Option<u64> {
        let tag = u64::from(tag);
        self.dynamic
            .iter()
            .find(|&&(t, _)| t == tag)
            .map(|&(_, v)| v)
    }

    /// `count` values of `T` at virtual address `vaddr`, all inside one `PT_LOAD` segment's
    /// file bytes. `what` names the table in the error.
    pub(crate) fn slice_at<T: Pod>(
        &self,
        vaddr: u64,
        count: usize,
        what: &'static str,
    ) -> Result<&'data [T], ElfError> {
        let (offset, available) = to_offset(&self.loads, vaddr).ok_or(ElfError::Malformed(what))?;
        let size = (count as u64)
            .checked_mul(size_of::<T>() as u64)
            .ok_or(ElfError::Malformed(what))?;
        if size > available {
            return Err(ElfError::Malformed(what));
        }
        self.data
            .read_slice_at(offset, count)
            .map_err(|()| ElfError::Malformed(what))
    }

    /// One `T` at virtual address `vaddr`.
    pub(crate) fn read_at<T: Pod>(
        &self,
        vaddr: u64,
        what: &'static str,
    ) -> Result<&'data T, ElfError> {
        self.slice_at::<T>(vaddr, 1, what)?
            .first()
            .ok_or(ElfError::Malformed(what))
    }

    /// The bytes from `vaddr` to the end of its segment's file bytes, at most `max`.
    pub(crate) fn bytes_at(
        &self,
        vaddr: u64,
        max: u64,
        what: &'static str,
    ) -> Result<&'data [u8], ElfError> {
        let (offset, available) = to_offset(&self.loads, vaddr).ok_or(ElfError::Malformed(what))?;
        self.data
            .read_bytes_at(offset, available.min(max))
            .map_err(|()| ElfError::Malformed(what))
    }

    /// The dynamic string table (`DT_STRTAB`, `DT_STRSZ`).
    pub(crate) fn dynamic_strings(&self) -> Result<StrTab<'data>, ElfError> {
        let strtab = self
            .dyn_value(elf::DT_STRTAB)
            .ok_or(ElfError::Malformed("dynamic section has no DT_STRTAB"))?;
        let (offset, available) = to_offset(&self.loads, strtab)
            .ok_or(ElfError::Malformed("DT_STRTAB is not in a PT_LOAD"))?;
        // The table ends at DT_STRSZ, or at the end of its segment when that is missing or lies.
        let size = self
            .dyn_value(elf::DT_STRSZ)
            .map_or(available, |s| s.min(available));
        StrTab::read(self.data, offset, size, &self.limits)
    }
}

/// A string table read whole, so that thousands of symbol names cost one read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StrTab<'data> {
    bytes: &'data [u8],
    max_string: usize,
}

impl<'data> StrTab<'data> {
    /// Reads `size` bytes at file offset `offset`, bounded by [`Limits::max_string_table`].
    pub(crate) fn read<R: ReadRef<'data>>(
        data: R,
        offset: u64,
        size: u64,
        limits: &Limits,
    ) -> Result<Self, ElfError> {
        if size > limits.max_string_table as u64 {
            return Err(ElfError::Limit("string table too large"));
        }
        let bytes = data
            .read_bytes_at(offset, size)
            .map_err(|()| ElfError::Malformed("string table outside the file"))?;
        Ok(StrTab {
            bytes,
            max_string: limits.max_string,
        })
    }

    /// The NUL-terminated string at `offset`.
    pub(crate) fn get(&self, offset: u64) -> Result<&'data [u8], ElfError> {
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|o| self.bytes.get(o..))
            .filter(|rest| !rest.is_empty())
            .ok_or(ElfError::Malformed(
                "string offset outside its string table",
            ))?;
        let window = &rest[..rest.len().min(self.max_string.saturating_add(1))];
        match window.iter().position(|&b| b == 0) {
            Some(end) => Ok(&window[..end]),
            None if window.len() < rest.len() => Err(ElfError::Limit("string too long")),
            None => Err(ElfError::Malformed("unterminated string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(bytes: &[u8], max_string: usize) -> StrTab<'_> {
        StrTab { bytes, max_string }
    }

    #[test]
    fn strings_are_bounded_by_table_and_limit() {
        let t = table(b"\0libc.so.6\0abc", 16);
        assert_eq!(t.get(0).ok(), Some(&b""[..]));
        assert_eq!(t.get(1).ok(), Some(&b"libc.so.6"[..]));
        assert_eq!(t.get(4).ok(), Some(&b"c.so.6"[..]));
        assert!(matches!(
            t.get(11),
            Err(ElfError::Malformed("unterminated string"))
        ));
        assert!(t.get(14).is_err());
        assert!(t.get(u64::MAX).is_err());
        let t = table(b"\0libc.so.6\0", 4);
        assert!(matches!(t.get(1), Err(ElfError::Limit(_))));
        assert_eq!(t.get(7).ok(), Some(&b"o.6"[..]));
    }
}
