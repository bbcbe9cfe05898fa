//! Pretty-printed JSON documents whose bulk is one array, serialised in parallel.
//!
//! `inuse ps` and `inuse deps` print one JSON object of a few small fields and one array of
//! thousands of elements (processes, resolved files): several megabytes for a whole host.
//! Serialising the array with one thread, or first building a `serde_json::Value` of it, made
//! the output cost more than the analysis. Here each element is pretty-printed on its own
//! (rayon), indented to its depth, and the document is assembled around them, a chunk of
//! elements at a time so that memory stays at one chunk's text.
//!
//! The output is byte for byte what `serde_json::to_writer_pretty` of the whole document
//! writes, followed by a newline; the tests here and in the commands compare the two.

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

/// Elements serialised in parallel before their text is written out.
const CHUNK: usize = 1024;

/// Writes the JSON object `{ fields..., array_key: [element(item) for item in items] }`
/// pretty-printed, then a newline. Each field's value is given already serialised at depth 1
/// (see [`indented`]); the elements are serialised here, in parallel.
pub(crate) fn write_object_with_array<'a, T, S>(
    out: &mut impl Write,
    fields: &[(&str, Vec<u8>)],
    array_key: &str,
    items: &'a [T],
    element: impl Fn(&'a T) -> S + Sync,
) -> io::Result<()>
where
    T: Sync,
    S: Serialize,
{
    out.write_all(b"{")?;
    for (key, value) in fields {
        out.write_all(b"\n  ")?;
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b": ")?;
        out.write_all(value)?;
        out.write_all(b",")?;
    }
    out.write_all(b"\n  ")?;
    serde_json::to_writer(&mut *out, array_key)?;
    out.write_all(b": [")?;
    for (c, chunk) in items.chunks(CHUNK).enumerate() {
        let texts = chunk
            .par_iter()
            .map(|item| indented(&element(item), 2))
            .collect::<io::Result<Vec<Vec<u8>>>>()?;
        for (i, text) in texts.iter().enumerate() {
            out.write_all(if c == 0 && i == 0 {
                b"\n    "
            } else {
                b",\n    "
            })?;
            out.write_all(text)?;
        }
    }
    if !items.is_empty() {
        out.write_all(b"\n  ")?;
    }
    out.write_all(b"]\n}\n")
}

/// `value` pretty-printed as if nested `depth` levels deep (two spaces a level): every line
/// after the first gains the indentation. Newlines inside strings are escaped by JSON, so
/// every raw newline is one of the printer's.
pub(crate) fn indented<T: Serialize + ?Sized>(value: &T, depth: usize) -> io::Result<Vec<u8>> {
    let plain = serde_json::to_vec_pretty(value)?;
    let pad = "  ".repeat(depth);
    let lines = plain.iter().filter(|&&b| b == b'\n').count();
    let mut out = Vec::with_capacity(plain.len() + lines * pad.len());
    for (i, line) in plain.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
            out.extend_from_slice(pad.as_bytes());
        }
        out.extend_from_slice(line);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;

    /// What `write_object_with_array` must print: serde_json's own pretty document.
    fn expected(doc: &Value) -> String {
        let mut text = serde_json::to_string_pretty(doc).unwrap();
        text.push('\n');
        text
    }

    fn ours(fields: &[(&str, Value)], key: &str, items: &[Value]) -> String {
        let fields: Vec<(&str, Vec<u8>)> = fields
            .iter()
            .map(|(k, v)| (*k, indented(v, 1).unwrap()))
            .collect();
        let mut out = Vec::new();
        write_object_with_array(&mut out, &fields, key, items, |v| v).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Nested objects and arrays, empty ones, nulls, strings with newlines and quotes, keys
    /// that need escaping, no leading field, and more elements than one chunk.
    #[test]
    fn documents_are_serde_json_pretty() {
        let element = |i: usize| {
            json!({
                "i": i,
                "text": format!("line\n\"{i}\"\\ \u{1}"),
                "empty": [],
                "nested": { "a": [[], [i], { "b": null }], "c": {} },
            })
        };
        for n in [0, 1, 2, CHUNK, CHUNK + 1, 2 * CHUNK + 3] {
            let items: Vec<Value> = (0..n).map(element).collect();
            let head = [
                ("root", json!("/a \"b\"\n")),
                ("kernel", json!({ "release": "6.1", "x": [1, { "y": [] }] })),
            ];
            let mut doc = serde_json::Map::new();
            for (k, v) in &head {
                doc.insert((*k).to_owned(), v.clone());
            }
            doc.insert("ob\"jects".to_owned(), Value::Array(items.clone()));
            assert_eq!(
                ours(&head, "ob\"jects", &items),
                expected(&Value::Object(doc))
            );
            let doc = json!({ "objects": items });
            assert_eq!(ours(&[], "objects", &items), expected(&doc));
        }
    }
}
