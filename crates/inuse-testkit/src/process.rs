//! Running a child process with a time bound, capturing both output streams.
//!
//! Every external command a test runs (the compiler, the loader, inuse itself) goes through
//! here, so a hang in any of them fails the test after a bounded time instead of stalling CI.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished (or killed) child process produced.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The exit code, or `None` when the process was killed by a signal.
    pub code: Option<i32>,
    /// The signal that ended the process, if any.
    pub signal: Option<i32>,
    /// Whether we killed it because it exceeded its time bound.
    pub timed_out: bool,
    /// Everything written to stdout, lossily decoded.
    pub stdout: String,
    /// Everything written to stderr, lossily decoded.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Captured {
    /// Whether the process exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `cmd` with stdin closed, capturing stdout and stderr; kills it after `timeout`.
///
/// # Errors
///
/// Returns the spawn error (typically `NotFound`) when the program cannot be started.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> std::io::Result<Captured> {
    use std::os::unix::process::ExitStatusExt;

    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain both pipes on their own threads so a chatty child cannot block on a full pipe.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            // The child may have exited in between; either way wait() reaps it.
            let _ = child.kill();
            break child.wait()?;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let join = |h: Option<thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    Ok(Captured {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: join(stdout),
        stderr: join(stderr),
        elapsed: start.elapsed(),
    })
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error just truncates what we show; the exit status still tells the story.
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}
