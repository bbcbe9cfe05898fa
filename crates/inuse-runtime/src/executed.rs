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
//! - [`Executed::Yes`]: a resident executable page of the file's own lies outside every load
//!   window, or a page of a quiet read-only data segment ([`QuietSegment`]: constants nothing
//!   reads at load time) is resident outside the blocks of its exported data;
//! - [`Executed::InitOnly`]: resident pages only inside load windows;
//! - [`Executed::None`]: no resident executable page, and the object has no load-time code;
//! - [`Executed::Unknown`]: we cannot tell: pagemap (and smaps) unreadable, the windows cover
//!   every executable page (a small library), only smaps Rss is readable and it fits inside
//!   the windows, the process-wide checks in [`crate::sweep`] distrust residency (locked
//!   memory, reclaimed pages), or the object's residency was disturbed ([`Disturbance`]).
//!
//! Pages that are not the file's own. Writing into a private file mapping replaces the page
//! with an anonymous copy in that process; pagemap tells them apart (bit 61). The usual
//! writer of text is the kernel itself: a uprobe (our `inuse trace`, `perf probe`, bpftrace,
//! agents probing libssl) writes its breakpoint into a copy of the probed page in every
//! process that maps the file, when it maps it or when the probe is registered, and drops the
//! copy when the probe goes. A copy exists whether the code ran or not, and code that runs on
//! it faults in no file page; so copies are never evidence, an object with copies can only be
//! `yes` (from its own pages away from them) or `unknown`, and an object with load-time code
//! and no resident text at all (its copies were dropped) is `unknown`, not `none`. Measured on
//! Linux 6.18: a program started while every exported function of a private copy of libz was
//! probed had 14 of the 19 text pages as copies and no file page; once the probes were
//! removed, one copy and no file page were left.
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

/// The file ranges `[start, end)` of one ELF file that load-time code touches, and its
/// read-only data that nothing reads at load time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadWindows {
    /// File-offset ranges of code (and, without `-z separate-code`, tables) run or read at
    /// load time.
    pub ranges: Vec<(u64, u64)>,
    /// Read-only, non-executable segments that neither the loader nor the object's own
    /// load-time code reads (see [`QuietSegment`]); empty when the object runs constructors,
    /// IFUNC resolvers or has text relocations.
    pub quiet: Vec<QuietSegment>,
    /// File ranges inside quiet segments that the loader may read all the same: exported data
    /// objects, which a copy relocation of the executable copies at load time.
    pub quiet_windows: Vec<(u64, u64)>,
    /// The loader runs code of the object itself (an init function, a constructor or an IFUNC
    /// resolver): once loaded, some page of its text has been resident in the process.
    pub load_code: bool,
}

/// A read-only data segment (`.rodata`, `.eh_frame`: `PT_LOAD` with only `PF_R`, placed after
/// the text by `-z separate-code`) that no load-time activity reads. One of its pages
/// resident in a process means that, after loading, something read this object's constants:
/// its own code (the usual case: tables, strings, jump tables), an unwinder walking through
/// its frames, or a caller reading its exported data. Evidence of use that survives the
/// fault-around blocks load-time code shares with the rest of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietSegment {
    /// File offset of its first byte (`p_offset`; its mapping starts at this offset rounded
    /// down to a page).
    pub start: u64,
    /// File offset one past its last byte.
    pub end: u64,
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
            .map(|o| (o, o.saturating_add(1)))
            .collect();
        let extra = match elf.ident().class {
            inuse_elf::Class::Elf32 => {
                extra_ranges::<elf::FileHeader32<Endianness>, R>(data).unwrap_or_default()
            }
            inuse_elf::Class::Elf64 => {
                extra_ranges::<elf::FileHeader64<Endianness>, R>(data).unwrap_or_default()
            }
        };
        let load_code = !ranges.is_empty();
        ranges.extend(extra.ranges);
        ranges.sort_unstable();
        ranges.dedup();
        // Load-time code of the object itself may read its constants: only objects whose one
        // load-time function is the toolchain's `frame_dummy` (one `DT_INIT_ARRAY` entry; the
        // crti `_init` calls nothing of the object) have quiet data. A C++ library's static
        // constructors (one more entry each) read string literals and tables at load.
        let load_code_free = !extra.textrel
            && !extra.ctors
            && init.preinit_array.iter().all(|&a| a == 0)
            && init.ifunc_resolvers.is_empty()
            && init.init_array.iter().filter(|&&a| a != 0).count() <= 1;
        let mut quiet = if load_code_free {
            extra.quiet
        } else {
            Vec::new()
        };
        let mut quiet_windows = Vec::new();
        if !quiet.is_empty() {
            // Unreadable dynamic symbols: no way to rule out copy relocations.
            match elf.dynamic_data_ranges() {
                Ok(data) => quiet_windows.extend(data.into_iter().filter_map(|(a, b)| {
                    let o = elf.file_offset(a)?;
                    Some((o, o.saturating_add(b - a)))
                })),
                Err(_) => quiet.clear(),
            }
            quiet_windows.retain(|&(a, b)| quiet.iter().any(|q| a < q.end && b > q.start));
            quiet_windows.sort_unstable();
            quiet_windows.dedup();
        }
        Ok(LoadWindows {
            ranges,
            quiet,
            quiet_windows,
            load_code,
        })
    }
}

