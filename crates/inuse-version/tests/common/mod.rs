//! Shared helpers for the integration tests: locating the reference data, reading vector files,
//! and a small deterministic PRNG.

#![allow(dead_code)] // each test crate uses a different subset

use std::cmp::Ordering;

use inuse_testkit::Skip;

/// The text of `versions/<name>` in the shared test data, or a [`Skip`] for missing data (a
/// failure under `CI=true`) when the data has no `versions/` folder. A `versions/` folder without
/// this file is a failure, not a skip.
pub fn read_vectors(name: &str) -> Result<String, Skip> {
    let path = inuse_testkit::shared_data("versions")?.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// `<`, `=`, `>` as an ordering.
pub fn op_ordering(op: &str) -> Option<Ordering> {
    match op {
        "<" => Some(Ordering::Less),
        "=" => Some(Ordering::Equal),
        ">" => Some(Ordering::Greater),
        _ => None,
    }
}

/// `-1`, `0`, `1` as an ordering.
pub fn sign_ordering(sign: &str) -> Option<Ordering> {
    match sign {
        "-1" => Some(Ordering::Less),
        "0" => Some(Ordering::Equal),
        "1" => Some(Ordering::Greater),
        _ => None,
    }
}

/// The `A op B` lines of a vector file, numbered from 1, without blank and comment lines.
pub fn comparison_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let line = line.trim();
        let comment = line.starts_with('#') || line.starts_with("//");
        (!line.is_empty() && !comment).then_some((i + 1, line))
    })
}

/// Prints the tally of a vector file and fails with every failure listed.
pub fn report(file: &str, checked: usize, failures: &[String]) {
    eprintln!(
        "{file}: {checked} lines checked, {} failures",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{file}: {} of {checked} lines failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 0, "{file}: no lines checked");
}

/// SplitMix64: tiny, deterministic, good enough to pick test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
