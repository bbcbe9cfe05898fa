//! Validation of documents against the official JSON schemas in `../shared/data/schemas`.
//!
//! The validator is Debian's `python3-jsonschema` (the reference implementation), run as
//! `/usr/bin/python3` so that the system's packages are found whatever `python3` is first on
//! PATH. Sub-schemas referenced by relative `$ref` (CycloneDX's `spdx.schema.json` and
//! `jsf-0.82.schema.json`) are served from the same folder: nothing is fetched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Skip;

const SCRIPT: &str = r##"
import json, os, sys
import jsonschema
folder, name = sys.argv[1], sys.argv[2]
store = {}
for f in os.listdir(folder):
    if f.endswith(".json"):
        with open(os.path.join(folder, f)) as fh:
            s = json.load(fh)
        sid = s.get("$id") or s.get("id") if isinstance(s, dict) else None
        if sid:
            store[sid.rstrip("#")] = s
            # CycloneDX names its sub-schemas without the "cyclonedx-" prefix of our copies.
            base = sid.rsplit("/", 1)[0]
            store[base + "/" + f.replace("cyclonedx-", "")] = s
with open(os.path.join(folder, name)) as fh:
    schema = json.load(fh)
doc = json.load(sys.stdin)
cls = jsonschema.validators.validator_for(schema)
resolver = jsonschema.RefResolver.from_schema(schema, store=store)
errors = sorted(cls(schema, resolver=resolver).iter_errors(doc), key=lambda e: list(e.path))
for e in errors[:20]:
    print("/".join(map(str, e.path)) or "<root>", ":", e.message[:300])
sys.exit(1 if errors else 0)
"##;

/// The folder of the official schemas: `$INUSE_TESTDATA/schemas` or `../shared/data/schemas`
/// beside the workspace.
pub fn schemas_dir() -> Result<PathBuf, Skip> {
    let dir = crate::testdata_dir()?.join("schemas");
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Skip::missing_data(format!("{} is missing", dir.display())))
    }
}

/// Validates `doc` against the schema file `name` (e.g. `openvex-0.2.0.schema.json`).
/// `Err(Skip)` when the schemas or the validator are not available; a validation failure is
/// `Ok(Err(errors))`.
pub fn validate(name: &str, doc: &serde_json::Value) -> Result<Result<(), String>, Skip> {
    let dir = schemas_dir()?;
    let python = Path::new("/usr/bin/python3");
    let probe = Command::new(python)
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return Err(Skip::new(
            "python3-jsonschema is not installed (run .ci/setup)",
        ));
    }
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .arg(&dir)
        .arg(name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Skip::new(format!("cannot run python3: {e}")))?;
    let body = serde_json::to_vec(doc).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&body);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Skip::new(format!("python3 failed: {e}")))?;
    if out.status.success() {
        Ok(Ok(()))
    } else if out.status.code() != Some(1) {
        // The validator itself failed (a traceback): that proves nothing either way.
        panic!(
            "schema validator crashed on {name}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        Ok(Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}