/// What [`extra_ranges`] finds in the headers.
#[derive(Debug, Default)]
struct Extra {
    /// PLT sections and the loader-read prefix.
    ranges: Vec<(u64, u64)>,
    /// Read-only segments that hold nothing the loader reads.
    quiet: Vec<QuietSegment>,
    /// `DT_TEXTREL` or `DF_TEXTREL`: the loader writes into read-only segments.
    textrel: bool,
    /// A `.ctors` section with entries between its sentinels (pre-`.init_array` constructors,
    /// run from `DT_INIT`).
    ctors: bool,
}

/// PLT sections (by section header, when present) and the prefix of the file holding the ELF
/// header, program headers and the tables the loader reads (ending with the last of them);
/// the read-only segments wholly after that prefix that hold no other loader-read structure.
fn extra_ranges<'d, Elf, R>(data: R) -> Result<Extra, object::Error>
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
            .and_then(|&(v, off, _)| off.checked_add(vaddr - v))
    };
    let mut out = Vec::new();
    let mut textrel = false;
    // Other file ranges the loader (or the dynamic linker's run-time tables) reads.
    let mut loader_read: Vec<(u64, u64)> = phdrs
        .iter()
        .filter(|p| {
            matches!(
                p.p_type(endian),
                elf::PT_DYNAMIC
                    | elf::PT_NOTE
                    | elf::PT_INTERP
                    | elf::PT_TLS
                    | elf::PT_PHDR
                    | elf::PT_GNU_PROPERTY
            )
        })
        .map(|p| {
            let off: u64 = p.p_offset(endian).into();
            let size: u64 = p.p_filesz(endian).into();
            (off, off.saturating_add(size.max(1)))
        })
        .collect();
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
        for (tag, size_tag) in [
            (elf::DT_INIT_ARRAY, elf::DT_INIT_ARRAYSZ),
            (elf::DT_FINI_ARRAY, elf::DT_FINI_ARRAYSZ),
            (elf::DT_PREINIT_ARRAY, elf::DT_PREINIT_ARRAYSZ),
        ] {
            if let Some(offset) = value(tag).and_then(to_offset) {
                let size = value(size_tag).unwrap_or(1).max(1);
                loader_read.push((offset, offset.saturating_add(size)));
            }
        }
        textrel = value(elf::DT_TEXTREL).is_some()
            || value(elf::DT_FLAGS).is_some_and(|f| f & u64::from(elf::DF_TEXTREL) != 0);
        break;
    }
    out.push((0, prefix_end.max(1)));
    loader_read.push((0, prefix_end.max(1)));
    let quiet: Vec<QuietSegment> = phdrs
        .iter()
        .filter(|p| {
            p.p_type(endian) == elf::PT_LOAD && p.p_flags(endian) & (elf::PF_W | elf::PF_X) == 0
        })
        .filter_map(|p| {
            let start: u64 = p.p_offset(endian).into();
            let size: u64 = p.p_filesz(endian).into();
            let mem: u64 = p.p_memsz(endian).into();
            let end = start.checked_add(size)?;
            // A page-aligned, file-backed segment wholly after everything the loader reads.
            (size > 0 && mem == size && start > 0)
                .then_some(QuietSegment { start, end })
                .filter(|q| !loader_read.iter().any(|&(a, b)| a < q.end && b > q.start))
        })
        .collect();
    let mut ctors = false;
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
            // The -1 and 0 sentinels take two words; anything more is a constructor.
            let word = if Elf::is_type_64_sized() { 8 } else { 4 };
            if name == b".ctors" && section.sh_size(endian).into() > 2 * word {
                ctors = true;
            }
        }
    }
    Ok(Extra {
        ranges: out,
        quiet,
        textrel,
        ctors,
    })
}

