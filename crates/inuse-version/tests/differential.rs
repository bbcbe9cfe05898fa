//! Differential tests against the real implementations: 100,000 random "hard" pairs per scheme
//! (short segments, leading zeros, empty segments, `~`, `^`, epochs, and pairs that differ by
//! one small edit), all compared by one python3 process through python3-apt
//! (`apt_pkg.version_compare`) and python3-rpm (`rpm.ver`, `rpm.labelCompare`).
//!
//! apt's comparison is a reimplementation of dpkg's, so a disagreement with apt is re-checked
//! with `dpkg --compare-versions` itself before it counts as a failure.

mod common;

use std::cmp::Ordering;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::Rng;
use inuse_testkit::{Skip, or_skip};
use inuse_version::{Scheme, compare, dpkg, rpm};

const PAIRS: usize = 100_000;
/// Disagreements with apt re-checked with `dpkg --compare-versions` (two processes each).
const DPKG_RECHECKS: usize = 200;

/// A python3 that can import `module`, or a [`Skip`] naming the package to install.
fn python_with(module: &str) -> Result<String, Skip> {
    let candidates = std::env::var("INUSE_PYTHON")
        .into_iter()
        .chain(["python3".to_owned(), "/usr/bin/python3".to_owned()]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(python);
        }
    }
    Err(Skip::new(format!(
        "no python3 can import {module} \
         (apt-get install python3-apt python3-rpm, or set INUSE_PYTHON)"
    )))
}

/// Runs `script` with one python3 process over `pairs` (written to a temporary file as
/// `a<TAB>b` lines); returns its stdout lines, one per pair.
fn run_python(python: &str, test: &str, script: &str, pairs: &[(String, String)]) -> Vec<String> {
    let path: PathBuf =
        std::env::temp_dir().join(format!("inuse-version-{test}-{}.tsv", std::process::id()));
    let mut file = std::fs::File::create(&path).expect("create the pairs file");
    for (a, b) in pairs {
        writeln!(file, "{a}\t{b}").expect("write the pairs file");
    }
    drop(file);
    let output = Command::new(python)
        .args(["-c", script])
        .arg(&path)
        .stderr(Stdio::inherit())
        .output()
        .expect("run python3");
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "python3 failed: {}", output.status);
    let stdout = String::from_utf8(output.stdout).expect("python3 prints ASCII");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(
        lines.len(),
        pairs.len(),
        "python3 printed one line per pair"
    );
    lines
}

fn sign(s: &str) -> Ordering {
    match s.parse::<i64>().expect("python3 prints integers") {
        n if n < 0 => Ordering::Less,
        0 => Ordering::Equal,
        _ => Ordering::Greater,
    }
}

/// Random versions built from short tokens, and small edits of them.
struct Generator {
    rng: Rng,
    tokens: &'static [&'static str],
    /// Characters for single-character edits.
    alphabet: &'static [char],
}

impl Generator {
    fn tokens(&mut self, max: usize) -> String {
        let n = 1 + self.rng.below(max);
        (0..n).map(|_| *self.rng.pick(self.tokens)).collect()
    }

    /// One small edit: insert, delete or replace a character, or append a tricky tail.
    fn edit(&mut self, v: &str) -> String {
        const TAILS: [&str; 10] = ["~", "~~", "^", "0", ".0", "-0", "a", "+", ".", "00"];
        let mut chars: Vec<char> = v.chars().collect();
        let at = self.rng.below(chars.len() + 1);
        match self.rng.below(5) {
            0 => chars.insert(at, *self.rng.pick(self.alphabet)),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            2 if at < chars.len() => chars[at] = *self.rng.pick(self.alphabet),
            3 => return format!("0:{v}"),
            _ => chars.extend(self.rng.pick(&TAILS).chars()),
        }
        chars.into_iter().collect()
    }

    /// A pair: half the time the second is an edit (or two) of the first.
    fn pair(&mut self, one: &mut dyn FnMut(&mut Self) -> String) -> (String, String) {
        let a = one(self);
        let b = if self.rng.chance(1, 2) {
            let b = self.edit(&a);
            if self.rng.chance(1, 3) {
                self.edit(&b)
            } else {
                b
            }
        } else {
            one(self)
        };
        (a, b)
    }
}

