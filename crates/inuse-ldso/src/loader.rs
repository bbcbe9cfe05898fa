//! Which dynamic loader runs an object, and the built-in facts of that loader.
//!
//! A binary names its loader in `PT_INTERP`. glibc's and musl's loaders search differently
//! (see `resolve.rs`), and each glibc build has compiled-in default directories and a `$LIB`
//! value that differ between distributions: Debian's x86-64 loader searches
//! `/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:/usr/lib` and expands `$LIB` to
//! `lib/x86_64-linux-gnu`, Fedora's `/lib64:/usr/lib64` and `lib64`. We cannot ask the loader
//! (that would run it), so we derive them from where the loader file really lives inside the
//! root: glibc installs `ld.so` in its `slibdir`, and the defaults are `slibdir` and its `/usr`
//! twin, plus `/lib:/usr/lib` on Debian-family systems, whose glibc adds them. This matches
//! `ld.so --help` on Debian 12 (x86-64 and the i386 biarch loader in `/lib32`) and Fedora.
//!
//! For an input with no `PT_INTERP` (a shared library), the loader is the one the system would
//! use for that architecture: musl's if the root has one and no glibc loader, else glibc's.

use std::path::{Path, PathBuf};

use inuse_elf::{Class, ElfInfo};
use inuse_root::Root;
use object::elf;

/// The C library family of a loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Libc {
    /// GNU C library (`ld-linux*.so`).
    Glibc,
    /// musl (`ld-musl-ARCH.so.1`).
    Musl,
}

/// The architecture an object is built for, as the loader checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// ELF class.
    pub class: Class,
    /// Byte order.
    pub big_endian: bool,
    /// `e_machine`.
    pub machine: u16,
    /// `e_flags`, for ports whose ABI variants are told apart by them.
    pub e_flags: u32,
}

impl Target {
    /// The target of an object.
    pub fn of(info: &ElfInfo) -> Target {
        Target {
            class: info.ident.class,
            big_endian: info.ident.big_endian,
            machine: info.machine,
            e_flags: info.e_flags,
        }
    }
}

/// The loader's default `PT_INTERP` for a machine, used for inputs that name none.
pub(crate) fn default_interpreter(t: Target, libc: Libc) -> Option<&'static str> {
    Some(match (libc, t.class, t.machine) {
        (Libc::Glibc, Class::Elf64, elf::EM_X86_64) => "/lib64/ld-linux-x86-64.so.2",
        (Libc::Glibc, Class::Elf32, elf::EM_X86_64) => "/libx32/ld-linux-x32.so.2",
        (Libc::Glibc, Class::Elf32, elf::EM_386) => "/lib/ld-linux.so.2",
        (Libc::Glibc, Class::Elf64, elf::EM_AARCH64) => "/lib/ld-linux-aarch64.so.1",
        (Libc::Glibc, Class::Elf64, elf::EM_PPC64) if !t.big_endian => "/lib64/ld64.so.2",
        (Libc::Glibc, Class::Elf64, elf::EM_PPC64) => "/lib64/ld64.so.1",
        (Libc::Glibc, Class::Elf64, elf::EM_S390) => "/lib/ld64.so.1",
        (Libc::Glibc, Class::Elf64, elf::EM_RISCV) => "/lib/ld-linux-riscv64-lp64d.so.1",
        (Libc::Glibc, Class::Elf32, elf::EM_ARM) => "/lib/ld-linux-armhf.so.3",
        (Libc::Musl, _, _) => return musl_arch(t).map(musl_interpreter),
        _ => return None,
    })
}

