//! Did a loaded object's code run? The resident-page method.
//!
//! A file mapping's page is present in a process's page tables only after that process
//! faulted on it (file pages are not copied into a child's page tables at `fork`, and
//! `execve` starts empty). On a fault the kernel also maps the neighbouring pages that are
//! already in the page cache, up to `fault_around_bytes` (64 KiB by default, settable only in
//! debugfs), aligned in the virtual address space (`mm/memory.c: do_fault_around`). So a
//! resident page of an *executable* mapping means: this process touched something in the
//! fault-around block around it. `/proc/PID/pagemap` gives that per page (bit 63 present,
//! 62 swapped); it reflects this process's page tables, not the shared page cache, which is
//! what we want: a library resident in the page cache because another process used it says
//! nothing about this one.
//!
//! Not every touch is the program calling the library. The loader runs code of every object
//! by itself: `DT_INIT`, `DT_INIT_ARRAY` and `DT_PREINIT_ARRAY` functions and IFUNC
//! resolvers, and code they call through the PLT; and for objects without `-z separate-code`
//! (text and read-only data in one executable segment) it reads the ELF header, symbol, hash,
//! version and relocation tables through that mapping. These are the *load windows*, widened
//! to whole fault-around blocks. The verdicts:
//!
//! - [`Executed::Yes`]: a resident executable page lies outside every load window;
//! - [`Executed::InitOnly`]: resident pages only inside load windows;
//! - [`Executed::None`]: no resident executable page;
//! - [`Executed::Unknown`]: we cannot tell: pagemap (and smaps) unreadable, the windows cover
//!   every executable page (a small library), only smaps Rss is readable and it fits inside
//!   the windows, or the process-wide checks in [`crate::sweep`] distrust residency (locked
//!   memory, reclaimed pages).
//!
//! Direction of the errors (a false "not used" is the worst bug): residency over-reports
//! (fault-around, PMD-mapped text, reads of constants in old-layout text) only ever towards
//! `Yes`. It under-reports when executed pages were later reclaimed under memory pressure
//! (then the executable's own pages are usually gone too, which the sweep detects and turns
//! into `Unknown`), and it cannot separate real calls from load-time code in the same
//! fault-around block, which is why `InitOnly` means "no evidence beyond load time" and is
//! never proof of non-use. `inuse observe` accumulates sweeps so a page seen once is kept.
//!
//! Why there is no page-exact refinement from accessed bits. `inuse` only reads: it never
//! writes `/proc/PID/clear_refs` (that clears the targets' page-table accessed bits, which
//! reclaim and working-set estimators such as DAMON rely on). Without clearing, the accessed
//! bits as `/proc/PID/smaps` `Referenced` reports them carry no more information than
//! residency on x86-64, measured on Linux 6.18: the PTEs that fault-around creates are
//! created *young* (x86's `PAGE_READONLY_EXEC` includes `_PAGE_ACCESSED`, so `mk_pte` gives a
//! young entry; only arm64 asks for old prefaulted entries, `arch_wants_old_prefaulted_pte`),
//! so `Referenced` equals `Rss` for a fresh mapping: a program linked to a fresh,
//! uncached copy of libz that never calls it had 16 resident pages, all 16 young, with the
//! page-cache `PG_referenced` flag clear on all of them (`/proc/kpageflags`), while load-time
//! code is on one page. `Referenced` also counts the shared page-cache flag that any
//! `read(2)` of the file sets, and only falls below `Rss` after reclaim or DAMON aged the
//! entries, at times we cannot know. "`Referenced` above the load-time pages" would call
//! every linked library executed, so it is not used.

use std::fs::File;

use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, ReadRef, elf};
use serde::Serialize;

use crate::maps::Mapping;
use crate::process::Residency;

/// `DT_RELRSZ` and `DT_RELR` (gABI 2022; not in `object` 0.36).
const DT_RELRSZ: u32 = 35;
const DT_RELR: u32 = 36;

/// The kernel's default `fault_around_bytes`.
pub const DEFAULT_FAULT_AROUND: u64 = 65536;

/// How strongly a mapped object's code is shown to have run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Executed {
    /// We cannot tell (see the module documentation).
    Unknown,
    /// No executable page of it is resident in this process.
    None,
    /// Only pages that load-time code touches are resident.
    InitOnly,
    /// Code outside the load-time windows is resident: it ran.
    Yes,
}

