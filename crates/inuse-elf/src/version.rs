//! GNU symbol versions: `DT_VERSYM`, `DT_VERDEF` and `DT_VERNEED`.
//!
//! `DT_VERSYM` is an array of 16-bit indices parallel to the dynamic symbol table. Index 0 is
//! local and 1 global (no version); any other index names a version that this file defines (a
//! `DT_VERDEF` record, `vd_ndx`) or requires from a dependency (a `DT_VERNEED` auxiliary record,
//! `vna_other`, whose parent names the library in `vn_file`). The top bit marks a hidden
//! version: `sym@VER`, which only a versioned reference can bind to, rather than the default
//! `sym@@VER`. Reference: the LSB "Symbol Versioning" chapter and glibc `dl-version.c`.
//!
//! Both tables are linked lists whose records point to the next one by a relative offset
//! (`vd_next`, `vd_aux`, `vn_next`, `vna_next`). The offsets are unsigned and a zero ends a
//! list, so a chain cannot loop back on itself, but a hostile file can make it as long as it
//! likes: a walk stops after the count the dynamic section announces (`DT_VERDEFNUM`,
//! `DT_VERNEEDNUM`, `vn_cnt`) or at a zero link, whichever comes first, and all walks together
//! spend at most [`crate::Limits::max_versions`] records. Every record is read through the
//! `PT_LOAD` table with bounds checks.

use std::collections::HashMap;

use object::{Endianness, ReadRef, elf};

use crate::file::{ElfFile, StrTab};
use crate::{ElfError, Version};

/// The versions of one file's dynamic symbols.
pub(crate) struct VersionTable<'data> {
    versym: &'data [elf::Versym<Endianness>],
    endian: Endianness,
    names: HashMap<u16, Named<'data>>,
}

/// What a version index stands for.
#[derive(Clone, Copy)]
struct Named<'data> {
    name: &'data [u8],
    /// The `vn_file` of a required version; `None` for one this file defines.
    library: Option<&'data [u8]>,
}

impl<'data> VersionTable<'data> {
    /// Reads the version tables for `symbols` dynamic symbols; `None` if the file has no
    /// `DT_VERSYM`, in which case no symbol is versioned.
    pub(crate) fn read<R: ReadRef<'data>>(
        file: &ElfFile<'data, R>,
        strings: &StrTab<'data>,
        symbols: usize,
    ) -> Result<Option<Self>, ElfError> {
        let Some(versym) = file.dyn_value(elf::DT_VERSYM) else {
            return Ok(None);
        };
        let versym = file.slice_at(versym, symbols, "DT_VERSYM outside the file")?;
        let mut budget = Budget(file.limits().max_versions);
        let mut names = HashMap::new();
        read_definitions(file, strings, &mut budget, &mut names)?;
        read_requirements(file, strings, &mut budget, &mut names)?;
        Ok(Some(VersionTable {
            versym,
            endian: file.endian(),
            names,
        }))
    }

    /// The version of symbol `index`; `None` for local and global (unversioned) symbols.
    pub(crate) fn version(&self, index: usize) -> Result<Option<Version>, ElfError> {
        let raw = self
            .versym
            .get(index)
            .ok_or(ElfError::Malformed("symbol has no DT_VERSYM entry"))?
            .0
            .get(self.endian);
        let ndx = raw & elf::VERSYM_VERSION;
        if ndx <= elf::VER_NDX_GLOBAL {
            return Ok(None);
        }
        let named = self.names.get(&ndx).ok_or(ElfError::Malformed(
            "symbol version index is neither defined nor required",
        ))?;
        Ok(Some(Version {
            name: named.name.to_vec(),
            hidden: raw & elf::VERSYM_HIDDEN != 0,
            library: named.library.map(<[u8]>::to_vec),
        }))
    }
}

/// The records a file may still make us read.
struct Budget(usize);