fn musl_interpreter(arch: &'static str) -> &'static str {
    match arch {
        "x86_64" => "/lib/ld-musl-x86_64.so.1",
        "aarch64" => "/lib/ld-musl-aarch64.so.1",
        "i386" => "/lib/ld-musl-i386.so.1",
        "armhf" => "/lib/ld-musl-armhf.so.1",
        "ppc64le" => "/lib/ld-musl-powerpc64le.so.1",
        "s390x" => "/lib/ld-musl-s390x.so.1",
        "riscv64" => "/lib/ld-musl-riscv64.so.1",
        _ => "/lib/ld-musl.so.1",
    }
}

fn musl_arch(t: Target) -> Option<&'static str> {
    Some(match (t.class, t.machine) {
        (Class::Elf64, elf::EM_X86_64) => "x86_64",
        (Class::Elf64, elf::EM_AARCH64) => "aarch64",
        (Class::Elf32, elf::EM_386) => "i386",
        (Class::Elf32, elf::EM_ARM) => "armhf",
        (Class::Elf64, elf::EM_PPC64) => "ppc64le",
        (Class::Elf64, elf::EM_S390) => "s390x",
        (Class::Elf64, elf::EM_RISCV) => "riscv64",
        _ => return None,
    })
}

/// Whether a `PT_INTERP` names a musl loader.
pub(crate) fn is_musl_interpreter(interp: &[u8]) -> bool {
    let base = interp.rsplit(|&b| b == b'/').next().unwrap_or(interp);
    base.starts_with(b"ld-musl-")
}

/// Picks the C library for an input without `PT_INTERP`.
pub(crate) fn libc_for_library(root: &Root, t: Target) -> Libc {
    let has = |p: Option<&str>| p.is_some_and(|p| root.stat(Path::new(p)).is_ok());
    if !has(default_interpreter(t, Libc::Glibc)) && has(default_interpreter(t, Libc::Musl)) {
        Libc::Musl
    } else {
        Libc::Glibc
    }
}

/// The `$PLATFORM` value a glibc loader of this target has on this CPU: the kernel's
/// `AT_PLATFORM`, which glibc's x86-64 start-up (`sysdeps/x86/cpu-features.c`,
/// `init_cpu_features`) replaces on Intel CPUs by `xeon_phi` (AVX512ER and AVX512PF) or
/// `haswell` (AVX2, FMA, BMI1, BMI2, LZCNT, MOVBE, POPCNT).
pub(crate) fn default_platform(t: Target) -> &'static str {
    match (t.class, t.machine) {
        (Class::Elf64, elf::EM_X86_64) => host_cpu().platform,
        (Class::Elf32, elf::EM_386) => "i686",
        (Class::Elf64, elf::EM_AARCH64) => "aarch64",
        (Class::Elf32, elf::EM_ARM) => "v7l",
        (Class::Elf64, elf::EM_PPC64) => "power9",
        (Class::Elf64, elf::EM_S390) => "z13",
        _ => "",
    }
}

/// What the loader learns from this CPU, read once per process from `/proc/cpuinfo`.
struct HostCpu {
    x86_64_level: u8,
    platform: &'static str,
}

fn host_cpu() -> &'static HostCpu {
    static CPU: std::sync::OnceLock<HostCpu> = std::sync::OnceLock::new();
    CPU.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
                .and_then(|l| l.split_once(':'))
                .map_or("", |(_, v)| v.trim())
        };
        let have: std::collections::HashSet<&str> = field("flags").split_whitespace().collect();
        let all = |fs: &[&str]| fs.iter().all(|f| have.contains(f));
        let v2 = [
            "cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3",
        ];
        let v3 = [
            "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave",
        ];
        let v4 = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];
        let x86_64_level = match (all(&v2), all(&v3), all(&v4)) {
            (true, true, true) => 4,
            (true, true, false) => 3,
            (true, false, _) => 2,
            _ => 1,
        };
        // LZCNT is listed as `abm` on Intel CPUs.
        let intel = field("vendor_id") == "GenuineIntel";
        let platform = if !intel {
            "x86_64"
        } else if all(&["avx512cd", "avx512er", "avx512pf"]) {
            "xeon_phi"
        } else if all(&["avx2", "fma", "bmi1", "bmi2", "abm", "movbe", "popcnt"]) {
            "haswell"
        } else {
            "x86_64"
        };
        HostCpu {
            x86_64_level,
            platform,
        }
    })
}

/// A glibc loader's built-in search facts.
#[derive(Debug, Clone)]
pub(crate) struct GlibcDefaults {
    /// The compiled-in system directories, searched last.
    pub dirs: Vec<Vec<u8>>,
    /// What `$LIB` expands to.
    pub lib: Vec<u8>,
}