impl Executed {
    /// The stable name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Executed::Unknown => "unknown",
            Executed::None => "none",
            Executed::InitOnly => "init-only",
            Executed::Yes => "yes",
        }
    }

    /// Parses [`Executed::as_str`].
    pub fn parse(s: &str) -> Option<Executed> {
        [
            Executed::Unknown,
            Executed::None,
            Executed::InitOnly,
            Executed::Yes,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// `fault_around_bytes` from debugfs when it is mounted and readable, else the default.
pub fn fault_around_bytes() -> u64 {
    std::fs::read_to_string("/sys/kernel/debug/fault_around_bytes")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&b| b.is_power_of_two())
        .unwrap_or(DEFAULT_FAULT_AROUND)
}

/// The file ranges `[start, end)` of one ELF file that load-time code touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadWindows {
    /// File-offset ranges.
    pub ranges: Vec<(u64, u64)>,
}

impl LoadWindows {
    /// Reads the windows of an open ELF file: init functions and IFUNC resolvers (through
    /// [`inuse_elf::ElfFile::init_info`]), the PLT sections, and the loader-read tables.
    pub fn read(file: &File) -> Result<LoadWindows, inuse_elf::ElfError> {
        let cache = object::ReadCache::new(file);
        LoadWindows::parse(&cache)
    }

    /// As [`LoadWindows::read`], over any data.
    pub fn parse<'d, R: ReadRef<'d>>(data: R) -> Result<LoadWindows, inuse_elf::ElfError> {
        let elf = inuse_elf::ElfFile::parse(data, &inuse_elf::Limits::default())?;
        let init = elf.init_info()?;
        // Fini functions run at exit, not while the process is alive: not a window.
        let mut ranges: Vec<(u64, u64)> = init
            .init
            .iter()
            .chain(&init.preinit_array)
            .chain(&init.init_array)
            .chain(&init.ifunc_resolvers)
            .filter(|&&a| a != 0)
            .filter_map(|&a| elf.file_offset(a))
            .map(|o| (o, o + 1))
            .collect();
        let extra = match elf.ident().class {
            inuse_elf::Class::Elf32 => {
                extra_ranges::<elf::FileHeader32<Endianness>, R>(data).unwrap_or_default()
            }
            inuse_elf::Class::Elf64 => {
                extra_ranges::<elf::FileHeader64<Endianness>, R>(data).unwrap_or_default()
            }
        };
        ranges.extend(extra);
        ranges.sort_unstable();
        ranges.dedup();
        Ok(LoadWindows { ranges })
    }
}

/// PLT sections (by section header, when present) and the prefix of the file holding the ELF
/// header, program headers and the tables the loader reads (ending with the last of them).
fn extra_ranges<'d, Elf, R>(data: R) -> Result<Vec<(u64, u64)>, object::Error>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'d>,
{
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let phdrs = header.program_headers(endian, data)?;
    let loads: Vec<(u64, u64, u64)> = phdrs
        .iter()
        .filter(|p| p.p_type(endian) == elf::PT_LOAD)
        .map(|p| {
            (
                p.p_vaddr(endian).into(),
                p.p_offset(endian).into(),
                p.p_filesz(endian).into(),
            )
        })
        .collect();
    let to_offset = |vaddr: u64| {
        loads
            .iter()
            .find(|&&(v, _, size)| vaddr >= v && vaddr - v < size)
            .map(|&(v, off, _)| off + (vaddr - v))
    };
    let mut out = Vec::new();
    let phdr_end: u64 = header.e_phoff(endian).into();
    let phdr_end = phdr_end
        .saturating_add(u64::from(header.e_phnum(endian)) * u64::from(header.e_phentsize(endian)));
    let mut prefix_end = phdr_end;
    for ph in phdrs {
        if ph.p_type(endian) != elf::PT_DYNAMIC {
            continue;
        }
        let Ok(Some(dyns)) = ph.dynamic(endian, data) else {
            continue;
        };
        let value = |tag: u32| {
            dyns.iter()
                .find(|d| d.d_tag(endian).into() == u64::from(tag))
                .map(|d| d.d_val(endian).into())
        };
        let tables = [
            (elf::DT_HASH, None),
            (elf::DT_GNU_HASH, None),
            (elf::DT_SYMTAB, None),
            (elf::DT_STRTAB, Some(elf::DT_STRSZ)),
            (elf::DT_VERSYM, None),
            (elf::DT_VERDEF, None),
            (elf::DT_VERNEED, None),
            (elf::DT_RELA, Some(elf::DT_RELASZ)),
            (elf::DT_REL, Some(elf::DT_RELSZ)),
            (elf::DT_JMPREL, Some(elf::DT_PLTRELSZ)),
            (DT_RELR, Some(DT_RELRSZ)),
        ];
        for (tag, size_tag) in tables {
            let Some(offset) = value(tag).and_then(to_offset) else {
                continue;
            };
            let size = size_tag.and_then(value).unwrap_or(1);
            prefix_end = prefix_end.max(offset.saturating_add(size));
        }
        break;
    }
    out.push((0, prefix_end.max(1)));
    if let Ok(sections) = header.sections(endian, data) {
        for section in sections.iter() {
            let Ok(name) = sections.section_name(endian, section) else {
                continue;
            };
            if matches!(
                name,
                b".plt" | b".plt.sec" | b".plt.got" | b".iplt" | b".init"
            ) {
                if let Some((offset, size)) = section.file_range(endian) {
                    out.push((offset, offset.saturating_add(size.max(1))));
                }
            }
        }
    }
    Ok(out)
}

