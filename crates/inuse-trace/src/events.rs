//! The text formats of tracefs's uprobe files, as pure functions.
//!
//! Source: the kernel's `Documentation/trace/uprobetracer.rst` and `kernel/trace/trace_uprobe.c`.
//!
//! - `uprobe_events` takes one command per line: `p:GROUP/EVENT PATH:0xOFFSET` places a probe,
//!   `-:GROUP/EVENT` removes it. Reading it lists every probe of every tool as
//!   `p:GROUP/EVENT PATH:0x%016x [args]` (`r:` for return probes).
//! - `uprobe_profile` lists `  PATH EVENT HITS` per probe: the event name without its group,
//!   and the path exactly as it was written when the probe was placed. An event may carry
//!   several probes (a `p:` line naming an existing event appends to it); each is listed.
//!
//! Pitfalls: opening `uprobe_events` with `O_TRUNC` (a shell's `>`) deletes every uprobe of
//! every tool, so it is only ever opened for appending. Group and event names must be C
//! identifiers, hence `inuse_<pid>` and `e<N>`; the symbol of a probe is found from its
//! offset. A path with whitespace cannot be expressed at all. The profile omits the group and
//! the offset: see `session` for how its lines are paired with those of `uprobe_events`.

/// The prefix of every group inuse creates; the rest is the pid of the run.
pub const GROUP_PREFIX: &str = "inuse_";

/// The group name of the run with this pid.
pub fn group_name(pid: u32) -> String {
    format!("{GROUP_PREFIX}{pid}")
}

/// The pid encoded in an inuse group name; `None` for any other group (another tool's).
pub fn group_pid(group: &str) -> Option<u32> {
    let digits = group.strip_prefix(GROUP_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// The name of event number `n` of a run.
pub fn event_name(n: u32) -> String {
    format!("e{n}")
}

/// The number of an event name made by [`event_name`].
pub fn event_number(event: &str) -> Option<u32> {
    let digits = event.strip_prefix('e')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `path` can be written into `uprobe_events`: absolute, and no byte the kernel's
/// command parser would split on or choke on.
pub fn path_is_expressible(path: &str) -> bool {
    path.starts_with('/')
        && !path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

/// The command that places probe `event` of `group` at `offset` of `path`, with its newline.
pub fn place_command(group: &str, event: &str, path: &str, offset: u64) -> String {
    format!("p:{group}/{event} {path}:0x{offset:x}\n")
}

/// The command that removes probe `event` of `group`, with its newline.
pub fn remove_command(group: &str, event: &str) -> String {
    format!("-:{group}/{event}\n")
}

pub use inuse_runtime::uprobes::{EventLine, parse_event_line};

/// One record of a trace buffer as `trace_pipe` prints a uprobe hit:
/// `<comm>-<tid> [<cpu>] <flags> <timestamp>: <event>: (0x<address>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine<'a> {
    /// The thread that hit the probe (a thread id: the process is its thread group).
    pub tid: u32,
    /// The event name, without its group.
    pub event: &'a str,
    /// The probed address in that process.
    pub address: u64,
}

/// Parses one `trace_pipe` line of a uprobe hit, from the right (a command name may hold
/// spaces, dashes, brackets and colons); `None` for anything else (lost-event notices).
pub fn parse_trace_line(line: &str) -> Option<TraceLine<'_>> {
    let line = line.trim();
    let (head, address) = line.rsplit_once(": (0x")?;
    let address = u64::from_str_radix(address.strip_suffix(')')?, 16).ok()?;
    let (head, event) = head.rsplit_once(": ")?;
    // head: `<comm>-<tid> [<cpu>] <flags> <timestamp>`, columns padded with spaces.
    let (head, _timestamp) = last_word(head)?;
    let (head, _flags) = last_word(head)?;
    let (task, cpu) = last_word(head)?;
    if !(cpu.starts_with('[') && cpu.ends_with(']')) {
        return None;
    }
    let (_, tid) = task.rsplit_once('-')?;
    Some(TraceLine {
        tid: tid.parse().ok()?,
        event,
        address,
    })
}

/// `s` without its last whitespace-separated word, and that word.
fn last_word(s: &str) -> Option<(&str, &str)> {
    let (rest, word) = s.trim_end().rsplit_once(char::is_whitespace)?;
    Some((rest.trim_end(), word))
}

/// One line of `uprobe_profile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileLine<'a> {
    /// The probed file as written.
    pub path: &'a str,
    /// The event name, without its group.
    pub event: &'a str,
    /// Hits so far.
    pub hits: u64,
}

/// Parses one line of `uprobe_profile`.
pub fn parse_profile_line(line: &str) -> Option<ProfileLine<'_>> {
    let mut fields = line.split_ascii_whitespace();
    let path = fields.next()?;
    let event = fields.next()?;
    let hits = fields.next()?.parse().ok()?;
    if fields.next().is_some() {
        return None;
    }
    Some(ProfileLine { path, event, hits })
}

