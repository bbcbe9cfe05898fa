//! Real processes for runtime tests: start one, wait until it has mapped (or listens on) what
//! the test needs, and kill and reap it when the test ends, whatever the outcome.
//!
//! Runtime evidence can only be tested against real processes, and a test that leaks a
//! daemon (an sshd on a port, a sleeping python) poisons the next run. [`LiveProcess`] owns
//! the child: dropping it sends `SIGKILL` and waits, so a panicking assertion still cleans up.
//! Waiting is by polling `/proc/PID/maps` (or `/proc/net/tcp`) with a deadline, or, when
//! what the test needs is that the program *did* something (called a function, read a table),
//! by a line the program prints on stdout once it has ([`LiveProcess::spawn_reporting`],
//! [`LiveProcess::wait_for_line`]): never by sleeping a fixed time and hoping. A mapped
//! library only says the loader got that far, not that `main` ran.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A child process killed and reaped on drop.
#[derive(Debug)]
pub struct LiveProcess {
    child: Child,
    what: String,
    /// Its stdout lines, read by a thread, when started with [`LiveProcess::spawn_reporting`].
    lines: Option<Receiver<String>>,
}

impl LiveProcess {
    /// Starts `cmd` with stdin closed and stdout/stderr discarded.
    ///
    /// # Panics
    ///
    /// When the program cannot be started.
    pub fn spawn(cmd: &mut Command) -> LiveProcess {
        let what = format!("{cmd:?}");
        match cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => LiveProcess {
                child,
                what,
                lines: None,
            },
            Err(e) => panic!("cannot start {what}: {e}"),
        }
    }

    /// Starts `cmd` with stdin closed, stderr discarded and its stdout read line by line, for
    /// [`LiveProcess::wait_for_line`]: the program says when it has done what the test needs.
    ///
    /// # Panics
    ///
    /// When the program cannot be started.
    pub fn spawn_reporting(cmd: &mut Command) -> LiveProcess {
        let what = format!("{cmd:?}");
        let mut child = match cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => panic!("cannot start {what}: {e}"),
        };
        let (tx, rx) = channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        LiveProcess {
            child,
            what,
            lines: Some(rx),
        }
    }

    /// Waits until the program prints the line `want` on stdout (started with
    /// [`LiveProcess::spawn_reporting`]).
    ///
    /// # Panics
    ///
    /// When it was not started with `spawn_reporting`, when its stdout closes (it exited)
    /// first, or when `timeout` passes, with the lines seen.
    pub fn wait_for_line(&mut self, timeout: Duration, want: &str) {
        let Some(lines) = &self.lines else {
            panic!("{}: wait_for_line needs spawn_reporting", self.what);
        };
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line == want => return,
                Ok(line) => seen.push(line),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{} exited before printing {want:?}: {seen:?}", self.what)
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{} did not print {want:?} within {timeout:?}: {seen:?}",
                    self.what
                ),
            }
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its `/proc/PID/maps`, empty when unreadable.
    pub fn maps(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/maps", self.pid())).unwrap_or_default()
    }

    /// Whether it is still running (not exited, not a zombie).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits until `ready(maps)` holds for its `/proc/PID/maps`.
    ///
    /// # Panics
    ///
    /// When the process exits first or `timeout` passes, with the last maps seen.
    pub fn wait_for_maps(&mut self, timeout: Duration, ready: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let maps = self.maps();
            if ready(&maps) {
                return;
            }
            assert!(self.alive(), "{} exited before it was ready", self.what);
            assert!(
                start.elapsed() < timeout,
                "{} not ready after {timeout:?}; maps:\n{maps}",
                self.what
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until a mapped path ends with `suffix`.
    pub fn wait_for_mapped(&mut self, timeout: Duration, suffix: &str) {
        self.wait_for_maps(timeout, |maps| {
            maps.lines().any(|l| {
                let l = l.strip_suffix(" (deleted)").unwrap_or(l);
                l.ends_with(suffix)
            })
        });
    }

    /// Waits until something listens on TCP `port` on 127.0.0.1 (any process; the test
    /// picked a free port).
    pub fn wait_for_tcp_listen(&mut self, timeout: Duration, port: u16) {
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(self.alive(), "{} exited before listening", self.what);
            assert!(
                start.elapsed() < timeout,
                "{} does not listen on {port} after {timeout:?}",
                self.what
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (a number, as `kill -N`) to it through `kill(1)`.
    ///
    /// # Panics
    ///
    /// When `kill` cannot be run.
    pub fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status();
        assert!(status.is_ok(), "cannot run kill: {status:?}");
    }

    /// Waits for it to exit within `timeout`, returning its exit code (`None` for a signal).
    ///
    /// # Panics
    ///
    /// When it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(
                start.elapsed() < timeout,
                "{} still running after {timeout:?}",
                self.what
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LiveProcess {
    fn drop(&mut self) {
        // It may have exited already; either way wait() reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
///
/// # Panics
///
/// When no socket can be bound.
pub fn free_tcp_port() -> u16 {
    match std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("cannot bind a TCP socket on 127.0.0.1: {e}"),
    }
}

/// A command that runs `program` with `args`, its environment cleared but `PATH`.
pub fn clean_command<I, S>(program: impl AsRef<Path>, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(program.as_ref());
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    cmd
}
