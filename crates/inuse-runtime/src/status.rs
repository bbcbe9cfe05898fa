//! `/proc/PID/status`: user ids, effective capabilities and locked memory.
//!
//! Who a process runs as decides how much a vulnerability in its code matters: a root daemon
//! with `CAP_SYS_ADMIN` is a different finding from a user's editor. `VmLck` matters to the
//! executed evidence: `mlockall(MCL_CURRENT)` faults in every page of every mapping, so
//! residency then says nothing about execution.

/// The fields of `/proc/PID/status` inuse uses. Missing lines leave `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcStatus {
    /// Real user id.
    pub uid: Option<u32>,
    /// Effective user id.
    pub euid: Option<u32>,
    /// Real group id.
    pub gid: Option<u32>,
    /// Effective group id.
    pub egid: Option<u32>,
    /// Effective capability set (`CapEff`), as a bit mask.
    pub cap_eff: Option<u64>,
    /// Locked memory (`VmLck`), in KiB.
    pub vm_lck_kib: Option<u64>,
}

/// Parses the contents of `/proc/PID/status`. Never fails: unknown or malformed lines are
/// skipped, and what is missing stays `None`.
pub fn parse(data: &[u8]) -> ProcStatus {
    let mut out = ProcStatus::default();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        let mut fields = value
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let mut id = || {
            fields
                .next()
                .and_then(|f| crate::parse_num(f, 10))
                .and_then(|n| u32::try_from(n).ok())
        };
        match key {
            b"Uid" => {
                out.uid = id();
                out.euid = id();
            }
            b"Gid" => {
                out.gid = id();
                out.egid = id();
            }
            b"CapEff" => {
                out.cap_eff = value
                    .split(|b| b.is_ascii_whitespace())
                    .find(|f| !f.is_empty())
                    .and_then(|f| crate::parse_num(f, 16));
            }
            b"VmLck" => {
                out.vm_lck_kib = value
                    .split(|b| b.is_ascii_whitespace())
                    .find(|f| !f.is_empty())
                    .and_then(|f| crate::parse_num(f, 10));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn fields() {
        let s = parse(
            b"Name:\tsshd\nUid:\t1000\t0\t0\t0\nGid:\t5\t6\t6\t6\n\
              VmLck:\t       0 kB\nCapEff:\t000001ffffffffff\n",
        );
        assert_eq!((s.uid, s.euid), (Some(1000), Some(0)));
        assert_eq!((s.gid, s.egid), (Some(5), Some(6)));
        assert_eq!(s.cap_eff, Some(0x1ff_ffff_ffff));
        assert_eq!(s.vm_lck_kib, Some(0));
    }

    #[test]
    fn garbage_is_skipped() {
        let s = parse(b"Uid:\tx\ny\nCapEff:\tzz\n:\n\xff:\xff");
        assert_eq!(s, ProcStatus::default());
    }
}
