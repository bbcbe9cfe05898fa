//! Exit codes: part of the command-line API, documented in the README and docs/commands.md,
//! and tested.
//!
//! One enum so that every command maps its outcome the same way. Scripts rely on these
//! numbers; never renumber them.

use std::process::ExitCode;

/// How a run of `inuse` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    /// Everything asked was done and nothing needs attention.
    Ok = 0,
    /// The command did its job and found something that needs attention: a library that
    /// cannot be found (`deps`), a finding at or above `--fail-on` (`scan`).
    Findings = 1,
    /// Usage error, or nothing could be done at all (bad root, unreadable database).
    Error = 2,
    /// Some inputs could not be analysed (each reported on stderr and in JSON); the others
    /// were. Takes precedence over [`Code::Findings`].
    Partial = 3,
}

impl Code {
    /// Combines the outcomes of two parts of a run: the more severe wins, where a partial
    /// failure is more severe than findings and a total failure most severe of all.
    pub fn worst(self, other: Code) -> Code {
        fn rank(c: Code) -> u8 {
            match c {
                Code::Ok => 0,
                Code::Findings => 1,
                Code::Partial => 2,
                Code::Error => 3,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<Code> for ExitCode {
    fn from(c: Code) -> ExitCode {
        ExitCode::from(c as u8)
    }
}
