//! The documentation is kept true by the binary itself: every subcommand and every flag that
//! `inuse --help` shows is documented in `docs/commands.md`, in that command's own section, and
//! every flag a section's synopsis shows exists. Every link between the README and `docs/`
//! leads to a file and a heading that exist, and `.ci/run` runs the README's test command as
//! written. A new flag without documentation, or a renamed heading, fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use inuse_testkit::Inuse;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    let path = workspace().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `inuse ARGS` (with `-h` among them: the short help, one line per option), which must
/// succeed.
fn help(args: &[&str]) -> String {
    let out = Inuse::new(env!("CARGO_BIN_EXE_inuse")).run(args);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    out.stdout
}

/// The lines of one `Name:` block of clap's help (until the next blank line).
fn block<'a>(help: &'a str, name: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != name)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// The subcommands listed under `Commands:`, without clap's `help`.
fn subcommands(help: &str) -> Vec<String> {
    block(help, "Commands:")
        .iter()
        // Entries are indented by two spaces; wrapped descriptions by more.
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The flags under `Options:` as written on the command line (`--root`, `-r`), without
/// `--help` and `--version`.
fn flags(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in block(help, "Options:") {
        let line = line.trim_start();
        if !line.starts_with('-') || line.starts_with("- ") {
            continue; // a description, or a possible value of the flag above
        }
        let spec = line.split("  ").next().unwrap_or(line);
        for part in spec.split(", ") {
            let flag: String = part
                .chars()
                .take_while(|c| *c == '-' || c.is_ascii_alphanumeric())
                .collect();
            if !matches!(flag.as_str(), "-h" | "--help" | "-V" | "--version") {
                out.push(flag);
            }
        }
    }
    out
}

/// The values clap accepts for the options of a command (`[possible values: a, b]` in `-h`).
fn possible_values(short_help: &str) -> Vec<String> {
    short_help
        .split("[possible values: ")
        .skip(1)
        .filter_map(|rest| rest.split(']').next())
        // clap wraps long lists across lines.
        .flat_map(|list| list.split(',').map(|v| v.trim().to_owned()))
        .collect()
}

/// The `## \`inuse NAME\`` sections of a Markdown file, by NAME.
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            let name = h
                .strip_prefix("`inuse ")
                .and_then(|r| r.split('`').next())
                .unwrap_or("")
                .to_owned();
            out.push((name, String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out.retain(|(name, _)| !name.is_empty());
    out
}

/// Whether `text` holds `word` (a flag, a value) not as part of a longer one.
fn mentions(text: &str, word: &str) -> bool {
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_part) && !after.is_some_and(is_part)
    })
}

