//! One tracing run: place a probe at every function entry, enable them together, notice hits,
//! remove each probe once it has fired, and leave nothing behind.
//!
//! The kernel state a run creates (a uprobe group, a tracefs instance) outlives the process,
//! so every path out of a run removes it: [`Session::finish`] on the normal path, `Drop` on
//! errors and panics (the caller turns `SIGINT`/`SIGTERM` into the normal path), and
//! [`remove_stale_groups`] at the next start for a run killed with `SIGKILL`.
//!
//! Probes are enabled in a private tracefs instance named like the group: the kernel counts
//! each hit (`uprobe_profile`) and records it in the instance's own small buffer (64 KiB per
//! CPU; nobody else's buffer is touched), which each poll reads through `trace_pipe` to learn
//! which process entered which function (the record carries the thread id and the probed
//! address). Without instance support the group is enabled at the top level instead, which
//! works but lets hits reach the global trace buffer, and processes are not recorded.
//!
//! # Why probes are grouped into multi-probe events
//!
//! Disabling a uprobe event costs an RCU-tasks-trace grace period in the kernel
//! (`uprobe_unregister_sync`, about 50 ms on the 6.x kernels measured), paid once per *event*,
//! under a global mutex, whatever the number of probes in it; and an enabled event cannot be
//! deleted (`EBUSY`). With one event per function, removing the 5,000 probes of libcrypto would
//! take minutes. So each event carries up to [`EVENT_PROBES`] probes of one library (the
//! kernel appends a `p:` line to an existing event of the same name), and "removing a probe
//! that has fired" means: place a new event with the members of the old one that have not
//! fired, enable it, and only then disable and delete the old one. The overlap means no entry
//! goes unseen during the swap; the cost is one grace period per event touched in a poll, not
//! per function.
//!
//! `uprobe_profile` names the event but not the offset, and all members of an event share its
//! name. Both `uprobe_profile` and `uprobe_events` list the kernel's probes in the same order
//! (one list, walked by both), and `uprobe_events` gives each probe's offset; a poll reads the
//! two back to back and pairs them line by line, and trusts the pairing only when every line's
//! event name and path agree (a probe added or removed by anyone between the two reads breaks
//! the agreement, and the poll is retried).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::SystemTime;

use rustix::fs::{Mode, OFlags};

use crate::events::{
    batches, event_name, group_name, group_pid, parse_event_line, parse_profile_line,
    parse_trace_line, path_is_expressible, place_command, remove_command,
};
use crate::functions::LibraryFunctions;
use crate::{TraceError, Tracefs};

/// Largest write to `uprobe_events`; the kernel parses any size line by line, but a
/// bounded write keeps one failing command from hiding many others.
const WRITE_BATCH: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeState {
    /// Not placed yet.
    Pending,
    /// Placed and enabled, not hit yet.
    Active,
    /// The kernel refused it.
    Failed,
    /// Seen hit at this poll, with the hits counted so far; removed or being removed.
    Hit { at: SystemTime, hits: u64 },
}

/// What a run measured for one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionResult {
    /// Its name.
    pub name: String,
    /// Other names at its address.
    pub aliases: Vec<String>,
    /// File offset of the probe.
    pub offset: u64,
    /// Whether a probe was in place (false: the kernel refused it).
    pub probed: bool,
    /// When a poll first saw it hit (at most one poll interval after the real entry).
    pub first_hit: Option<SystemTime>,
    /// Hits counted before its probe was removed (at least 1 when hit).
    pub hits: u64,
    /// The process whose entry was recorded first, when the trace buffer said (see
    /// [`HitProcess`]).
    pub first_by: Option<HitProcess>,
}

/// A process seen entering a traced function: from the trace buffer's record of the hit (its
/// thread id, turned into the process id through `/proc/TID/status` while it lives) and
/// `/proc/PID/exe` read when the record is read (at most one poll interval after the hit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitProcess {
    /// Process id (thread group id).
    pub pid: u32,
    /// Its executable, when it still ran when the record was read.
    pub exe: Option<String>,
}

