//! Where code was seen: processes, the containers they run in, and the images those come from.
//!
//! DESIGN.md's first question is "which vulnerable code is loaded into memory, and executed,
//! right now, by which process (root? listening on the network? inside which container?)". The
//! `loaded`, `executed` and `function` rungs of the ladder are each supported by the
//! [`ProcessRef`]s that showed them.
//!
//! Only what was read is filled in: a container's name, image, pod or namespace are `null`
//! until something reads them from the runtime; they are never guessed from the id.

use serde::{Deserialize, Serialize};

/// A container: the runtime and its id, and what the runtime says about it when known.
///
/// JSON: `{"runtime", "id", "name", "image", "image_id", "pod", "namespace",
/// "container_name"}`, unknown fields `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContainerRef {
    /// `docker`, `containerd`, `cri-o`, `podman`, `systemd-nspawn` or `lxc`.
    pub runtime: String,
    /// The runtime's id of the container (or its name, for nspawn and lxc).
    pub id: String,
    /// The container's name, when read from the runtime.
    pub name: Option<String>,
    /// The image it runs, when known.
    pub image: Option<ImageRef>,
    /// The image's id (`sha256:...` of its configuration), when known.
    pub image_id: Option<String>,
    /// The Kubernetes pod, when known.
    pub pod: Option<String>,
    /// The Kubernetes namespace, when known.
    pub namespace: Option<String>,
    /// The container's name inside its pod, when known.
    pub container_name: Option<String>,
}

impl ContainerRef {
    /// A container known only by its runtime and id (what `/proc/PID/cgroup` tells).
    pub fn new(runtime: impl Into<String>, id: impl Into<String>) -> ContainerRef {
        ContainerRef {
            runtime: runtime.into(),
            id: id.into(),
            ..Default::default()
        }
    }
}

/// An image: its name as given (`docker.io/library/nginx:1.27`) and its digest when known.
///
/// JSON: `{"name", "digest"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageRef {
    /// The reference as given (registry, repository, tag).
    pub name: String,
    /// The manifest digest (`sha256:...`), when known.
    pub digest: Option<String>,
}

/// A live process that had code of a package.
///
/// JSON: `{"pid", "exe", "uid", "container", "listening", "stale", "privileged_binary"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    /// Process id at the time of the sweep (0 for a process known only from the observation
    /// store, where pids are not kept).
    pub pid: u32,
    /// Executable path (the command name when the path is unreadable).
    pub exe: String,
    /// Effective user id (`u32::MAX` when unknown).
    pub uid: u32,
    /// The container it runs in, if any.
    pub container: Option<ContainerRef>,
    /// Sockets it listens on (`tcp 0.0.0.0:22`).
    pub listening: Vec<String>,
    /// `deleted` or `replaced` when the mapped file is no longer the one on disk.
    pub stale: Option<String>,
    /// Whether the executable is set-user-ID, set-group-ID or has file capabilities.
    #[serde(default)]
    pub privileged_binary: bool,
}
