//! Notes: what the reader must know besides the findings, each with a stable code.
//!
//! A measurement gap stated in words only is easy to miss and impossible to act on in a
//! program: a fleet server cannot count "3 process(es) could not be read" across hosts by
//! parsing sentences. Every note carries a [`NoteCode`] (stable, kebab-case, documented; in the
//! spirit of cargo-deny's diagnostic codes) and a message for people.
//!
//! JSON: `{"code": "store-empty", "message": "..."}`. Tables print the message only.

use serde::{Deserialize, Serialize};

/// The kind of a note. New codes may be added (the enum is `#[non_exhaustive]`); a code's
/// meaning never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NoteCode {
    /// No vulnerability store, or an empty one: nothing was matched.
    NoVulnerabilityData,
    /// The vulnerability store holds records, but none for the root's ecosystem.
    EcosystemNoData,
    /// The observation store has no window with sweeps: no live evidence over time.
    StoreEmpty,
    /// Some processes could not be read; what they map is not counted.
    ProcessUnreadable,
    /// Packages embedded in programs no package owns were found but not matched.
    EmbeddedNotMatched,
    /// Part of a package database could not be read.
    PackageDatabaseProblem,
    /// No dpkg, rpm or apk database was found under the root.
    NoPackageDatabase,
    /// An installed version could not be compared with vulnerability data.
    MatchingProblem,
}

impl NoteCode {
    /// Every code.
    pub const ALL: [NoteCode; 8] = [
        NoteCode::NoVulnerabilityData,
        NoteCode::EcosystemNoData,
        NoteCode::StoreEmpty,
        NoteCode::ProcessUnreadable,
        NoteCode::EmbeddedNotMatched,
        NoteCode::PackageDatabaseProblem,
        NoteCode::NoPackageDatabase,
        NoteCode::MatchingProblem,
    ];

    /// The stable name (`store-empty`).
    pub fn as_str(self) -> &'static str {
        match self {
            NoteCode::NoVulnerabilityData => "no-vulnerability-data",
            NoteCode::EcosystemNoData => "ecosystem-no-data",
            NoteCode::StoreEmpty => "store-empty",
            NoteCode::ProcessUnreadable => "process-unreadable",
            NoteCode::EmbeddedNotMatched => "embedded-not-matched",
            NoteCode::PackageDatabaseProblem => "package-database-problem",
            NoteCode::NoPackageDatabase => "no-package-database",
            NoteCode::MatchingProblem => "matching-problem",
        }
    }

    /// One line saying what the code means, for the documentation.
    pub fn description(self) -> &'static str {
        match self {
            NoteCode::NoVulnerabilityData => {
                "no vulnerability data was available: nothing was matched, evidence is still measured"
            }
            NoteCode::EcosystemNoData => {
                "the vulnerability store has no records for the root's ecosystem: zero findings does not mean clean"
            }
            NoteCode::StoreEmpty => {
                "the observation store has no window with sweeps: verdicts rest on this moment only"
            }
            NoteCode::ProcessUnreadable => {
                "some processes could not be read: the code they map is not counted"
            }
            NoteCode::EmbeddedNotMatched => {
                "packages embedded in programs no package owns were found but not matched"
            }
            NoteCode::PackageDatabaseProblem => {
                "part of a package database could not be read; the rest was"
            }
            NoteCode::NoPackageDatabase => {
                "no dpkg, rpm or apk database under the root: only embedded packages are listed"
            }
            NoteCode::MatchingProblem => {
                "an installed version could not be compared with the vulnerability data"
            }
        }
    }

    /// Parses a code name.
    pub fn parse(s: &str) -> Option<NoteCode> {
        NoteCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for NoteCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A note for the reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// What kind of note it is.
    pub code: NoteCode,
    /// What it says, for people.
    pub message: String,
}

impl Note {
    /// A note.
    pub fn new(code: NoteCode, message: impl Into<String>) -> Note {
        Note {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_documented() {
        let mut seen = std::collections::BTreeSet::new();
        for c in NoteCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert!(
                c.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{c} is not kebab-case"
            );
            assert_eq!(
                serde_json::to_string(&c).expect("serialise"),
                format!("\"{c}\""),
                "serde and as_str agree"
            );
            assert_eq!(NoteCode::parse(c.as_str()), Some(c));
            assert!(!c.description().is_empty() && !c.description().contains('\n'));
        }
    }

    #[test]
    fn a_note_is_code_and_message() {
        let n = Note::new(NoteCode::StoreEmpty, "no observations");
        let json = serde_json::to_string(&n).expect("serialise");
        assert_eq!(
            json,
            r#"{"code":"store-empty","message":"no observations"}"#
        );
        assert_eq!(serde_json::from_str::<Note>(&json).expect("parse"), n);
    }
}
