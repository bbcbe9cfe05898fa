//! The evidence ladder: how strongly the use of a package's code was measured.
//!
//! DESIGN.md, "Evidence ladder": `installed` (in the package database) < `linked` (in some
//! installed executable's dependency closure) < `loaded` (mapped by a live process) <
//! `executed` (code ran beyond load-time initialisation) < `function` (named functions were
//! entered), and apart from them `unmeasurable`: we could not tell.
//!
//! The measured rungs are [`Level`], ordered weakest first (`Ord`), so evidence only ever
//! rises with `max`. `unmeasurable` is not a rung: it is the other variant of [`Strength`],
//! which has no order at all, so no comparison can put "we could not look" below "installed"
//! (and read it as unused). Where a list must put it somewhere (the report ranks findings and
//! prints unmeasurable ones after installed ones), that is the report's ranking decision, made
//! there. A false "not used" is the worst bug this tool can have.
//!
//! Runtime refinements stay with the runtime: a mapped object whose resident pages lie only in
//! its load-time windows (`init-only`, `inuse_runtime::Executed::InitOnly`) is `loaded` here.
//!
//! JSON: a [`Strength`] is one of the stable strings `installed`, `linked`, `loaded`,
//! `executed`, `function`, `unmeasurable`.

use serde::{Deserialize, Serialize};

use crate::ProcessRef;

/// A measured rung of the evidence ladder, weakest first.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The package is in the package database, and nothing more was seen.
    #[default]
    Installed,
    /// Some installed executable's dependency closure contains a file of the package.
    Linked,
    /// A live process has a file of the package mapped.
    Loaded,
    /// Code of the package ran beyond load-time initialisation (resident executable pages
    /// outside the init and IFUNC windows).
    Executed,
    /// Named functions of the package were entered (uprobes).
    Function,
}

impl Level {
    /// Every level, weakest first.
    pub const ALL: [Level; 5] = [
        Level::Installed,
        Level::Linked,
        Level::Loaded,
        Level::Executed,
        Level::Function,
    ];

    /// The stable name used in output and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Installed => "installed",
            Level::Linked => "linked",
            Level::Loaded => "loaded",
            Level::Executed => "executed",
            Level::Function => "function",
        }
    }

    /// Parses a level name.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Whether code of the package is in memory of a live process (`loaded` or stronger).
    pub fn is_in_memory(self) -> bool {
        self >= Level::Loaded
    }
}

/// The verdict of the ladder for one package: a measured [`Level`], or unmeasurable.
///
/// Deliberately without `PartialOrd`: "unmeasurable" is not weaker than "installed", it is a
/// different answer. Compare measured levels with [`Strength::measured`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strength {
    /// Measured: the strongest rung seen.
    Measured(Level),
    /// We could not tell: nothing observable, or processes we may not read. Never read as
    /// unused (VEX: `under_investigation`).
    Unmeasurable,
}

impl Strength {
    /// Every state: the measured levels weakest first, then unmeasurable.
    pub const ALL: [Strength; 6] = [
        Strength::Measured(Level::Installed),
        Strength::Measured(Level::Linked),
        Strength::Measured(Level::Loaded),
        Strength::Measured(Level::Executed),
        Strength::Measured(Level::Function),
        Strength::Unmeasurable,
    ];

    /// The stable name (`installed` ... `function`, `unmeasurable`).
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Measured(l) => l.as_str(),
            Strength::Unmeasurable => "unmeasurable",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Strength> {
        Strength::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The measured level, if there is one.
    pub fn measured(self) -> Option<Level> {
        match self {
            Strength::Measured(l) => Some(l),
            Strength::Unmeasurable => None,
        }
    }

    /// Whether code of the package is in memory of a live process.
    pub fn is_in_memory(self) -> bool {
        self.measured().is_some_and(Level::is_in_memory)
    }
}

impl From<Level> for Strength {
    fn from(l: Level) -> Strength {
        Strength::Measured(l)
    }
}

impl std::fmt::Display for Strength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Strength {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Strength {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Strength::parse(&s).ok_or_else(|| {
            serde::de::Error::unknown_variant(
                &s,
                &[
                    "installed",
                    "linked",
                    "loaded",
                    "executed",
                    "function",
                    "unmeasurable",
                ],
            )
        })
    }
}

/// What was measured about one package, and what supports it.
///
/// The collectors raise [`Evidence::level`] as they see more (it only rises, with `max`) and
/// record what showed it; [`Evidence::strength`] is the verdict. In a finding's JSON these
/// fields sit at the finding's top level (see [`crate::Finding`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The strongest rung measured.
    pub level: Level,
    /// Processes that had the package's files mapped (`loaded` or stronger).
    pub processes: Vec<ProcessRef>,
    /// Files of the package the evidence is about (mapped, or entered).
    pub files: Vec<String>,
    /// Executables whose dependency closure contains a file of the package (`linked`).
    pub linked_by: Vec<String>,
    /// Functions of the package seen entered (`function`).
    pub functions_hit: Vec<String>,
    /// Whether the package has anything a measurement could see: ELF files that a process
    /// could map. A package of scripts or data has not: it is never `not_affected`, since
    /// "never loaded" means nothing for it.
    pub observable: bool,
    /// Why the measurement is incomplete for this package, if it is (permission denied on some
    /// processes, static binaries that may embed it, ...).
    pub unmeasurable: Option<String>,
    /// The root the package was found in (`/`, a directory, `docker 4f3a...`).
    pub root: Option<String>,
}

impl Evidence {
    /// Raises the measured level to at least `level`.
    pub fn raise(&mut self, level: Level) {
        self.level = self.level.max(level);
    }

    /// The verdict: the measured level, except that a package not seen in memory while some
    /// of the measurement was impossible is [`Strength::Unmeasurable`]: not seen, but we could
    /// not have looked everywhere.
    pub fn strength(&self) -> Strength {
        if !self.level.is_in_memory() && self.unmeasurable.is_some() {
            Strength::Unmeasurable
        } else {
            Strength::Measured(self.level)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_is_ordered_weakest_first() {
        let mut sorted = Level::ALL;
        sorted.sort();
        assert_eq!(sorted, Level::ALL);
        assert!(Level::Installed < Level::Linked);
        assert!(Level::Linked < Level::Loaded);
        assert!(Level::Loaded < Level::Executed);
        assert!(Level::Executed < Level::Function);
    }

    #[test]
    fn names_are_stable_and_parse_back() {
        let names: Vec<&str> = Strength::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "installed",
                "linked",
                "loaded",
                "executed",
                "function",
                "unmeasurable"
            ]
        );
        for s in Strength::ALL {
            assert_eq!(Strength::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).expect("serialise");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Strength>(&json).expect("parse"), s);
        }
        for l in Level::ALL {
            let json = serde_json::to_string(&l).expect("serialise");
            assert_eq!(json, format!("\"{}\"", l.as_str()));
        }
        assert!(serde_json::from_str::<Strength>("\"init-only\"").is_err());
    }

    #[test]
    fn unmeasurable_only_when_not_seen_in_memory() {
        let mut e = Evidence {
            unmeasurable: Some("permission denied".into()),
            ..Default::default()
        };
        assert_eq!(e.strength(), Strength::Unmeasurable);
        e.raise(Level::Linked);
        assert_eq!(e.strength(), Strength::Unmeasurable);
        e.raise(Level::Loaded);
        assert_eq!(e.strength(), Strength::Measured(Level::Loaded));
        e.raise(Level::Linked);
        assert_eq!(e.level, Level::Loaded, "evidence only rises");
    }
}