#[test]
fn dpkg_agrees_with_apt_and_dpkg() {
    let test = "dpkg_agrees_with_apt_and_dpkg";
    let python = or_skip!(python_with("apt_pkg"));
    let mut generator = Generator {
        rng: Rng::new(0x0dbb_6e51),
        tokens: &[
            "0", "1", "2", "9", "00", "01", "10", "007", "99", "100", "a", "b", "z", "A", "Z",
            "ab", ".", ".", "+", "~", "~~", "-", ".0",
        ],
        alphabet: &['0', '1', '9', 'a', 'z', 'A', '.', '+', '~', '-', ':'],
    };
    let mut version = |g: &mut Generator| {
        let epoch = match g.rng.below(8) {
            0 => "1:",
            1 => "0:",
            2 => "00:",
            3 => "10:",
            _ => "",
        };
        let start = if g.rng.chance(1, 10) { "a" } else { "" };
        let upstream = g.tokens(6);
        let revision = if g.rng.chance(1, 2) {
            format!("-{}", g.tokens(3).replace(['-', ':'], "."))
        } else {
            String::new()
        };
        format!("{epoch}{start}{upstream}{revision}")
    };
    // Keep only pairs dpkg accepts: apt compares anything, with its own guesses.
    let mut pairs = Vec::with_capacity(PAIRS);
    let mut invalid = 0;
    while pairs.len() < PAIRS {
        let (a, b) = generator.pair(&mut version);
        if dpkg::Version::parse(&a).is_ok() && dpkg::Version::parse(&b).is_ok() {
            pairs.push((a, b));
        } else {
            invalid += 1;
        }
    }

    let script = "import sys, apt_pkg\n\
                  apt_pkg.init_system()\n\
                  out = []\n\
                  for line in open(sys.argv[1], encoding='utf-8'):\n\
                  \x20   a, b = line.rstrip('\\n').split('\\t')\n\
                  \x20   out.append(str(apt_pkg.version_compare(a, b)))\n\
                  print('\\n'.join(out))\n";
    let apt = run_python(&python, test, script, &pairs);

    let (mut failures, mut apt_only, mut equal) = (Vec::new(), Vec::new(), 0);
    for ((a, b), apt) in pairs.iter().zip(&apt) {
        let ours = compare(Scheme::Deb, a, b).expect("validated above");
        equal += usize::from(ours == Ordering::Equal);
        if ours == sign(apt) {
            continue;
        }
        if apt_only.len() + failures.len() >= DPKG_RECHECKS {
            failures.push(format!(
                "{a} vs {b}: ours {ours:?}, apt {apt} (not re-checked)"
            ));
            continue;
        }
        match dpkg_compare(a, b) {
            Some(dpkg) if dpkg == ours => apt_only.push(format!("{a} vs {b}: apt {apt}")),
            dpkg => failures.push(format!(
                "{a} vs {b}: ours {ours:?}, apt {apt}, dpkg {dpkg:?}"
            )),
        }
    }
    eprintln!(
        "{test}: {} pairs compared ({equal} equal, {invalid} generated pairs rejected as \
         invalid), {} disagreements with apt where dpkg agrees with us, {} failures",
        pairs.len(),
        apt_only.len(),
        failures.len()
    );
    for line in &apt_only {
        eprintln!("  apt differs from dpkg: {line}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `dpkg --compare-versions`, or `None` without dpkg.
fn dpkg_compare(a: &str, b: &str) -> Option<Ordering> {
    let holds = |op: &str| {
        Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .stderr(Stdio::null())
            .status()
            .ok()
            .map(|s| s.success())
    };
    if holds("lt")? {
        Some(Ordering::Less)
    } else if holds("eq")? {
        Some(Ordering::Equal)
    } else {
        Some(Ordering::Greater)
    }
}

#[test]
fn rpm_agrees_with_librpm() {
    let test = "rpm_agrees_with_librpm";
    let python = or_skip!(python_with("rpm"));
    let mut generator = Generator {
        rng: Rng::new(0x0e71_0a11),
        tokens: &[
            "0", "1", "2", "9", "00", "01", "10", "007", "99", "100", "a", "b", "z", "A", "Z",
            "ab", "rc", ".", ".", "..", "_", "+", "~", "~~", "^", "-", "--", ".0", "α",
        ],
        alphabet: &[
            '0', '1', '9', 'a', 'z', 'A', '.', '_', '+', '~', '^', '-', ':',
        ],
    };
    let mut version = |g: &mut Generator| {
        let epoch = match g.rng.below(10) {
            0 => "1:",
            1 => "0:",
            2 => "01:",
            3 => ":",
            4 => "a:",
            _ => "",
        };
        format!("{epoch}{}", g.tokens(6))
    };
    // rpm.ver rejects only the empty string, as rpm::compare does.
    let mut pairs = Vec::with_capacity(PAIRS);
    while pairs.len() < PAIRS {
        let (a, b) = generator.pair(&mut version);
        if !a.is_empty() && !b.is_empty() {
            pairs.push((a, b));
        }
    }

    let script = "import sys, rpm\n\
                  out = []\n\
                  for line in open(sys.argv[1], encoding='utf-8'):\n\
                  \x20   a, b = line.rstrip('\\n').split('\\t')\n\
                  \x20   va, vb = rpm.ver(a), rpm.ver(b)\n\
                  \x20   evr = (va > vb) - (va < vb)\n\
                  \x20   seg = rpm.labelCompare(('0', a, None), ('0', b, None))\n\
                  \x20   out.append('%d %d' % (evr, seg))\n\
                  print('\\n'.join(out))\n";
    let librpm = run_python(&python, test, script, &pairs);

    let (mut failures, mut equal) = (Vec::new(), 0);
    for ((a, b), line) in pairs.iter().zip(&librpm) {
        let (evr, seg) = line.split_once(' ').expect("two results per line");
        let ours = compare(Scheme::Rpm, a, b).expect("non-empty");
        equal += usize::from(ours == Ordering::Equal);
        if ours != sign(evr) {
            failures.push(format!(
                "rpmverCmp {a:?} vs {b:?}: ours {ours:?}, rpm {evr}"
            ));
        }
        let ours = rpm::vercmp(a, b);
        if ours != sign(seg) {
            failures.push(format!(
                "rpmvercmp {a:?} vs {b:?}: ours {ours:?}, rpm {seg}"
            ));
        }
    }
    eprintln!(
        "{test}: {} pairs compared twice (E:V-R and whole-string rpmvercmp), {equal} equal, \
         {} failures",
        pairs.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