/// One mapping of an object with its residency.
#[derive(Debug, Clone, Copy)]
pub struct ExecMapping<'a> {
    /// The mapping.
    pub mapping: &'a Mapping,
    /// The file's own resident pages.
    pub residency: &'a Residency,
    /// Its pages that are private copies of the file's (see
    /// [`crate::process::RawProcess::copied`]), one bit per page; `None` when there are none
    /// or they are unknown (smaps only).
    pub copied: Option<&'a [u64]>,
}

/// Why an object's residency cannot be read as evidence the usual way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disturbance {
    /// Text pages of it are private copies and the process carries the `[uprobes]` area, or
    /// the file has uprobes registered in `uprobe_events`: breakpoints were written into it.
    Uprobes,
    /// Text pages of it are private copies, by a tool we cannot name: uprobes attached
    /// through `perf_event_open` (bpftrace, BPF agents), which `uprobe_events` does not list,
    /// a debugger's breakpoints, or text relocations.
    CopiedText,
    /// None of its text is resident although the loader ran its load-time code there: the
    /// pages were reclaimed, or were uprobe copies dropped when the probes were removed.
    LoadPagesGone,
}

impl Disturbance {
    /// The stable name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Disturbance::Uprobes => "uprobes",
            Disturbance::CopiedText => "copied-text",
            Disturbance::LoadPagesGone => "load-pages-gone",
        }
    }
}

/// The verdict for one object in one process, and why it is `unknown` when its pages were
/// disturbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The evidence.
    pub executed: Executed,
    /// Set when the residency was disturbed; [`Executed::Yes`] may still stand (from the
    /// file's own pages away from every copy), anything weaker is then
    /// [`Executed::Unknown`].
    pub disturbed: Option<Disturbance>,
}

impl Verdict {
    fn plain(executed: Executed) -> Verdict {
        Verdict {
            executed,
            disturbed: None,
        }
    }
}

/// Whether any bit is set.
fn any_bit(bits: Option<&[u64]>) -> bool {
    bits.is_some_and(|b| b.iter().any(|&w| w != 0))
}