/// What a run measured for one library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryResult {
    /// The path probes were placed on.
    pub path: PathBuf,
    /// Every function, in address order.
    pub functions: Vec<FunctionResult>,
    /// Whether `.symtab` contributed functions.
    pub symtab: bool,
    /// Function symbols without a file offset (not probed, not in `functions`).
    pub unmapped: usize,
    /// Processes seen entering any of its functions, by pid (hits are recorded only with a
    /// private tracefs instance; one-shot probes see the first entries of each function).
    pub entered_by: Vec<HitProcess>,
}

impl LibraryResult {
    /// Functions that had a probe.
    pub fn probed(&self) -> usize {
        self.functions.iter().filter(|f| f.probed).count()
    }

    /// Functions seen entered.
    pub fn hit(&self) -> impl Iterator<Item = &FunctionResult> {
        self.functions.iter().filter(|f| f.first_hit.is_some())
    }
}

/// What attaching did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attached {
    /// Probes in place and enabled.
    pub placed: usize,
    /// Probes the kernel refused, with the first error seen.
    pub failed: usize,
    /// The first error seen while placing, if any.
    pub first_error: Option<String>,
    /// Whether a private tracefs instance is used (see the module documentation).
    pub instance: bool,
}

struct Traced {
    functions: LibraryFunctions,
    /// The path as written to the kernel, and as `uprobe_profile` shows it.
    path: String,
}

/// A live multi-probe event: its library and its member probes.
#[derive(Debug, Clone)]
struct Event {
    library: usize,
    /// Probe number -> file offset.
    members: Vec<(usize, u64)>,
}

/// One run of probes. Dropping it removes everything it placed.
pub struct Session {
    tracefs: Tracefs,
    group: String,
    instance: Option<PathBuf>,
    libraries: Vec<Traced>,
    /// Probe number N -> (library, function).
    probes: Vec<(usize, usize)>,
    state: Vec<ProbeState>,
    /// Live events by name.
    events: HashMap<String, Event>,
    next_event: u32,
    max_probes: usize,
    active: usize,
    cleaned: bool,
    /// The instance's `trace_pipe`, non-blocking: which thread hit which event.
    pipe: Option<File>,
    /// Bytes of an incomplete last line of the pipe, kept for the next read.
    pipe_rest: Vec<u8>,
    /// Per probe: the process of its first recorded hit.
    first_by: Vec<Option<HitProcess>>,
    /// Per library: the processes that entered it.
    entered_by: Vec<BTreeMap<u32, Option<String>>>,
    /// Executables by pid, read once per pid.
    exes: HashMap<u32, Option<String>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("group", &self.group)
            .field("probes", &self.probes.len())
            .field("events", &self.events.len())
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// A probe seen hit: (event, offset, hits).
type Hit = (String, u64, u64);

/// Probes per multi-probe event (see the module documentation).
pub const EVENT_PROBES: usize = 256;

/// Times a poll re-reads the two files when their listings do not pair up.
const PAIRING_ATTEMPTS: usize = 5;

impl Session {
    /// A run of this process, in group `inuse_<pid>`, placing at most `max_probes` probes.
    pub fn new(tracefs: Tracefs, max_probes: usize) -> Session {
        Session {
            tracefs,
            group: group_name(std::process::id()),
            instance: None,
            libraries: Vec::new(),
            probes: Vec::new(),
            state: Vec::new(),
            events: HashMap::new(),
            next_event: 0,
            max_probes,
            active: 0,
            cleaned: false,
            pipe: None,
            pipe_rest: Vec::new(),
            first_by: Vec::new(),
            entered_by: Vec::new(),
            exes: HashMap::new(),
        }
    }

    /// The group name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The tracefs in use.
    pub fn tracefs(&self) -> &Tracefs {
        &self.tracefs
    }

    /// Probes added so far.
    pub fn probes(&self) -> usize {
        self.probes.len()
    }

    /// Probes in place that have not been hit yet.
    pub fn active(&self) -> usize {
        self.active
    }

