//! Downloading osv.dev's per-ecosystem archives (`<base>/<ecosystem>/all.zip`) into the store.
//!
//! Conditional requests keep updates cheap: the `ETag` and `Last-Modified` of the last download
//! are stored per ecosystem and sent back as `If-None-Match` / `If-Modified-Since`; a `304 Not
//! Modified` changes nothing. The archive is downloaded to a temporary file first (bounded in
//! size) and imported in one transaction, so a dropped connection or an unreachable server
//! leaves the store exactly as it was.
//!
//! HTTP client: `ureq` (blocking, no async runtime, rustls so no system OpenSSL): an update is
//! a handful of sequential GETs, which needs nothing bigger.

use std::io::{Seek, Write};
use std::time::Duration;

use crate::import::{Importer, Limits, Report};
use crate::store::{SourceState, Store, StoreError, now};

/// The default base URL: osv.dev's public bucket.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Options of an update.
#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL; the archive of ecosystem `E` is `<base_url>/<E>/all.zip`.
    pub base_url: String,
    /// Overall timeout of one download.
    pub timeout: Duration,
    /// Largest archive accepted, in bytes.
    pub max_download: u64,
    /// Limits of the import.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(600),
            max_download: 2 << 30,
            limits: Limits::default(),
        }
    }
}

/// What an update of one ecosystem did.
#[derive(Debug)]
pub enum Outcome {
    /// The server said the archive did not change (304).
    NotModified,
    /// The archive was downloaded (this many bytes) and imported.
    Updated {
        /// Size of the archive.
        bytes: u64,
        /// The import.
        report: Report,
    },
}

/// Why an update failed; the store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The server could not be reached or the transfer failed.
    #[error("cannot download {url}: {reason} (offline? the store was left as it was)")]
    Network {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("cannot download {url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A local file could not be written.
    #[error("cannot store the download: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The URL of an ecosystem's archive: the name percent-encoded as a path segment.
pub fn archive_url(base_url: &str, ecosystem: &str) -> String {
    let mut seg = String::new();
    for b in ecosystem.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            seg.push(b as char);
        } else {
            seg.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{}/{seg}/all.zip", base_url.trim_end_matches('/'))
}

/// Downloads and imports the archive of `ecosystem` (a base name such as `Debian`) unless
/// the server says it is unchanged.
pub fn update(store: &mut Store, ecosystem: &str, opts: &Options) -> Result<Outcome, UpdateError> {
    let url = archive_url(&opts.base_url, ecosystem);
    let previous = store.source(ecosystem)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .http_status_as_error(false)
        .user_agent(concat!("inuse/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut req = agent.get(&url);
    if let Some(p) = &previous {
        if let Some(etag) = &p.etag {
            req = req.header("If-None-Match", etag);
        }
        if let Some(lm) = &p.last_modified {
            req = req.header("If-Modified-Since", lm);
        }
    }
    let network = |e: ureq::Error| UpdateError::Network {
        url: url.clone(),
        reason: e.to_string(),
    };
    let mut resp = req.call().map_err(network)?;
    let status = resp.status().as_u16();
    if status == 304 {
        store.touch_source(ecosystem)?;
        return Ok(Outcome::NotModified);
    }
    if status != 200 {
        return Err(UpdateError::Status { url, status });
    }
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header("etag");
    let last_modified = header("last-modified");
    let mut file = tempfile::tempfile()?;
    let mut reader = resp
        .body_mut()
        .with_config()
        .limit(opts.max_download)
        .reader();
    let bytes = std::io::copy(&mut reader, &mut file).map_err(|e| UpdateError::Network {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    file.flush()?;
    file.rewind()?;

    let mut writer = store.writer()?;
    let mut importer = Importer::new(&mut writer, opts.limits);
    importer.zip(std::io::BufReader::new(file), &url)?;
    let report = std::mem::take(&mut importer.report);
    let t = now();
    writer.set_source(&SourceState {
        ecosystem: ecosystem.to_owned(),
        url,
        etag,
        last_modified,
        checked_at: t,
        updated_at: Some(t),
    })?;
    writer.commit()?;
    Ok(Outcome::Updated { bytes, report })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            archive_url("http://h/x/", "Rocky Linux"),
            "http://h/x/Rocky%20Linux/all.zip"
        );
        assert_eq!(
            archive_url(DEFAULT_BASE_URL, "AlmaLinux"),
            format!("{DEFAULT_BASE_URL}/AlmaLinux/all.zip")
        );
    }
}
