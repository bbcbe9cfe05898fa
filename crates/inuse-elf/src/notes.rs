//! ELF notes from `PT_NOTE` segments: build ID, ABI tag and package metadata.
//!
//! A build ID names the exact build of a file, the key for debug symbols and for telling two
//! files with the same path and version apart. The package note, where distributions add it
//! (Fedora, some Debian and Arch builds via systemd's tooling), names the package a file came
//! from even when no package database is at hand (containers, copied binaries). Both live in
//! note segments, which survive stripping: section headers are not needed.
//!
//! Note formats:
//! - `NT_GNU_BUILD_ID` (owner `GNU`, type 3): the ID bytes, usually a 20-byte SHA-1.
//! - `NT_GNU_ABI_TAG` (owner `GNU`, type 1): four 32-bit words: OS, then the oldest kernel
//!   version the file runs on.
//! - `NT_FDO_PACKAGING_METADATA` (owner `FDO`, type `0xcafe1a7e`): a NUL-terminated JSON
//!   object, specified at <https://systemd.io/ELF_PACKAGE_METADATA/>. It is returned raw, for
//!   the caller to parse with a JSON parser under its own limits.
//!
//! Note headers have 32-bit fields in both ELF classes; `p_align` 8 means 8-byte padding
//! (`.note.gnu.property`), anything up to 4 means 4, as binutils reads them.

use object::elf::FileHeader32;
use object::read::elf::NoteIterator;
use object::{Endian, Endianness, ReadRef, elf};

use crate::ElfError;
use crate::file::ElfFile;

/// `NT_FDO_PACKAGING_METADATA`: systemd's package metadata note.
const NT_FDO_PACKAGING_METADATA: u32 = 0xcafe_1a7e;
/// The owner name of the package metadata note.
const FDO_OWNER: &[u8] = b"FDO";

/// The notes of one file that inuse uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// `NT_GNU_BUILD_ID`: the build ID bytes (the first such note).
    pub build_id: Option<Vec<u8>>,
    /// `NT_GNU_ABI_TAG`.
    pub abi_tag: Option<AbiTag>,
    /// The package metadata JSON, raw, without its terminating NULs.
    pub package_metadata: Option<Vec<u8>>,
}

/// `NT_GNU_ABI_TAG`: the OS and the oldest kernel version the file supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbiTag {
    /// `ELF_NOTE_OS_*`: 0 Linux, 1 GNU Hurd, 2 Solaris, 3 FreeBSD.
    pub os: u32,
    /// Major, minor and patch version.
    pub version: [u32; 3],
}

impl Notes {
    /// The build ID in lowercase hex, as `readelf -n` and debuginfod spell it.
    pub fn build_id_hex(&self) -> Option<String> {
        self.build_id.as_deref().map(|id| {
            use std::fmt::Write;
            id.iter()
                .fold(String::with_capacity(id.len() * 2), |mut hex, b| {
                    let _ = write!(hex, "{b:02x}");
                    hex
                })
        })
    }

    /// The package metadata as text, if it is UTF-8 (JSON must be).
    pub fn package_json(&self) -> Option<&str> {
        std::str::from_utf8(self.package_metadata.as_deref()?).ok()
    }
}

impl<'data, R: ReadRef<'data>> ElfFile<'data, R> {
    /// The notes of all `PT_NOTE` segments, read up to [`crate::Limits::max_note_bytes`] in
    /// all. A malformed note is an error.
    pub fn notes(&self) -> Result<Notes, ElfError> {
        let endian = self.endian();
        let limits = self.limits();
        let mut budget = limits.max_note_bytes as u64;
        let mut notes = Notes::default();
        for segment in self.note_segments() {
            budget = budget
                .checked_sub(segment.size)
                .ok_or(ElfError::Limit("note segments too large"))?;
            let bytes = self
                .data()
                .read_bytes_at(segment.offset, segment.size)
                .map_err(|()| ElfError::Malformed("PT_NOTE outside the file"))?;
            let align = u32::try_from(segment.align).unwrap_or(u32::MAX);
            // The 32-bit and 64-bit note headers are the same three 32-bit words.
            let mut iter = NoteIterator::<FileHeader32<Endianness>>::new(endian, align, bytes)?;
            while let Some(note) = iter.next()? {
                let desc = note.desc();
                match (note.name(), note.n_type(endian)) {
                    (elf::ELF_NOTE_GNU, elf::NT_GNU_BUILD_ID) if notes.build_id.is_none() => {
                        notes.build_id = Some(desc.to_vec());
                    }
                    (elf::ELF_NOTE_GNU, elf::NT_GNU_ABI_TAG) if notes.abi_tag.is_none() => {
                        notes.abi_tag = Some(abi_tag(endian, desc)?);
                    }
                    (FDO_OWNER, NT_FDO_PACKAGING_METADATA) if notes.package_metadata.is_none() => {
                        let end = desc
                            .iter()
                            .rposition(|&b| b != 0)
                            .map_or(0, |last| last + 1);
                        if end > limits.max_string {
                            return Err(ElfError::Limit("package metadata note too large"));
                        }
                        notes.package_metadata = Some(desc[..end].to_vec());
                    }
                    _ => {}
                }
            }
        }
        Ok(notes)
    }
}

fn abi_tag(endian: Endianness, desc: &[u8]) -> Result<AbiTag, ElfError> {
    let word = |i: usize| {
        desc.get(i * 4..i * 4 + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map(|w| endian.read_u32_bytes(w))
            .ok_or(ElfError::Malformed("NT_GNU_ABI_TAG note too short"))
    };
    Ok(AbiTag {
        os: word(0)?,
        version: [word(1)?, word(2)?, word(3)?],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_id_is_lowercase_hex() {
        let notes = Notes {
            build_id: Some(vec![0x0a, 0xff, 0x10]),
            ..Notes::default()
        };
        assert_eq!(notes.build_id_hex().as_deref(), Some("0aff10"));
    }

    #[test]
    fn abi_tag_needs_four_words() {
        let desc = [0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
        let tag = abi_tag(Endianness::Little, &desc).ok();
        assert_eq!(
            tag,
            Some(AbiTag {
                os: 0,
                version: [3, 2, 0]
            })
        );
        assert!(abi_tag(Endianness::Little, &desc[..12]).is_err());
    }
}