    /// Adds a library: one probe per function. Refused whole (nothing added) when the path
    /// cannot be expressed to the kernel or the library would exceed `max_probes`, so that a
    /// library is either fully probed or not at all.
    pub fn add_library(&mut self, functions: LibraryFunctions) -> Result<(), TraceError> {
        let path = functions
            .path
            .to_str()
            .filter(|p| path_is_expressible(p))
            .ok_or_else(|| TraceError::UnprobeablePath(functions.path.clone()))?
            .to_owned();
        let needed = functions.functions.len();
        if self.probes.len() + needed > self.max_probes {
            return Err(TraceError::TooManyProbes {
                path: functions.path,
                needed,
                limit: self.max_probes,
            });
        }
        let library = self.libraries.len();
        for function in 0..needed {
            self.probes.push((library, function));
            self.state.push(ProbeState::Pending);
            self.first_by.push(None);
        }
        self.entered_by.push(BTreeMap::new());
        self.libraries.push(Traced { functions, path });
        Ok(())
    }

    fn offset(&self, n: usize) -> u64 {
        let (l, f) = self.probes[n];
        self.libraries[l].functions.functions[f].offset
    }

    fn new_event_name(&mut self) -> String {
        let name = event_name(self.next_event);
        self.next_event += 1;
        name
    }

    /// Our (event, offset) pairs currently in `uprobe_events`.
    fn listed(&self) -> Result<HashSet<(String, u64)>, TraceError> {
        let text = self.tracefs.read(&self.tracefs.uprobe_events())?;
        Ok(text
            .lines()
            .filter_map(parse_event_line)
            .filter(|e| e.group == self.group)
            .map(|e| (e.event.to_owned(), e.offset))
            .collect())
    }

