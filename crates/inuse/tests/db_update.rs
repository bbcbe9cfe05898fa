//! `inuse db update` and `inuse db status` against an HTTP server on 127.0.0.1 started by the
//! test, serving the real AlmaLinux `all.zip`: download, conditional request answered 304,
//! the default ecosystem taken from `--root`, offline and HTTP errors leaving the store intact.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

const ETAG: &str = "\"alma-1\"";

/// The shared data (with `osv/AlmaLinux-all.zip`), or a skip for missing data (a failure
/// under `CI=true`).
fn testdata() -> Result<PathBuf, inuse_testkit::Skip> {
    inuse_testkit::shared_data("osv/AlmaLinux-all.zip")?;
    inuse_testkit::testdata_dir()
}

/// Requests seen: (path, If-None-Match).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Serves `zip` at `/AlmaLinux/all.zip` for `max` connections, in a thread.
fn serve(zip: Vec<u8>, max: usize) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
            let mut inm = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("if-none-match") {
                        inm = Some(v.trim().to_owned());
                    }
                }
            }
            log.lock().expect("lock").push((path.clone(), inm.clone()));
            let head = if path != "/AlmaLinux/all.zip" {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            } else if inm.as_deref() == Some(ETAG) {
                format!("HTTP/1.1 304 Not Modified\r\nETag: {ETAG}\r\nConnection: close\r\n\r\n")
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nETag: {ETAG}\r\nLast-Modified: Thu, 26 Nov 2026 20:22:00 GMT\r\nConnection: close\r\n\r\n",
                    zip.len()
                )
            };
            let _ = stream.write_all(head.as_bytes());
            if head.starts_with("HTTP/1.1 200") {
                let _ = stream.write_all(&zip);
            }
            let _ = stream.flush();
        }
    });
    (url, seen)
}

fn inuse(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inuse"))
        .args(args)
        .env_remove("INUSE_OSV_URL")
        .env_remove("INUSE_DB")
        .envs(env.iter().copied())
        .output()
        .expect("run inuse");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn records(db: &str) -> serde_json::Value {
    let (code, out, err) = inuse(&["db", "status", "--db", db, "--format", "json"], &[]);
    assert_eq!(code, Some(0), "{err}");
    serde_json::from_str(&out).expect("status json")
}

#[test]
fn update_conditional_offline_and_status() {
    let data = inuse_testkit::or_skip!(testdata());
    let zip = std::fs::read(data.join("osv/AlmaLinux-all.zip")).expect("zip");
    let (url, seen) = serve(zip.clone(), 4);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.sqlite");
    let db = db.to_str().expect("utf-8");

    // 1: download.
    let (code, out, err) = inuse(
        &[
            "db",
            "update",
            "--db",
            db,
            "--ecosystem",
            "AlmaLinux",
            "--base-url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "AlmaLinux: downloaded {} bytes; 5637 records read: 5637 added",
            zip.len()
        )),
        "{out}"
    );
    let status = records(db);
    assert_eq!(status["records"], 5637);
    assert_eq!(status["sources"][0]["etag"], ETAG);
    assert_eq!(
        status["sources"][0]["url"],
        format!("{url}/AlmaLinux/all.zip")
    );
    assert!(status["ecosystems"]["AlmaLinux:9"].as_u64().expect("count") > 1000);

    // 2: conditional request through $INUSE_OSV_URL, answered 304.
    let (code, out, err) = inuse(
        &["db", "update", "--db", db, "--ecosystem", "AlmaLinux:9"],
        &[("INUSE_OSV_URL", &url)],
    );
    assert_eq!(
        (code, out.trim()),
        (Some(0), "AlmaLinux: not modified"),
        "{err}"
    );

    // 3: default ecosystem from the root's os-release.
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("etc")).expect("mkdir");
    std::fs::write(
        root.path().join("etc/os-release"),
        "ID=\"almalinux\"\nVERSION_ID=\"9.4\"\n",
    )
    .expect("os-release");
    let root_s = root.path().to_str().expect("utf-8");
    let (code, out, err) = inuse(
        &[
            "db",
            "update",
            "--db",
            db,
            "--root",
            root_s,
            "--base-url",
            &url,
        ],
        &[],
    );
    assert_eq!(
        (code, out.trim()),
        (Some(0), "AlmaLinux: not modified"),
        "{err}"
    );

    // 4: an HTTP error.
    let (code, _, err) = inuse(
        &[
            "db",
            "update",
            "--db",
            db,
            "--ecosystem",
            "Debian",
            "--base-url",
            &url,
        ],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("HTTP 404"), "{err}");

    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0], ("/AlmaLinux/all.zip".to_owned(), None));
    assert_eq!(seen[1].1.as_deref(), Some(ETAG));
    assert_eq!(seen[3].0, "/Debian/all.zip");

    // 5: offline (nothing listens): a clear error, the store intact.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let (code, _, err) = inuse(
        &[
            "db",
            "update",
            "--db",
            db,
            "--ecosystem",
            "AlmaLinux",
            "--base-url",
            &closed,
        ],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("cannot download") && err.contains("offline"),
        "{err}"
    );
    assert_eq!(records(db)["records"], 5637);

    // Table status names the path, the counts and the source.
    let (code, out, _) = inuse(&["db", "status", "--db", db], &[]);
    assert_eq!(code, Some(0));
    for needle in [
        db,
        "records:      5637",
        "AlmaLinux:9",
        "AlmaLinux  http://127.0.0.1",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
}

#[test]
fn status_of_a_missing_store_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("none.sqlite");
    let (code, _, err) = inuse(&["db", "status", "--db", db.to_str().expect("utf-8")], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no vulnerability database"), "{err}");
    assert!(!db.exists(), "status must not create the store");
}

#[test]
fn default_store_path_follows_inuse_db() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("env.sqlite");
    let src = dir.path().join("r.json");
    std::fs::write(&src, r#"{"id":"T-1","modified":"2024-01-01T00:00:00Z"}"#).expect("write");
    let (code, out, err) = inuse(
        &["db", "import", src.to_str().expect("utf-8")],
        &[("INUSE_DB", db.to_str().expect("utf-8"))],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1 records read: 1 added"), "{out}");
    assert!(db.is_file());
}
