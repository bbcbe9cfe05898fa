//! The observation window: the stretch of time live evidence was gathered over.
//!
//! DESIGN.md: "every finding carries the strongest evidence measured for it, and the window it
//! was measured in." `loaded` and `executed` mean "seen in this window"; "never seen loaded"
//! may become VEX `not_affected` only when the window is long enough and had sweeps.

use serde::{Deserialize, Serialize};

use crate::time::rfc3339;

/// An observation window.
///
/// JSON: `{"start": "2026-11-26T20:31:00Z", "end": "...", "sweeps": 12}`; `start` and `end`
/// are `null` when there were no sweeps (nothing was observed, so the times mean nothing).
/// Room is left for a `coverage` field (which share of processes could be read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Start, Unix seconds.
    pub start: i64,
    /// End, Unix seconds.
    pub end: i64,
    /// Number of sweeps of live processes in it.
    pub sweeps: u64,
}

impl Window {
    /// Length in seconds (0 when the end is before the start).
    pub fn seconds(&self) -> i64 {
        (self.end - self.start).max(0)
    }
}

#[derive(Serialize, Deserialize)]
struct WindowJson {
    start: Option<String>,
    end: Option<String>,
    sweeps: u64,
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let observed = self.sweeps > 0;
        WindowJson {
            start: observed.then(|| rfc3339(self.start)),
            end: observed.then(|| rfc3339(self.end)),
            sweeps: self.sweeps,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WindowJson::deserialize(d)?;
        let parse = |t: Option<String>| -> Result<i64, D::Error> {
            match t {
                None => Ok(0),
                Some(t) => crate::time::parse_rfc3339(&t).map_err(serde::de::Error::custom),
            }
        };
        Ok(Window {
            start: parse(w.start)?,
            end: parse(w.end)?,
            sweeps: w.sweeps,
        })
    }
}