/// Splits `commands` (each ending in a newline) into writes of at most `max` bytes that end
/// at line boundaries, so that the kernel never sees half a command. A single command longer
/// than `max` gets a write of its own.
pub fn batches(commands: &[String], max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in commands {
        if !current.is_empty() && current.len() + c.len() > max {
            out.push(std::mem::take(&mut current));
        }
        current.push_str(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn trace_lines_from_the_right() {
        // As Linux 6.18 prints them (a hit of a multi-probe event `e0`).
        let line = "            busy-4938    [001] DBZff  4434.155421: e0: (0x7fe6793d16c0)";
        assert_eq!(
            parse_trace_line(line),
            Some(TraceLine {
                tid: 4938,
                event: "e0",
                address: 0x7fe6_793d_16c0
            })
        );
        // A command name with spaces, dashes, brackets and a colon.
        let odd = " a-b [x]: c-77 [000] ..... 1.000001: e12: (0x401000)";
        assert_eq!(
            parse_trace_line(odd).map(|t| (t.tid, t.event, t.address)),
            Some((77, "e12", 0x401000))
        );
        for bad in [
            "",
            "CPU:1 [LOST 3 EVENTS]",
            "# tracer: nop",
            "busy-x [001] .... 1.0: e0: (0x10)",
            "busy-1 [001] .... 1.0: e0: (0xzz)",
        ] {
            assert_eq!(parse_trace_line(bad), None, "{bad}");
        }
    }

    #[test]
    fn groups_are_ours_only_with_a_pid() {
        assert_eq!(group_pid(&group_name(4242)), Some(4242));
        for foreign in [
            "inuse_",
            "inuse_x1",
            "inuse_01",
            "uprobes",
            "inuse",
            "inuse_1_2",
        ] {
            assert_eq!(group_pid(foreign), None, "{foreign}");
        }
        assert_eq!(event_number(&event_name(17)), Some(17));
        assert_eq!(event_number("ex"), None);
        assert_eq!(event_number("e"), None);
    }

    #[test]
    fn event_lines_round_trip() {
        let cmd = place_command("inuse_7", "f3", "/usr/lib/libz.so.1", 0x47c0);
        assert_eq!(cmd, "p:inuse_7/f3 /usr/lib/libz.so.1:0x47c0\n");
        // As the kernel lists it back.
        let listed = "p:inuse_7/f3 /usr/lib/libz.so.1:0x00000000000047c0";
        assert_eq!(
            parse_event_line(listed),
            Some(EventLine {
                group: "inuse_7",
                event: "f3",
                path: "/usr/lib/libz.so.1",
                offset: 0x47c0
            })
        );
        let ret = parse_event_line("r:other/ev /bin/x:0x0000000000001000%return arg=%ax").unwrap();
        assert_eq!((ret.group, ret.offset), ("other", 0x1000));
        assert_eq!(parse_event_line("garbage"), None);
        assert_eq!(remove_command("inuse_7", "f3"), "-:inuse_7/f3\n");
    }

    #[test]
    fn profile_lines() {
        let line = "  /usr/lib/x86_64-linux-gnu/libz.so.1.2.13 f1                                                         2";
        assert_eq!(
            parse_profile_line(line),
            Some(ProfileLine {
                path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
                event: "f1",
                hits: 2
            })
        );
        assert_eq!(parse_profile_line("  /x f1"), None);
        assert_eq!(parse_profile_line("  /x f1 many"), None);
    }

    #[test]
    fn paths_with_separators_are_refused() {
        assert!(path_is_expressible("/usr/lib/libz.so.1"));
        assert!(!path_is_expressible("/tmp/a b/libz.so"));
        assert!(!path_is_expressible("/tmp/a\nb"));
        assert!(!path_is_expressible("relative/libz.so"));
    }

    #[test]
    fn batches_end_at_line_boundaries() {
        let commands: Vec<String> = (0..10).map(|i| format!("-:g/f{i}\n")).collect();
        let b = batches(&commands, 20);
        assert!(b.iter().all(|w| w.ends_with('\n') && w.len() <= 20));
        assert_eq!(b.concat(), commands.concat());
        assert_eq!(batches(&[], 20), Vec::<String>::new());
        assert_eq!(batches(&["0123456789\n".to_owned()], 4).len(), 1);
    }
}