/// The verdict for one object in one process, from its mappings: the executable ones, and
/// the read-only ones of its quiet data segments (others are ignored).
///
/// Private copies of text pages (uprobe breakpoints above all: the kernel copies every probed
/// page into each process that maps the file, at `mmap` time, whether or not the code ever
/// runs, and drops the copies when the probes go) are never evidence. They are treated like
/// load windows: the fault-around blocks around them are not evidence either (a kernel that
/// faults the page in for reading before copying it maps its neighbours too). Only the
/// file's own pages away from them, or quiet data, can say `yes`; without that, an object with
/// copies is `unknown`, never `init-only` or `none` (what ran on a copy left no trace). And an
/// object whose load-time code has no resident page at all lost its pages (reclaim, or copies
/// dropped when probes were removed): `unknown`, not `none`.
pub fn classify(
    mappings: &[ExecMapping<'_>],
    windows: &LoadWindows,
    fault_around: u64,
    page_size: u64,
) -> Verdict {
    if !mappings.iter().any(|em| em.mapping.exec) {
        // Mapped without execute permission (data only): nothing to run.
        return Verdict::plain(Executed::None);
    }
    if mappings
        .iter()
        .any(|em| quiet_data_read(em, windows, fault_around, page_size))
    {
        return Verdict::plain(Executed::Yes);
    }
    let ps = page_size.max(1);
    let copied = mappings
        .iter()
        .any(|em| em.mapping.exec && any_bit(em.copied));
    let mut any_resident = false;
    let mut measurable = false;
    let mut rss_unclear = false;
    for em in mappings.iter().filter(|em| em.mapping.exec) {
        let m = em.mapping;
        let mut ranges;
        let mut windows_here = &windows.ranges;
        if let Some(bits) = em.copied.filter(|b| any_bit(Some(b))) {
            ranges = windows.ranges.clone();
            for i in 0..m.len() / ps {
                let set = usize::try_from(i / 64)
                    .ok()
                    .and_then(|w| bits.get(w))
                    .is_some_and(|w| w >> (i % 64) & 1 == 1);
                if set {
                    let o = m.offset.saturating_add(i * ps);
                    ranges.push((o, o.saturating_add(1)));
                }
            }
            windows_here = &ranges;
        }
        let covered = covered_ranges(m, windows_here, fault_around, ps);
        let in_window = |va: u64| covered.iter().any(|&(a, b)| va >= a && va < b);
        let covered_bytes: u64 = covered.iter().map(|&(a, b)| b - a).sum();
        if covered_bytes < m.len() {
            measurable = true;
        }
        match em.residency {
            Residency::Pages(_) => {
                for i in 0..m.len() / ps {
                    if em.residency.page(i) {
                        any_resident = true;
                        if !in_window(m.start + i * ps) {
                            return Verdict::plain(Executed::Yes);
                        }
                    }
                }
            }
            &Residency::Rss(bytes) => {
                if bytes > covered_bytes {
                    // More resident than the windows can hold: some page lies outside.
                    return Verdict::plain(Executed::Yes);
                }
                if bytes > 0 {
                    any_resident = true;
                    rss_unclear = true;
                }
            }
            Residency::Unreadable => return Verdict::plain(Executed::Unknown),
        }
    }
    let disturbed = |d| Verdict {
        executed: Executed::Unknown,
        disturbed: Some(d),
    };
    if copied {
        return disturbed(Disturbance::CopiedText);
    }
    match (any_resident, measurable, rss_unclear) {
        (false, _, _) if windows.load_code => disturbed(Disturbance::LoadPagesGone),
        (false, _, _) => Verdict::plain(Executed::None),
        (true, true, false) => Verdict::plain(Executed::InitOnly),
        _ => Verdict::plain(Executed::Unknown),
    }
}

/// Whether `em` maps one of the object's quiet data segments and a page of it holding the
/// segment's bytes is resident outside the fault-around blocks of its exported data.
///
/// Only evidence for `Yes`: code can run without reading constants, so a quiet segment
/// without resident pages says nothing.
fn quiet_data_read(
    em: &ExecMapping<'_>,
    windows: &LoadWindows,
    fault_around: u64,
    page_size: u64,
) -> bool {
    let m = em.mapping;
    let ps = page_size.max(1);
    if m.exec || m.write || m.shared {
        return false;
    }
    // The segment this mapping starts with, when no other one starts in the same page.
    let mut starting_here = windows
        .quiet
        .iter()
        .filter(|q| q.start / ps * ps == m.offset);
    let (Some(q), None) = (starting_here.next(), starting_here.next()) else {
        return false;
    };
    let seg_start = m.start + (q.start - m.offset);
    let seg_end = m.start.saturating_add(q.end - m.offset).min(m.end);
    let covered = covered_ranges(m, &windows.quiet_windows, fault_around, ps);
    let in_window = |va: u64| covered.iter().any(|&(a, b)| va < b && va + ps > a);
    match em.residency {
        Residency::Pages(_) => (0..m.len() / ps).any(|i| {
            let page = m.start + i * ps;
            // A page shared with whatever follows in a merged mapping (RELRO data the loader
            // writes) is not the segment's alone: only the mapping's own last page may be
            // partial.
            let own = page >= seg_start / ps * ps
                && page < seg_end
                && (page + ps <= seg_end || page + ps >= m.end);
            own && em.residency.page(i) && !in_window(page)
        }),
        &Residency::Rss(bytes) => {
            let covered_bytes: u64 = covered.iter().map(|&(a, b)| b - a).sum();
            m.end <= seg_end.div_ceil(ps) * ps && bytes > covered_bytes
        }
        Residency::Unreadable => false,
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
    windows: &[(u64, u64)],
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
            ..LoadWindows::default()
        };
        classify(
            &[ExecMapping {
                mapping: m,
                residency: r,
                copied: None,
            }],
            &w,
            FA,
            PAGE,
        )
        .executed
    }

    #[test]
    fn windows_widen_to_fault_around_blocks_in_address_space() {
        // Text at file offset 0x1000 mapped at 0x7000_1000: the block of the init function at
        // file offset 0x1100 would start at 0x7000_0000, before the mapping; the kernel then
        // starts the window at the mapping and keeps its full 64 KiB.
        let m = mapping(0x7000_1000, 0x40000, 0x1000);
        let w = LoadWindows {
            ranges: vec![(0x1100, 0x1101), (0x30000, 0x30001)],
            ..LoadWindows::default()
        };
        assert_eq!(
            covered_ranges(&m, &w.ranges, FA, PAGE),
            vec![(0x7000_1000, 0x7001_1000), (0x7003_0000, 0x7004_0000)]
        );
        // A window never crosses a page table (2 MiB) boundary, nor the mapping's end.
        let m = mapping(0x7010_0000, 0x20_0000, 0);
        let w = LoadWindows {
            ranges: vec![(0xf_f000, 0xf_f001)],
            ..LoadWindows::default()
        };
        assert_eq!(
            covered_ranges(&m, &w.ranges, FA, PAGE),
            vec![(0x701f_0000, 0x7020_0000)]
        );
        // A range spanning blocks covers each of them.
        let m = mapping(0x8000_0000, 0x10_0000, 0);
        let w = LoadWindows {
            ranges: vec![(0x1_8000, 0x3_1000)],
            ..LoadWindows::default()
        };
        assert_eq!(
            covered_ranges(&m, &w.ranges, FA, PAGE),
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

    /// libz's layout on Debian 12: text at file 0x3000 (one 64 KiB window covers its first
    /// 16 pages), a quiet read-only segment at 0x16000..0x1c3c8.
    fn quiet_case(data: Residency, quiet_windows: &[(u64, u64)]) -> Executed {
        let text = mapping(0x7f00_0000_3000, 0x13000, 0x3000);
        let mut rodata = mapping(0x7f00_0001_6000, 0x7000, 0x16000);
        rodata.exec = false;
        let w = LoadWindows {
            ranges: vec![(0x3000, 0x3001)],
            quiet: vec![QuietSegment {
                start: 0x16000,
                end: 0x1c3c8,
            }],
            quiet_windows: quiet_windows.to_vec(),
            load_code: true,
        };
        let code = pages(&[0, 1]);
        classify(
            &[
                ExecMapping {
                    mapping: &text,
                    residency: &code,
                    copied: None,
                },
                ExecMapping {
                    mapping: &rodata,
                    residency: &data,
                    copied: None,
                },
            ],
            &w,
            FA,
            PAGE,
        )
        .executed
    }

    #[test]
    fn quiet_read_only_data_shows_use() {
        assert_eq!(quiet_case(pages(&[]), &[]), Executed::InitOnly);
        assert_eq!(quiet_case(pages(&[3]), &[]), Executed::Yes);
        assert_eq!(quiet_case(Residency::Unreadable, &[]), Executed::InitOnly);
        assert_eq!(quiet_case(Residency::Rss(PAGE), &[]), Executed::Yes);
        // An exported object may be a copy relocation's source: its whole fault-around block
        // (here the segment) is a load window.
        assert_eq!(
            quiet_case(pages(&[3]), &[(0x17000, 0x17010)]),
            Executed::InitOnly
        );
        assert_eq!(
            quiet_case(Residency::Rss(PAGE), &[(0x17000, 0x17010)]),
            Executed::InitOnly
        );
    }

    #[test]
    fn quiet_data_needs_its_own_mapping_and_pages() {
        let w = LoadWindows {
            ranges: vec![(0x3000, 0x3001)],
            quiet: vec![QuietSegment {
                start: 0x16000,
                end: 0x1c3c8,
            }],
            quiet_windows: Vec::new(),
            load_code: false,
        };
        let text = mapping(0x7f00_0000_3000, 0x13000, 0x3000);
        let none = pages(&[]);
        let verdict_with = |m: &Mapping, r: &Residency| {
            classify(
                &[
                    ExecMapping {
                        mapping: &text,
                        residency: &none,
                        copied: None,
                    },
                    ExecMapping {
                        mapping: m,
                        residency: r,
                        copied: None,
                    },
                ],
                &w,
                FA,
                PAGE,
            )
            .executed
        };
        // RELRO data (another segment's pages, written by the loader) at another offset.
        let mut relro = mapping(0x7f00_0001_d000, 0x1000, 0x1c000);
        relro.exec = false;
        assert_eq!(verdict_with(&relro, &pages(&[0])), Executed::None);
        // Merged with what follows: the segment's partial last page (0x1c000, shared with the
        // next segment's data) is not evidence, its full pages are.
        let mut merged = mapping(0x7f00_0001_6000, 0x8000, 0x16000);
        merged.exec = false;
        assert_eq!(verdict_with(&merged, &pages(&[6, 7])), Executed::None);
        assert_eq!(verdict_with(&merged, &pages(&[5])), Executed::Yes);
        assert_eq!(verdict_with(&merged, &Residency::Rss(PAGE)), Executed::None);
        // Writable or executable mappings are never quiet data.
        let mut writable = mapping(0x7f00_0001_6000, 0x7000, 0x16000);
        writable.exec = false;
        writable.write = true;
        assert_eq!(verdict_with(&writable, &pages(&[3])), Executed::None);
        // Without an executable mapping there is nothing to run.
        let mut alone = mapping(0x7f00_0001_6000, 0x7000, 0x16000);
        alone.exec = false;
        let data = pages(&[3]);
        assert_eq!(
            classify(
                &[ExecMapping {
                    mapping: &alone,
                    residency: &data,
                    copied: None,
                }],
                &w,
                FA,
                PAGE
            )
            .executed,
            Executed::None
        );
    }

    /// Issue 20: uprobes copy probed text pages into every process that maps the file. A
    /// copy is no evidence, nor are the file pages in the fault-around block around it; the
    /// file's own pages elsewhere still are.
    #[test]
    fn copied_text_pages_are_no_evidence() {
        let m = mapping(0x10_0000, 40 * PAGE, 0);
        let w = LoadWindows {
            ranges: vec![(0x100, 0x101)],
            load_code: true,
            ..LoadWindows::default()
        };
        let judge = |own: &[u64], copies: &[u64]| {
            let own = pages(own);
            let Residency::Pages(copied) = pages(copies) else {
                unreachable!()
            };
            classify(
                &[ExecMapping {
                    mapping: &m,
                    residency: &own,
                    copied: Some(&copied),
                }],
                &w,
                FA,
                PAGE,
            )
        };
        let unknown = |d| Verdict {
            executed: Executed::Unknown,
            disturbed: Some(d),
        };
        // Breakpoints copied pages 20 and 33 (outside the load window); no own page there.
        assert_eq!(judge(&[0], &[20, 33]), unknown(Disturbance::CopiedText));
        // Nothing of the file itself resident, only copies: not `none`.
        assert_eq!(judge(&[], &[3, 20]), unknown(Disturbance::CopiedText));
        // An own page in the block of a copy (pages 16..32) is not evidence either.
        assert_eq!(judge(&[0, 17], &[20]), unknown(Disturbance::CopiedText));
        // An own page in a block without copies is.
        assert_eq!(judge(&[0, 17], &[33]).executed, Executed::Yes);
        // Without copies, the usual verdicts.
        assert_eq!(judge(&[0], &[]), Verdict::plain(Executed::InitOnly));
    }

    /// Issue 20: removing uprobes drops their copies, and with them the only pages the loader
    /// ran load-time code on. An object with load-time code and no resident text lost its
    /// pages: `unknown`, never `none`; one without load-time code may be `none`.
    #[test]
    fn lost_load_time_pages_are_unknown_not_none() {
        let m = mapping(0x10_0000, 40 * PAGE, 0);
        let mut w = LoadWindows {
            ranges: vec![(0x100, 0x101)],
            load_code: true,
            ..LoadWindows::default()
        };
        let empty = pages(&[]);
        let judge = |w: &LoadWindows| {
            classify(
                &[ExecMapping {
                    mapping: &m,
                    residency: &empty,
                    copied: None,
                }],
                w,
                FA,
                PAGE,
            )
        };
        assert_eq!(
            judge(&w),
            Verdict {
                executed: Executed::Unknown,
                disturbed: Some(Disturbance::LoadPagesGone)
            }
        );
        w.load_code = false;
        assert_eq!(judge(&w), Verdict::plain(Executed::None));
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
        let file = File::open("/proc/self/exe").expect("open /proc/self/exe");
        let w = LoadWindows::read(&file).unwrap();
        // The header prefix and at least one init function.
        assert!(w.ranges.iter().any(|&(a, _)| a == 0));
        assert!(w.ranges.len() >= 2, "{w:?}");
    }

    /// Found by `fuzz/elf_parse`: a segment whose file offset puts an init function at the
    /// last byte of the 64-bit range overflowed the window's end.
    #[test]
    fn init_function_at_the_end_of_the_offset_range() {
        let mut data = std::fs::read("/proc/self/exe").expect("read /proc/self/exe");
        let elf = inuse_elf::ElfFile::parse(&data[..], &inuse_elf::Limits::default())
            .expect("the test binary parses");
        let init = elf.init_info().unwrap();
        let &a = init
            .init
            .iter()
            .chain(&init.init_array)
            .find(|&&a| a != 0)
            .expect("the test binary has an init function (frame_dummy)");
        let word = |d: &[u8], at: usize| u64::from_le_bytes(d[at..at + 8].try_into().unwrap());
        let (phoff, phnum) = (
            word(&data, 32) as usize,
            u16::from_le_bytes([data[56], data[57]]),
        );
        for i in 0..usize::from(phnum) {
            let ph = phoff + i * 56;
            let (p_type, vaddr, filesz) = (data[ph], word(&data, ph + 16), word(&data, ph + 32));
            if p_type == 1 && a >= vaddr && a - vaddr < filesz {
                let offset = u64::MAX - (a - vaddr);
                data[ph + 8..ph + 16].copy_from_slice(&offset.to_le_bytes());
            }
        }
        if let Ok(w) = LoadWindows::parse(&data[..]) {
            assert!(w.ranges.iter().all(|&(a, b)| a <= b), "{w:?}");
        }
    }

    #[test]
    fn quiet_segments_of_real_libraries() {
        // Debian 12's libz: one init_array entry (frame_dummy), no IFUNC, -z separate-code:
        // its .rodata/.eh_frame segment is quiet. libc has IFUNC resolvers: never quiet.
        let libz = std::path::Path::new("/usr/lib/x86_64-linux-gnu/libz.so.1");
        let libc = std::path::Path::new("/usr/lib/x86_64-linux-gnu/libc.so.6");
        let (Ok(z), Ok(c)) = (File::open(libz), File::open(libc)) else {
            inuse_testkit::Skip::new("no Debian x86-64 libz/libc").report();
            return;
        };
        let z = LoadWindows::read(&z).unwrap();
        assert_eq!(z.quiet.len(), 1, "{z:?}");
        let q = z.quiet[0];
        assert!(q.start > 0 && q.end > q.start);
        assert!(
            z.ranges.iter().all(|&(a, b)| b <= q.start || a >= q.end),
            "{z:?}"
        );
        let c = LoadWindows::read(&c).unwrap();
        assert!(c.quiet.is_empty(), "{:?}", c.quiet);
    }
}
