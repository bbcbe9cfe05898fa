//! `/proc/PID/stat`: identity (pid plus start time, which survives pid reuse), parent, state,
//! CPU time and page-fault counts.
//!
//! The second field is the command name in parentheses, chosen by the process itself
//! (`prctl(PR_SET_NAME)`, or the executable's file name): it may contain spaces and
//! parentheses, so `") ("` or a trailing `)` inside it is possible. The kernel never escapes
//! it, but the fields after it are numbers, so the *last* `)` of the line ends the name
//! (proc(5)). Field numbers below are proc(5)'s, counting from 1.

use crate::{ParseError, next_field, parse_num};

/// The fields of `/proc/PID/stat` inuse uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 1.
    pub pid: u32,
    /// Field 2, without the parentheses, lossily decoded.
    pub comm: String,
    /// Field 3: `R`, `S`, `D`, `Z`, ...
    pub state: u8,
    /// Field 4.
    pub ppid: u32,
    /// Field 9: the kernel's `PF_*` flags.
    pub flags: u64,
    /// Field 10: minor page faults of all its threads (live and exited).
    pub minflt: u64,
    /// Field 12: major page faults of all its threads (live and exited).
    pub majflt: u64,
    /// Field 14: user-mode CPU time, in clock ticks.
    pub utime: u64,
    /// Field 15: kernel-mode CPU time, in clock ticks.
    pub stime: u64,
    /// Field 22: start time after boot, in clock ticks. With the pid it identifies a process
    /// across pid reuse.
    pub start_time: u64,
}

const FILE: &str = "stat";

/// `PF_KTHREAD`: a kernel thread, which has no user-space code to analyse.
pub const PF_KTHREAD: u64 = 0x0020_0000;

impl ProcStat {
    /// Whether this is a kernel thread.
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parses the contents of `/proc/PID/stat`.
pub fn parse(data: &[u8]) -> Result<ProcStat, ParseError> {
    let open = data
        .iter()
        .position(|&b| b == b'(')
        .ok_or(ParseError::new(FILE, "no '(' before the command name"))?;
    let close = data
        .iter()
        .rposition(|&b| b == b')')
        .filter(|&c| c > open)
        .ok_or(ParseError::new(FILE, "no ')' after the command name"))?;
    let pid = std::str::from_utf8(&data[..open])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or(ParseError::new(FILE, "bad pid"))?;
    let comm = String::from_utf8_lossy(&data[open + 1..close]).into_owned();
    let mut rest = &data[close + 1..];
    // fields[0] is field 3 (state).
    let mut fields: [&[u8]; 20] = [&[]; 20];
    for slot in &mut fields {
        *slot = next_field(&mut rest).ok_or(ParseError::new(FILE, "too few fields"))?;
    }
    let num =
        |i: usize, what: &'static str| parse_num(fields[i], 10).ok_or(ParseError::new(FILE, what));
    let state = match fields[0] {
        [s] => *s,
        _ => return Err(ParseError::new(FILE, "bad state")),
    };
    Ok(ProcStat {
        pid,
        comm,
        state,
        ppid: u32::try_from(num(1, "bad ppid")?).map_err(|_| ParseError::new(FILE, "bad ppid"))?,
        flags: num(6, "bad flags")?,
        minflt: num(7, "bad minflt")?,
        majflt: num(9, "bad majflt")?,
        utime: num(11, "bad utime")?,
        stime: num(12, "bad stime")?,
        start_time: num(19, "bad start time")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn line(comm: &str) -> String {
        format!(
            "812 ({comm}) S 1 812 812 0 -1 4194560 1370 0 2 0 7 3 0 0 20 0 1 0 123456 \
             16314368 1946 18446744073709551615 1 1 0 0 0 0 0 4096 16387 0 0 0 17 1 0 0 0 0 0"
        )
    }

    #[test]
    fn plain() {
        let s = parse(line("sshd").as_bytes()).unwrap();
        assert_eq!(s.pid, 812);
        assert_eq!(s.comm, "sshd");
        assert_eq!(s.state, b'S');
        assert_eq!(s.ppid, 1);
        assert_eq!((s.utime, s.stime), (7, 3));
        assert_eq!((s.minflt, s.majflt), (1370, 2));
        assert_eq!(s.start_time, 123456);
    }

    #[test]
    fn hostile_command_names() {
        for comm in [
            "a b",
            "x) S 2 3 (",
            ")",
            "((",
            "a)(b",
            ") 9 9 9 9 9 9 9 9 9 9 9 9",
        ] {
            let s = parse(line(comm).as_bytes()).unwrap();
            assert_eq!(s.comm, comm);
            assert_eq!(s.start_time, 123456, "{comm}");
            assert_eq!(s.ppid, 1, "{comm}");
        }
    }

    #[test]
    fn truncated_and_garbage() {
        assert!(parse(b"").is_err());
        assert!(parse(b"1 (x) S 1").is_err());
        assert!(parse(b"1 x) S").is_err());
        assert!(parse(b")(").is_err());
        assert!(parse(line("x").replace("123456", "12z").as_bytes()).is_err());
    }
}
