//! Just enough ELF reading for the oracle to pick the right loader for a fixture.
//!
//! Deliberately independent of `inuse-elf`: the oracle must not share code with what it
//! checks. Only little-endian files are understood, which covers every fixture we build.

use std::path::Path;

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const ET_DYN: u16 = 3;

/// The facts about an ELF file that decide how its loader is asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfFacts {
    /// `true` for ELFCLASS64, `false` for ELFCLASS32.
    pub is_64: bool,
    /// `e_type == ET_DYN` (a shared library or a PIE).
    pub is_dyn: bool,
    /// The `PT_INTERP` string, if there is one.
    pub interpreter: Option<String>,
    /// Whether a `PT_DYNAMIC` segment exists.
    pub has_dynamic: bool,
}

impl ElfFacts {
    /// Reads the facts from a file; `None` when it is not a little-endian ELF file we can
    /// make sense of.
    pub fn read(path: &Path) -> Option<ElfFacts> {
        let bytes = std::fs::read(path).ok()?;
        ElfFacts::parse(&bytes)
    }

    /// Parses the facts from the bytes of a file.
    pub fn parse(b: &[u8]) -> Option<ElfFacts> {
        if b.get(..4)? != b"\x7fELF" || *b.get(5)? != 1 {
            return None;
        }
        let is_64 = match *b.get(4)? {
            1 => false,
            2 => true,
            _ => return None,
        };
        let u16_at = |off: usize| Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?));
        let u32_at = |off: usize| Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?));
        let u64_at = |off: usize| Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?));
        let word = |off: usize| -> Option<usize> {
            if is_64 {
                usize::try_from(u64_at(off)?).ok()
            } else {
                usize::try_from(u32_at(off)?).ok()
            }
        };
        let e_type = u16_at(16)?;
        let (phoff, phentsize, phnum) = if is_64 {
            (word(32)?, u16_at(54)?, u16_at(56)?)
        } else {
            (word(28)?, u16_at(42)?, u16_at(44)?)
        };
        let mut facts = ElfFacts {
            is_64,
            is_dyn: e_type == ET_DYN,
            interpreter: None,
            has_dynamic: false,
        };
        for i in 0..usize::from(phnum) {
            let ph = phoff.checked_add(i.checked_mul(usize::from(phentsize))?)?;
            let p_type = u32_at(ph)?;
            let (offset, filesz) = if is_64 {
                (word(ph + 8)?, word(ph + 32)?)
            } else {
                (word(ph + 4)?, word(ph + 16)?)
            };
            match p_type {
                PT_DYNAMIC => facts.has_dynamic = true,
                PT_INTERP => {
                    let raw = b.get(offset..offset.checked_add(filesz)?)?;
                    let raw = raw.split(|&c| c == 0).next().unwrap_or(raw);
                    facts.interpreter = Some(String::from_utf8_lossy(raw).into_owned());
                }
                _ => {}
            }
        }
        Some(facts)
    }
}

/// Finds the dynamic entry with tag `tag` whose string value (an offset into `DT_STRTAB`) is
/// `value`; returns the file offset of that entry. 64-bit little-endian files only.
pub(crate) fn find_dynamic_string(b: &[u8], tag: u64, value: &str) -> Option<usize> {
    const PT_LOAD: u32 = 1;
    const DT_NULL: u64 = 0;
    const DT_STRTAB: u64 = 5;
    let facts = ElfFacts::parse(b)?;
    if !facts.is_64 {
        return None;
    }
    let u16_at = |off: usize| Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?));
    let u32_at = |off: usize| Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?));
    let u64_at = |off: usize| Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(32)?).ok()?;
    let (phentsize, phnum) = (usize::from(u16_at(54)?), usize::from(u16_at(56)?));
    let mut loads = Vec::new();
    let mut dynamic = None;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let (offset, vaddr, filesz) = (u64_at(ph + 8)?, u64_at(ph + 16)?, u64_at(ph + 32)?);
        match u32_at(ph)? {
            PT_LOAD => loads.push((vaddr, offset, filesz)),
            PT_DYNAMIC => dynamic = Some((offset, filesz)),
            _ => {}
        }
    }
    let to_offset = |addr: u64| {
        loads
            .iter()
            .find(|(vaddr, _, filesz)| (*vaddr..vaddr + filesz).contains(&addr))
            .and_then(|(vaddr, offset, _)| usize::try_from(addr - vaddr + offset).ok())
    };
    let (dyn_off, dyn_size) = dynamic?;
    let (dyn_off, dyn_size) = (
        usize::try_from(dyn_off).ok()?,
        usize::try_from(dyn_size).ok()?,
    );
    let entries: Vec<(usize, u64, u64)> = (0..dyn_size / 16)
        .map(|i| dyn_off + i * 16)
        .map_while(|at| Some((at, u64_at(at)?, u64_at(at + 8)?)))
        .take_while(|(_, t, _)| *t != DT_NULL)
        .collect();
    let strtab = entries
        .iter()
        .find(|(_, t, _)| *t == DT_STRTAB)
        .and_then(|(_, _, v)| to_offset(*v))?;
    entries.iter().find_map(|(at, t, v)| {
        let start = strtab.checked_add(usize::try_from(*v).ok()?)?;
        let s = b.get(start..)?;
        let s = &s[..s.iter().position(|&c| c == 0)?];
        (*t == tag && s == value.as_bytes()).then_some(*at)
    })
}