/// Derives a glibc loader's defaults from where its file really lives in the root.
pub(crate) fn glibc_defaults(root: &Root, interp: &[u8], t: Target) -> GlibcDefaults {
    use std::os::unix::ffi::OsStrExt;
    let real = root
        .canonicalize(Path::new(std::ffi::OsStr::from_bytes(interp)))
        .ok();
    let slibdir = real
        .as_deref()
        .and_then(Path::parent)
        .map(|d| d.as_os_str().as_bytes().to_vec())
        .unwrap_or_else(|| fallback_slibdir(root, t));
    // slibdir may be /usr/lib/... on merged-/usr systems: take the part below /usr.
    let base = slibdir.strip_prefix(b"/usr").unwrap_or(&slibdir).to_vec();
    let mut dirs = vec![base.clone(), [&b"/usr"[..], &base].concat()];
    let debian = root.stat(Path::new("/etc/debian_version")).is_ok();
    if debian {
        for d in [&b"/lib"[..], b"/usr/lib"] {
            if !dirs.iter().any(|x| x == d) {
                dirs.push(d.to_vec());
            }
        }
    }
    GlibcDefaults {
        lib: base.strip_prefix(b"/").unwrap_or(&base).to_vec(),
        dirs,
    }
}

fn fallback_slibdir(root: &Root, t: Target) -> Vec<u8> {
    let triplet = match (t.class, t.machine) {
        (Class::Elf64, elf::EM_X86_64) => Some(("x86_64-linux-gnu", "/lib64")),
        (Class::Elf32, elf::EM_386) => Some(("i386-linux-gnu", "/lib32")),
        (Class::Elf64, elf::EM_AARCH64) => Some(("aarch64-linux-gnu", "/lib64")),
        _ => None,
    };
    match triplet {
        Some((tri, lib)) => {
            let multiarch = format!("/lib/{tri}");
            if root.stat(Path::new(&multiarch)).is_ok() {
                multiarch.into_bytes()
            } else {
                lib.as_bytes().to_vec()
            }
        }
        None => b"/lib".to_vec(),
    }
}

/// musl's system path: `<prefix>/etc/ld-musl-ARCH.path` where prefix is the loader's
/// directory minus its last component (so `/lib/ld-musl-x86_64.so.1` reads
/// `/etc/ld-musl-x86_64.path`), or the compiled-in `/lib:/usr/local/lib:/usr/lib`.
pub(crate) fn musl_sys_path(root: &Root, interp: &[u8]) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let base = interp.rsplit(|&b| b == b'/').next().unwrap_or(interp);
    let arch = base
        .strip_prefix(b"ld-musl-")
        .and_then(|r| r.strip_suffix(b".so.1"))
        .unwrap_or(b"");
    // musl takes the loader path up to its second-to-last slash.
    let slashes: Vec<usize> = interp
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(|(i, _)| i)
        .collect();
    let prefix = match slashes.len() {
        0 | 1 => &b""[..],
        n => &interp[..slashes[n - 2]],
    };
    let conf = [prefix, b"/etc/ld-musl-", arch, b".path"].concat();
    match root.read(Path::new(std::ffi::OsStr::from_bytes(&conf)), 1 << 16) {
        Ok(text) => text,
        Err(_) => b"/lib:/usr/local/lib:/usr/lib".to_vec(),
    }
}

/// The `glibc-hwcaps` subdirectories searched for a target, best first.
pub(crate) fn hwcaps_subdirs(t: Target, level: u8) -> Vec<String> {
    if (t.class, t.machine) != (Class::Elf64, elf::EM_X86_64) {
        return Vec::new();
    }
    (2..=level.min(4))
        .rev()
        .map(|l| format!("x86-64-v{l}"))
        .collect()
}

/// This CPU's x86-64 micro-architecture level (1 to 4), from `/proc/cpuinfo` of the host.
/// The levels are defined by the x86-64 psABI; glibc's `glibc-hwcaps` use the same names.
pub fn host_x86_64_level() -> u8 {
    host_cpu().x86_64_level
}

/// The in-root path of a host path's parent, for `$ORIGIN`.
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}