#[test]
fn every_subcommand_and_flag_is_documented_in_its_section() {
    let doc = read("docs/commands.md");
    let sections = sections(&doc);
    let top = help(&["-h"]);
    let commands = subcommands(&top);
    assert!(
        commands.len() >= 10 && commands.iter().any(|c| c == "scan"),
        "cannot read the subcommands from `inuse --help`:\n{top}"
    );
    let mut missing = Vec::new();
    for command in &commands {
        let Some((_, text)) = sections.iter().find(|(name, _)| name == command) else {
            missing.push(format!("no section \"## `inuse {command}`\""));
            continue;
        };
        let own = help(&[command, "-h"]);
        let mut wanted: Vec<(String, String)> = flags(&own)
            .into_iter()
            .map(|f| (format!("inuse {command}"), f))
            .collect();
        wanted.extend(
            possible_values(&own)
                .into_iter()
                .map(|v| (format!("inuse {command} (a value)"), v)),
        );
        for nested in subcommands(&own) {
            let ways = [
                format!("`{command} {nested}`"),
                format!("inuse {command} {nested}"),
            ];
            if !ways.iter().any(|w| text.contains(w.as_str())) {
                missing.push(format!(
                    "`inuse {command} {nested}`: not named in its section"
                ));
            }
            let sub = [command.as_str(), nested.as_str()];
            let nested_help = help(&[sub[0], sub[1], "-h"]);
            wanted.extend(
                flags(&nested_help)
                    .into_iter()
                    .map(|f| (format!("inuse {command} {nested}"), f)),
            );
            wanted.extend(
                possible_values(&nested_help)
                    .into_iter()
                    .map(|v| (format!("inuse {command} {nested} (a value)"), v)),
            );
        }
        for (whose, word) in wanted {
            if !mentions(text, &word) {
                missing.push(format!("{whose}: `{word}` is not in its section"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/commands.md is behind `inuse --help`:\n  {}",
        missing.join("\n  ")
    );
}

/// The reverse: a flag shown in a section's synopsis (its first code block) exists.
#[test]
fn every_flag_in_a_synopsis_exists() {
    let doc = read("docs/commands.md");
    let mut stale = Vec::new();
    for (command, text) in sections(&doc) {
        let Some(synopsis) = text.split("```").nth(1) else {
            stale.push(format!("`inuse {command}`: no synopsis"));
            continue;
        };
        let own = help(&[&command, "-h"]);
        let mut real: BTreeSet<String> = flags(&own).into_iter().collect();
        for nested in subcommands(&own) {
            real.extend(flags(&help(&[&command, &nested, "-h"])));
        }
        for word in synopsis.split(|c: char| c.is_whitespace() || "[]|()".contains(c)) {
            let flag: String = word
                .chars()
                .take_while(|c| *c == '-' || c.is_ascii_alphanumeric())
                .collect();
            if flag.starts_with('-') && flag.len() > 1 && !real.contains(&flag) {
                stale.push(format!("`inuse {command}`: {flag} is not a flag"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/commands.md shows flags inuse does not have:\n  {}",
        stale.join("\n  ")
    );
}

/// The README's test command is what CI runs, character for character, and the main job's
/// command does not install the test suite's tools (`.ci/setup`).
#[test]
fn ci_runs_the_readme_test_command_literally() {
    let readme = read("README.md");
    let blocks: Vec<&str> = readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .collect();
    let test = blocks
        .iter()
        .find(|b| b.contains("cargo test"))
        .unwrap_or_else(|| panic!("README.md shows no test command: {blocks:?}"));
    assert!(
        test.starts_with("bash .ci/setup && "),
        "the test command installs its own tools first: {test}"
    );
    let run = read(".ci/run");
    assert!(
        run.lines().any(|l| l == *test),
        ".ci/run does not run the README's test command literally:\n{test}\n--- .ci/run\n{run}"
    );
    let main = blocks
        .iter()
        .find(|b| b.contains("cargo run"))
        .unwrap_or_else(|| panic!("README.md shows no main job command: {blocks:?}"));
    assert!(!main.contains(".ci/setup"), "{main}");
}

#[test]
fn the_readme_names_every_command() {
    let readme = read("README.md");
    let commands = subcommands(&help(&["-h"]));
    let absent: Vec<&String> = commands
        .iter()
        .filter(|c| !readme.contains(&format!("`{c}`")) && !readme.contains(&format!("inuse {c}")))
        .collect();
    assert!(absent.is_empty(), "README.md does not name {absent:?}");
}

/// GitHub's heading anchors: lower case, punctuation dropped except `-` and `_`, each space a
/// `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn links_between_the_readme_and_docs_lead_somewhere() {
    let mut files = vec![String::from("README.md")];
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok())
        .map(|e| format!("docs/{}", e.file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "docs/ has {names:?}");
    files.extend(names);
    let mut broken = Vec::new();
    for file in &files {
        let text = read(file);
        let dir = Path::new(file).parent().unwrap_or(Path::new(""));
        for target in text.split("](").skip(1).filter_map(|r| r.split(')').next()) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = match target.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (target, None),
            };
            let linked = if path.is_empty() {
                file.clone()
            } else {
                let p = dir.join(path);
                let normal: PathBuf = p.components().fold(PathBuf::new(), |mut acc, c| {
                    match c {
                        std::path::Component::ParentDir => {
                            acc.pop();
                        }
                        std::path::Component::CurDir => {}
                        c => acc.push(c),
                    }
                    acc
                });
                normal.to_string_lossy().into_owned()
            };
            if !workspace().join(&linked).exists() {
                broken.push(format!("{file}: ({target}): no file {linked}"));
                continue;
            }
            if let Some(fragment) = fragment {
                let anchors: Vec<String> = read(&linked)
                    .lines()
                    .filter_map(|l| l.strip_prefix('#'))
                    .map(|h| anchor(h.trim_start_matches('#')))
                    .collect();
                if !anchors.iter().any(|a| a == fragment) {
                    broken.push(format!("{file}: ({target}): no heading #{fragment}"));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links:\n  {}",
        broken.join("\n  ")
    );
}