/// One executable mapping of an object with its residency.
#[derive(Debug, Clone, Copy)]
pub struct ExecMapping<'a> {
    /// The mapping.
    pub mapping: &'a Mapping,
    /// Its resident pages.
    pub residency: &'a Residency,
}

/// The verdict for one object in one process, from its executable mappings.
pub fn classify(
    mappings: &[ExecMapping<'_>],
    windows: &LoadWindows,
    fault_around: u64,
    page_size: u64,
) -> Executed {
    if mappings.is_empty() {
        // Mapped without execute permission (data only): nothing to run.
        return Executed::None;
    }
    let mut any_resident = false;
    let mut measurable = false;
    let mut rss_unclear = false;
    for em in mappings {
        let m = em.mapping;
        let covered = covered_ranges(m, windows, fault_around, page_size);
        let in_window = |va: u64| covered.iter().any(|&(a, b)| va >= a && va < b);
        let covered_bytes: u64 = covered.iter().map(|&(a, b)| b - a).sum();
        if covered_bytes < m.len() {
            measurable = true;
        }
        match em.residency {
            Residency::Pages(_) => {
                for i in 0..m.len() / page_size {
                    if em.residency.page(i) {
                        any_resident = true;
                        if !in_window(m.start + i * page_size) {
                            return Executed::Yes;
                        }
                    }
                }
            }
            &Residency::Rss(bytes) => {
                if bytes > covered_bytes {
                    // More resident than the windows can hold: some page lies outside.
                    return Executed::Yes;
                }
                if bytes > 0 {
                    any_resident = true;
                    rss_unclear = true;
                }
            }
            Residency::Unreadable => return Executed::Unknown,
        }
    }
    match (any_resident, measurable, rss_unclear) {
        (false, _, _) => Executed::None,
        (true, true, false) => Executed::InitOnly,
        _ => Executed::Unknown,
    }
}

/// The load windows that fall into mapping `m`, as the virtual address ranges whose pages a
/// touch of the window may have made resident, merged.
///
/// This mirrors `do_fault_around` (mm/memory.c, Linux 6.4 and later): a fault at address `A`
/// maps up to `fault_around` bytes starting at `A` rounded down to `fault_around`, but never
/// before the start of the mapping or of `A`'s page table (a PMD: 512 pages), and the window
/// keeps its full length when that clamping moves its start up. It ends at the mapping's and
/// the page table's end.
pub fn covered_ranges(
    m: &Mapping,
    windows: &LoadWindows,
    fault_around: u64,
    page_size: u64,
) -> Vec<(u64, u64)> {
    let fa = fault_around.max(page_size).max(1);
    // Bytes mapped by one page table: a page of 8-byte entries.
    let pmd = (page_size / 8).max(1) * page_size;
    let around = |addr: u64| {
        let pmd_start = addr / pmd * pmd;
        let from = (addr / fa * fa).max(m.start).max(pmd_start);
        let to = from
            .saturating_add(fa)
            .min(m.end)
            .min(pmd_start.saturating_add(pmd));
        (from, to)
    };
    let file_end = m.offset.saturating_add(m.len());
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &(a, b) in windows
        .ranges
        .iter()
        .filter(|&&(a, b)| b > m.offset && a < file_end)
    {
        let va_a = m.start + (a.max(m.offset) - m.offset);
        let va_b = m.start + (b.min(file_end) - m.offset);
        // Every fault-around block the range touches, from its first to its last byte.
        let mut addr = va_a;
        loop {
            let (from, to) = around(addr);
            out.push((from, to.max(addr + 1)));
            let next = (addr / fa + 1) * fa;
            if next >= va_b || next <= addr {
                break;
            }
            addr = next;
        }
    }
    out.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(out.len());
    for (a, b) in out {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::maps::Target;

    const PAGE: u64 = 4096;
    const FA: u64 = 65536;

    fn mapping(start: u64, len: u64, offset: u64) -> Mapping {
        Mapping {
            start,
            end: start + len,
            read: true,
            write: false,
            exec: true,
            shared: false,
            offset,
            dev: 1,
            inode: 2,
            target: Target::File {
                path: b"/lib/x.so".to_vec(),
                deleted: false,
            },
        }
    }

    fn pages(resident: &[u64]) -> Residency {
        let mut bits = vec![0u64; 64];
        for &p in resident {
            bits[(p / 64) as usize] |= 1 << (p % 64);
        }
        Residency::Pages(bits)
    }

    fn verdict(m: &Mapping, r: &Residency, windows: &[(u64, u64)]) -> Executed {
        let w = LoadWindows {
            ranges: windows.to_vec(),
        };
        classify(
            &[ExecMapping {
                mapping: m,
                residency: r,
            }],
            &w,
            FA,
            PAGE,
        )
    }

    #[test]
    fn windows_widen_to_fault_around_blocks_in_address_space() {
        // Text at file offset 0x1000 mapped at 0x7000_1000: the block of the init function at
        // file offset 0x1100 would start at 0x7000_0000, before the mapping; the kernel then
        // starts the window at the mapping and keeps its full 64 KiB.
        let m = mapping(0x7000_1000, 0x40000, 0x1000);
        let w = LoadWindows {
            ranges: vec![(0x1100, 0x1101), (0x30000, 0x30001)],
        };
        assert_eq!(
            covered_ranges(&m, &w, FA, PAGE),
            vec![(0x7000_1000, 0x7001_1000), (0x7003_0000, 0x7004_0000)]
        );
        // A window never crosses a page table (2 MiB) boundary, nor the mapping's end.
        let m = mapping(0x7010_0000, 0x20_0000, 0);
        let w = LoadWindows {
            ranges: vec![(0xf_f000, 0xf_f001)],
        };
        assert_eq!(
            covered_ranges(&m, &w, FA, PAGE),
            vec![(0x701f_0000, 0x7020_0000)]
        );
        // A range spanning blocks covers each of them.
        let m = mapping(0x8000_0000, 0x10_0000, 0);
        let w = LoadWindows {
            ranges: vec![(0x1_8000, 0x3_1000)],
        };
        assert_eq!(
            covered_ranges(&m, &w, FA, PAGE),
            vec![(0x8001_0000, 0x8004_0000)]
        );
    }

    #[test]
    fn verdicts() {
        let m = mapping(0x10_0000, 40 * PAGE, 0);
        // Window: the first 64 KiB block = pages 0..16.
        let w = [(0x100, 0x101)];
        assert_eq!(verdict(&m, &pages(&[]), &w), Executed::None);
        assert_eq!(verdict(&m, &pages(&[0, 3, 15]), &w), Executed::InitOnly);
        assert_eq!(verdict(&m, &pages(&[0, 16]), &w), Executed::Yes);
        assert_eq!(verdict(&m, &Residency::Unreadable, &w), Executed::Unknown);
        // A library entirely inside its windows cannot be told apart from load-time code.
        let small = mapping(0x10_0000, 8 * PAGE, 0);
        assert_eq!(verdict(&small, &pages(&[0, 5]), &w), Executed::Unknown);
        assert_eq!(verdict(&small, &pages(&[]), &w), Executed::None);
    }

    #[test]
    fn rss_only_decides_when_it_exceeds_the_windows() {
        let m = mapping(0x10_0000, 40 * PAGE, 0);
        let w = [(0x100, 0x101)];
        assert_eq!(verdict(&m, &Residency::Rss(0), &w), Executed::None);
        assert_eq!(verdict(&m, &Residency::Rss(17 * PAGE), &w), Executed::Yes);
        assert_eq!(verdict(&m, &Residency::Rss(PAGE), &w), Executed::Unknown);
    }

    #[test]
    fn names_round_trip() {
        for e in [
            Executed::Unknown,
            Executed::None,
            Executed::InitOnly,
            Executed::Yes,
        ] {
            assert_eq!(Executed::parse(e.as_str()), Some(e));
        }
        assert!(Executed::None < Executed::InitOnly && Executed::InitOnly < Executed::Yes);
    }

    #[test]
    fn windows_of_a_real_library() {
        let Ok(file) = File::open("/proc/self/exe") else {
            return;
        };
        let w = LoadWindows::read(&file).unwrap();
        // The header prefix and at least one init function.
        assert!(w.ranges.iter().any(|&(a, _)| a == 0));
        assert!(w.ranges.len() >= 2, "{w:?}");
    }
}