impl Budget {
    fn spend(&mut self) -> Result<(), ElfError> {
        self.0 = self
            .0
            .checked_sub(1)
            .ok_or(ElfError::Limit("too many version records"))?;
        Ok(())
    }
}

/// The address `offset` bytes after `base`, or an error if it wraps.
fn advance(base: u64, offset: u32) -> Result<u64, ElfError> {
    base.checked_add(u64::from(offset))
        .ok_or(ElfError::Malformed("version record offset overflows"))
}

fn read_definitions<'data, R: ReadRef<'data>>(
    file: &ElfFile<'data, R>,
    strings: &StrTab<'data>,
    budget: &mut Budget,
    names: &mut HashMap<u16, Named<'data>>,
) -> Result<(), ElfError> {
    let Some(mut at) = file.dyn_value(elf::DT_VERDEF) else {
        return Ok(());
    };
    let endian = file.endian();
    let count = file.dyn_value(elf::DT_VERDEFNUM).unwrap_or(u64::MAX);
    for _ in 0..count {
        budget.spend()?;
        let def: &elf::Verdef<Endianness> =
            file.read_at(at, "DT_VERDEF record outside the file")?;
        // The base definition (index 1) names the file itself, not a version.
        let is_base = def.vd_flags.get(endian) & elf::VER_FLG_BASE != 0;
        if !is_base && def.vd_cnt.get(endian) > 0 {
            let aux_at = advance(at, def.vd_aux.get(endian))?;
            let aux: &elf::Verdaux<Endianness> =
                file.read_at(aux_at, "DT_VERDEF name record outside the file")?;
            let name = strings.get(aux.vda_name.get(endian).into())?;
            let ndx = def.vd_ndx.get(endian) & elf::VERSYM_VERSION;
            names.entry(ndx).or_insert(Named {
                name,
                library: None,
            });
        }
        match def.vd_next.get(endian) {
            0 => break,
            next => at = advance(at, next)?,
        }
    }
    Ok(())
}

fn read_requirements<'data, R: ReadRef<'data>>(
    file: &ElfFile<'data, R>,
    strings: &StrTab<'data>,
    budget: &mut Budget,
    names: &mut HashMap<u16, Named<'data>>,
) -> Result<(), ElfError> {
    let Some(mut at) = file.dyn_value(elf::DT_VERNEED) else {
        return Ok(());
    };
    let endian = file.endian();
    let count = file.dyn_value(elf::DT_VERNEEDNUM).unwrap_or(u64::MAX);
    for _ in 0..count {
        budget.spend()?;
        let need: &elf::Verneed<Endianness> =
            file.read_at(at, "DT_VERNEED record outside the file")?;
        let library = strings.get(need.vn_file.get(endian).into())?;
        let mut aux_at = advance(at, need.vn_aux.get(endian))?;
        for _ in 0..need.vn_cnt.get(endian) {
            budget.spend()?;
            let aux: &elf::Vernaux<Endianness> =
                file.read_at(aux_at, "DT_VERNEED version record outside the file")?;
            let name = strings.get(aux.vna_name.get(endian).into())?;
            let ndx = aux.vna_other.get(endian) & elf::VERSYM_VERSION;
            names.entry(ndx).or_insert(Named {
                name,
                library: Some(library),
            });
            match aux.vna_next.get(endian) {
                0 => break,
                next => aux_at = advance(aux_at, next)?,
            }
        }
        match need.vn_next.get(endian) {
            0 => break,
            next => at = advance(at, next)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out() {
        let limits = crate::Limits {
            max_versions: 2,
            ..crate::Limits::default()
        };
        let mut budget = Budget(limits.max_versions);
        assert!(budget.spend().is_ok());
        assert!(budget.spend().is_ok());
        assert!(matches!(budget.spend(), Err(ElfError::Limit(_))));
    }

    #[test]
    fn offsets_do_not_wrap() {
        assert_eq!(advance(16, 4).ok(), Some(20));
        assert!(advance(u64::MAX - 1, 4).is_err());
    }
}