    /// Writes the `p:` lines of a new event with these members; returns the members the
    /// kernel did not take (after one retry each, alone).
    fn place_event(
        &self,
        name: &str,
        library: usize,
        members: &[(usize, u64)],
        first_error: &mut Option<String>,
    ) -> Result<Vec<usize>, TraceError> {
        let path = &self.libraries[library].path;
        let events = self.tracefs.uprobe_events();
        let commands: Vec<String> = members
            .iter()
            .map(|&(_, offset)| place_command(&self.group, name, path, offset))
            .collect();
        for batch in batches(&commands, WRITE_BATCH) {
            if let Err(e) = self.tracefs.write(&events, &batch) {
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
        // The listing is the truth: a failed write may have placed part of its batch.
        let listed = self.listed()?;
        let mut refused = Vec::new();
        for (&(n, offset), command) in members.iter().zip(&commands) {
            if listed.contains(&(name.to_owned(), offset)) {
                continue;
            }
            if let Err(e) = self.tracefs.write(&events, command) {
                first_error.get_or_insert_with(|| e.to_string());
                refused.push(n);
            }
        }
        Ok(refused)
    }

    /// Places every probe, then enables them, event by event in quick succession. Probes the
    /// kernel refuses are counted, not fatal; so are probes it cannot install (an entry
    /// instruction uprobes cannot handle fails the whole event with `ENOTSUPP`: the event is
    /// split in halves until the culprits are alone).
    pub fn attach(&mut self) -> Result<Attached, TraceError> {
        let mut report = Attached::default();
        let instance = self.tracefs.dir().join("instances").join(&self.group);
        if std::fs::create_dir(&instance).is_ok() {
            // Hits are recorded in the instance's own small buffer (nobody else's), read at
            // each poll: who entered what.
            let _ = self.tracefs.write(&instance.join("buffer_size_kb"), "64");
            self.tracefs.write(&instance.join("tracing_on"), "1")?;
            self.pipe = rustix::fs::open(
                instance.join("trace_pipe"),
                OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
            .map(File::from);
            self.instance = Some(instance);
            report.instance = true;
        }
        let mut placed = Vec::new();
        let mut n = 0;
        while n < self.probes.len() {
            let library = self.probes[n].0;
            let mut members = Vec::new();
            while n < self.probes.len()
                && self.probes[n].0 == library
                && members.len() < EVENT_PROBES
            {
                members.push((n, self.offset(n)));
                n += 1;
            }
            let name = self.new_event_name();
            let refused = self.place_event(&name, library, &members, &mut report.first_error)?;
            for &r in &refused {
                self.state[r] = ProbeState::Failed;
            }
            members.retain(|(m, _)| !refused.contains(m));
            if !members.is_empty() {
                placed.push((name, library, members));
            }
        }
        for (name, library, members) in placed {
            self.enable_event(name, library, members, &mut report.first_error)?;
        }
        report.failed = self
            .state
            .iter()
            .filter(|s| **s == ProbeState::Failed)
            .count();
        report.placed = self.probes.len() - report.failed;
        self.active = report.placed;
        Ok(report)
    }

    /// Enables a placed event; when the kernel refuses, deletes it and tries its halves as
    /// new events, down to single probes, which are then marked failed.
    fn enable_event(
        &mut self,
        name: String,
        library: usize,
        members: Vec<(usize, u64)>,
        first_error: &mut Option<String>,
    ) -> Result<(), TraceError> {
        let enable = self
            .events_dir()
            .join(&self.group)
            .join(&name)
            .join("enable");
        match self.tracefs.write(&enable, "1") {
            Ok(()) => {
                for &(m, _) in &members {
                    self.state[m] = ProbeState::Active;
                }
                self.events.insert(name, Event { library, members });
                Ok(())
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
                // The kernel rolled the event back to disabled, so it can be deleted.
                self.tracefs.write(
                    &self.tracefs.uprobe_events(),
                    &remove_command(&self.group, &name),
                )?;
                if members.len() == 1 {
                    self.state[members[0].0] = ProbeState::Failed;
                    return Ok(());
                }
                let (left, right) = members.split_at(members.len() / 2);
                for half in [left.to_vec(), right.to_vec()] {
                    let half_name = self.new_event_name();
                    let refused = self.place_event(&half_name, library, &half, first_error)?;
                    for &r in &refused {
                        self.state[r] = ProbeState::Failed;
                    }
                    let half: Vec<_> = half
                        .into_iter()
                        .filter(|(m, _)| !refused.contains(m))
                        .collect();
                    if !half.is_empty() {
                        self.enable_event(half_name, library, half, first_error)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn events_dir(&self) -> PathBuf {
        self.instance
            .as_deref()
            .unwrap_or(self.tracefs.dir())
            .join("events")
    }

    /// Our probes with hits: (event, offset, hits), from `uprobe_events` and `uprobe_profile`
    /// paired line by line (see the module documentation). `None` when the two listings
    /// never agreed.
    fn read_hits(&self) -> Result<Option<Vec<Hit>>, TraceError> {
        for _ in 0..PAIRING_ATTEMPTS {
            let listing = self.tracefs.read(&self.tracefs.uprobe_events())?;
            let profile = self.tracefs.read(&self.tracefs.uprobe_profile())?;
            let events: Vec<_> = listing.lines().filter_map(parse_event_line).collect();
            let counts: Vec<_> = profile.lines().filter_map(parse_profile_line).collect();
            let agree = events.len() == counts.len()
                && events
                    .iter()
                    .zip(&counts)
                    .all(|(e, c)| e.event == c.event && e.path == c.path);
            if agree {
                return Ok(Some(
                    events
                        .iter()
                        .zip(&counts)
                        .filter(|(e, c)| e.group == self.group && c.hits > 0)
                        .map(|(e, c)| (e.event.to_owned(), e.offset, c.hits))
                        .collect(),
                ));
            }
        }
        Ok(None)
    }

    /// Reads the hit counters; every probe that has fired is recorded as hit at `now`, and
    /// the events it belonged to are replaced by events without it. Returns how many probes
    /// were newly hit.
    pub fn poll(&mut self, now: SystemTime) -> Result<usize, TraceError> {
        self.collect_hits(now, true)
    }

    /// [`Session::poll`], replacing the events touched only when `replace` is set.
    fn collect_hits(&mut self, now: SystemTime, replace: bool) -> Result<usize, TraceError> {
        // Before any event is deleted: a record of a deleted event cannot be printed.
        self.drain_pipe();
        let Some(hits) = self.read_hits()? else {
            return Ok(0);
        };
        let mut touched = HashSet::new();
        let mut newly = 0;
        for (event, offset, count) in hits {
            let Some(ev) = self.events.get(&event) else {
                continue;
            };
            for &(n, _) in ev.members.iter().filter(|&&(_, o)| o == offset) {
                if self.state[n] == ProbeState::Active {
                    self.state[n] = ProbeState::Hit {
                        at: now,
                        hits: count,
                    };
                    newly += 1;
                }
            }
            touched.insert(event);
        }
        self.active -= newly;
        if replace {
            let mut touched: Vec<String> = touched.into_iter().collect();
            touched.sort();
            for event in touched {
                self.replace_event(&event)?;
            }
        }
        Ok(newly)
    }

    /// Reads the hit records waiting in the instance's buffer: for each, the process (and its
    /// executable) that entered the library, and the function when its mapping still tells
    /// the address's file offset.
    fn drain_pipe(&mut self) {
        /// Bound on what one poll reads (the buffer holds 64 KiB per CPU).
        const MAX_READ: usize = 16 << 20;
        let Some(pipe) = self.pipe.as_mut() else {
            return;
        };
        let mut data = std::mem::take(&mut self.pipe_rest);
        let mut buf = vec![0u8; 64 * 1024];
        while data.len() < MAX_READ {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // WouldBlock: nothing more now; anything else: give up on pids, keep counting.
                Err(_) => break,
            }
        }
        let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.pipe_rest = data.split_off(complete);
        if self.pipe_rest.len() > 4096 {
            self.pipe_rest.clear();
        }
        let text = String::from_utf8_lossy(&data);
        let mut maps: HashMap<u32, Option<String>> = HashMap::new();
        let mut tgids: HashMap<u32, u32> = HashMap::new();
        for line in text.lines() {
            let Some(hit) = parse_trace_line(line) else {
                continue;
            };
            let Some(event) = self.events.get(hit.event) else {
                continue;
            };
            let library = event.library;
            let pid = *tgids.entry(hit.tid).or_insert_with(|| tgid(hit.tid));
            let exe = self
                .exes
                .entry(pid)
                .or_insert_with(|| {
                    std::fs::read_link(format!("/proc/{pid}/exe"))
                        .ok()
                        .map(|p| p.to_string_lossy().into_owned())
                })
                .clone();
            self.entered_by[library]
                .entry(pid)
                .or_insert_with(|| exe.clone());
            let maps = maps
                .entry(hit.tid)
                .or_insert_with(|| std::fs::read_to_string(format!("/proc/{}/maps", hit.tid)).ok());
            let path = &self.libraries[library].path;
            let Some(offset) = maps
                .as_deref()
                .and_then(|m| file_offset(m, path, hit.address))
            else {
                continue;
            };
            for &(n, _) in event.members.iter().filter(|&&(_, o)| o == offset) {
                self.first_by[n].get_or_insert_with(|| HitProcess {
                    pid,
                    exe: exe.clone(),
                });
            }
        }
    }

    /// Replaces `name` by an event of its members that have not fired (placed and enabled
    /// first), then disables and deletes it. When the replacement cannot be placed whole,
    /// the old event stays: fewer removals, never a gap.
    fn replace_event(&mut self, name: &str) -> Result<(), TraceError> {
        let Some(old) = self.events.get(name).cloned() else {
            return Ok(());
        };
        let remaining: Vec<(usize, u64)> = old
            .members
            .iter()
            .copied()
            .filter(|&(n, _)| self.state[n] == ProbeState::Active)
            .collect();
        let group_dir = self.events_dir().join(&self.group);
        if !remaining.is_empty() {
            let new = self.new_event_name();
            let mut first_error = None;
            let refused = self.place_event(&new, old.library, &remaining, &mut first_error)?;
            let enabled = refused.is_empty()
                && self
                    .tracefs
                    .write(&group_dir.join(&new).join("enable"), "1")
                    .is_ok();
            if !enabled {
                let _ = self
                    .tracefs
                    .write(&group_dir.join(&new).join("enable"), "0");
                let _ = self.tracefs.write(
                    &self.tracefs.uprobe_events(),
                    &remove_command(&self.group, &new),
                );
                return Ok(());
            }
            self.events.insert(
                new,
                Event {
                    library: old.library,
                    members: remaining,
                },
            );
        }
        // A failure leaves the old event listed and live; the final cleanup removes it.
        if self
            .tracefs
            .write(&group_dir.join(name).join("enable"), "0")
            .is_ok()
            && self
                .tracefs
                .write(
                    &self.tracefs.uprobe_events(),
                    &remove_command(&self.group, name),
                )
                .is_ok()
        {
            self.events.remove(name);
        }
        Ok(())
    }

    /// Disables the whole group and deletes all of its events that remain.
    fn cleanup(&mut self) -> Result<(), TraceError> {
        let disabled = self.disable_all();
        remove_group(&self.tracefs, &self.group)?;
        self.cleaned = true;
        disabled
    }

    /// Ends the run: a last look at the counters, then every probe is removed. Returns what
    /// was measured, per library in the order added.
    pub fn finish(mut self) -> Result<Vec<LibraryResult>, TraceError> {
        self.collect_hits(SystemTime::now(), false)?;
        let disabled = self.disable_all();
        // Hits between the last poll and the disabling are still counted.
        let polled = self.collect_hits(SystemTime::now(), false);
        // On failure `Drop` tries again.
        remove_group(&self.tracefs, &self.group)?;
        self.cleaned = true;
        disabled?;
        polled?;
        Ok(self.results())
    }

    /// Disables every probe of the group at once.
    fn disable_all(&mut self) -> Result<(), TraceError> {
        // An instance with an open file cannot be removed.
        self.pipe = None;
        match &self.instance {
            Some(instance) => {
                std::fs::remove_dir(instance).map_err(|e| {
                    TraceError::io(format!("cannot remove {}", instance.display()), e)
                })?;
                self.instance = None;
                Ok(())
            }
            None => {
                let enable = self
                    .tracefs
                    .dir()
                    .join("events")
                    .join(&self.group)
                    .join("enable");
                if enable.exists() {
                    self.tracefs.write(&enable, "0")
                } else {
                    Ok(())
                }
            }
        }
    }

    fn results(&mut self) -> Vec<LibraryResult> {
        let mut out: Vec<LibraryResult> = self
            .libraries
            .iter()
            .map(|l| LibraryResult {
                path: l.functions.path.clone(),
                functions: Vec::with_capacity(l.functions.functions.len()),
                symtab: l.functions.symtab,
                unmapped: l.functions.unmapped,
                entered_by: Vec::new(),
            })
            .collect();
        for (l, by) in self.entered_by.iter().enumerate() {
            out[l].entered_by = by
                .iter()
                .map(|(&pid, exe)| HitProcess {
                    pid,
                    exe: exe.clone(),
                })
                .collect();
        }
        for (n, &(l, f)) in self.probes.iter().enumerate() {
            let function = &self.libraries[l].functions.functions[f];
            let (probed, first_hit, hits) = match self.state[n] {
                ProbeState::Hit { at, hits } => (true, Some(at), hits),
                ProbeState::Active => (true, None, 0),
                ProbeState::Pending | ProbeState::Failed => (false, None, 0),
            };
            out[l].functions.push(FunctionResult {
                name: function.name.clone(),
                aliases: function.aliases.clone(),
                offset: function.offset,
                probed,
                first_hit,
                hits,
                first_by: self.first_by[n].clone(),
            });
        }
        out
    }
}

/// The process (thread group) of thread `tid`, from `/proc/TID/status`; `tid` itself when
/// the thread is gone.
fn tgid(tid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Tgid:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(tid)
}

/// The file offset of `address` in the mapping of `path` that holds it, from `maps` text.
fn file_offset(maps: &str, path: &str, address: u64) -> Option<u64> {
    maps.lines().find_map(|line| {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let (start, end) = (
            u64::from_str_radix(start, 16).ok()?,
            u64::from_str_radix(end, 16).ok()?,
        );
        let offset = u64::from_str_radix(fields.nth(1)?, 16).ok()?;
        let mapped = fields.nth(2)?;
        (address >= start && address < end && mapped == path)
            .then(|| offset.checked_add(address - start))?
    })
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.cleaned {
            // Best effort on error paths: the next start removes what is left
            // (`remove_stale_groups`).
            let _ = self.cleanup();
        }
    }
}

/// Deletes every event of `group` (which must be disabled) and checks that none is left.
fn remove_group(tracefs: &Tracefs, group: &str) -> Result<(), TraceError> {
    let events = tracefs.uprobe_events();
    // One command per event: `-:group/event` removes every probe the event carries.
    let listed = |tracefs: &Tracefs| -> Result<Vec<String>, TraceError> {
        let text = tracefs.read(&events)?;
        let names: std::collections::BTreeSet<&str> = text
            .lines()
            .filter_map(parse_event_line)
            .filter(|e| e.group == group)
            .map(|e| e.event)
            .collect();
        Ok(names
            .into_iter()
            .map(|e| remove_command(group, e))
            .collect())
    };
    let commands = listed(tracefs)?;
    if commands.is_empty() {
        return Ok(());
    }
    let mut first_error = None;
    for batch in batches(&commands, WRITE_BATCH) {
        if let Err(e) = tracefs.write(&events, &batch) {
            first_error.get_or_insert(e);
        }
    }
    let left = listed(tracefs)?.len();
    match (left, first_error) {
        (0, _) => Ok(()),
        (_, Some(e)) => Err(e),
        (left, None) => Err(TraceError::io(
            format!("cannot remove probe group {group}"),
            std::io::Error::other(format!("{left} probes are still listed in uprobe_events")),
        )),
    }
}

/// Whether `pid` is a live inuse process (whose group must not be touched).
fn is_inuse_process(pid: u32) -> bool {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim_end().starts_with("inuse") {
        return true;
    }
    std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
        exe.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("inuse"))
    })
}

/// Removes the groups (and tracefs instances) left by inuse runs that died without cleaning
/// up: groups named `inuse_<pid>` whose pid is no longer an inuse process. Other groups,
/// including those of inuse runs still alive, are not touched. Returns the groups removed.
pub fn remove_stale_groups(tracefs: &Tracefs) -> Result<Vec<String>, TraceError> {
    let text = tracefs.read(&tracefs.uprobe_events())?;
    let own = std::process::id();
    let mut groups: HashMap<String, u32> = HashMap::new();
    for e in text.lines().filter_map(parse_event_line) {
        if let Some(pid) = group_pid(e.group) {
            groups.insert(e.group.to_owned(), pid);
        }
    }
    // An instance whose probes are already gone (a kill between the two cleanup steps).
    if let Ok(dir) = std::fs::read_dir(tracefs.dir().join("instances")) {
        for entry in dir.flatten() {
            if let Some(name) = entry.file_name().to_str()
                && let Some(pid) = group_pid(name)
            {
                groups.insert(name.to_owned(), pid);
            }
        }
    }
    let mut removed: Vec<String> = Vec::new();
    for (group, pid) in groups {
        if pid == own || is_inuse_process(pid) {
            continue;
        }
        let instance = tracefs.dir().join("instances").join(&group);
        if instance.exists() {
            std::fs::remove_dir(&instance)
                .map_err(|e| TraceError::io(format!("cannot remove {}", instance.display()), e))?;
        }
        let enable = tracefs.dir().join("events").join(&group).join("enable");
        if enable.exists() {
            tracefs.write(&enable, "0")?;
        }
        remove_group(tracefs, &group)?;
        removed.push(group);
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_to_file_offsets() {
        let maps = "\
7f00000000-7f00003000 r--p 00000000 08:01 12 /usr/lib/libz.so.1.2.13
7f00003000-7f00016000 r-xp 00003000 08:01 12 /usr/lib/libz.so.1.2.13
7f00016000-7f0001d000 r--p 00016000 08:01 12 /usr/lib/libz.so.1.2.13
7f10000000-7f10001000 r-xp 00000000 08:01 13 /usr/lib/other.so
";
        let z = "/usr/lib/libz.so.1.2.13";
        assert_eq!(file_offset(maps, z, 0x7f0000f6c0), Some(0xf6c0));
        assert_eq!(file_offset(maps, z, 0x7f10000010), None);
        assert_eq!(file_offset(maps, z, 0x7f20000000), None);
        assert_eq!(file_offset("garbage\n", z, 1), None);
        // Our own thread group.
        assert_eq!(tgid(std::process::id()), std::process::id());
    }
}
