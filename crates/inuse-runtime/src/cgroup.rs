//! `/proc/PID/cgroup`: which container a process runs in.
//!
//! Container runtimes name the cgroup of a container after it, and that is the only place the
//! kernel records the relation without asking the runtime (which we do not, to stay
//! read-only and runtime-agnostic). The shapes recognised, cgroup v1 and v2, systemd and
//! cgroupfs drivers:
//!
//! | runtime | cgroup path component |
//! | --- | --- |
//! | docker | `docker-<id>.scope`, `/docker/<id>` |
//! | containerd (CRI) | `cri-containerd-<id>.scope`, `/kubepods/.../<id>` |
//! | cri-o | `crio-<id>.scope`, `crio-conmon-<id>.scope` is the monitor, not the container |
//! | podman | `libpod-<id>.scope`, `/libpod_parent/libpod-<id>` |
//! | systemd-nspawn | `machine-<name>.scope` below `machine.slice`, `\x2d` unescaped |
//! | lxc | `/lxc/<name>`, `/lxc.payload.<name>`, `/lxc.payload/<name>` |
//!
//! A bare 64-hex component below `kubepods` is attributed to containerd (the common CRI);
//! anything unrecognised is "not in a container" rather than a guess.

use inuse_model::ContainerRef as Container;

/// The container named by the contents of `/proc/PID/cgroup`, if any.
pub fn container(data: &[u8]) -> Option<Container> {
    data.split(|&b| b == b'\n').find_map(|line| {
        // hierarchy-ID:controllers:path; the path may contain ':'.
        let mut parts = line.splitn(3, |&b| b == b':');
        let _id = parts.next()?;
        let _controllers = parts.next()?;
        let path = std::str::from_utf8(parts.next()?).ok()?;
        from_path(path)
    })
}

fn is_hex_id(s: &str) -> bool {
    s.len() >= 12 && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn from_path(path: &str) -> Option<Container> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate().rev() {
        let scope = part.strip_suffix(".scope");
        let prefixed = |prefix: &str| scope.and_then(|s| s.strip_prefix(prefix));
        let found = |runtime: &'static str, id: &str| Some(Container::new(runtime, id));
        if let Some(id) = prefixed("docker-").filter(|id| is_hex_id(id)) {
            return found("docker", id);
        }
        if let Some(id) = prefixed("cri-containerd-").filter(|id| is_hex_id(id)) {
            return found("containerd", id);
        }
        if prefixed("crio-conmon-").is_some() {
            continue;
        }
        if let Some(id) = prefixed("crio-").filter(|id| is_hex_id(id)) {
            return found("cri-o", id);
        }
        if let Some(id) = prefixed("libpod-").filter(|id| is_hex_id(id)) {
            return found("podman", id);
        }
        if let Some(id) = part.strip_prefix("libpod-").filter(|id| is_hex_id(id)) {
            return found("podman", id);
        }
        if let Some(name) = prefixed("machine-") {
            if parts[..i].contains(&"machine.slice") {
                return found("systemd-nspawn", &name.replace("\\x2d", "-"));
            }
        }
        if let Some(name) = part.strip_prefix("lxc.payload.") {
            return found("lxc", name);
        }
        let parent = i.checked_sub(1).map(|p| parts[p]);
        match parent {
            Some("docker") if is_hex_id(part) => return found("docker", part),
            Some("lxc" | "lxc.payload") => return found("lxc", part),
            _ => {}
        }
        if is_hex_id(part)
            && part.len() == 64
            && parts[..i].iter().any(|p| p.starts_with("kubepods"))
        {
            return found("containerd", part);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ID: &str = "4f9c7e0d1c2b3a4f9c7e0d1c2b3a4f9c7e0d1c2b3a4f9c7e0d1c2b3a4f9c7e0d";

    fn runtime(text: &str) -> Option<(String, String)> {
        container(text.as_bytes()).map(|c| (c.runtime, c.id))
    }

    #[test]
    fn runtimes() {
        let cases = [
            (
                format!("0::/system.slice/docker-{ID}.scope\n"),
                "docker",
                ID.to_owned(),
            ),
            (format!("12:pids:/docker/{ID}\n"), "docker", ID.to_owned()),
            (
                format!("0::/kubepods.slice/kubepods-besteffort.slice/x/cri-containerd-{ID}.scope"),
                "containerd",
                ID.to_owned(),
            ),
            (
                format!("0::/kubepods/besteffort/pod1234/{ID}"),
                "containerd",
                ID.to_owned(),
            ),
            (
                format!("0::/machine.slice/crio-{ID}.scope"),
                "cri-o",
                ID.to_owned(),
            ),
            (
                format!("0::/machine.slice/libpod-{ID}.scope/container"),
                "podman",
                ID.to_owned(),
            ),
            (
                "0::/machine.slice/machine-deb\\x2dtest.scope/payload".to_owned(),
                "systemd-nspawn",
                "deb-test".to_owned(),
            ),
            (
                "0::/lxc.payload.web1/init.scope".to_owned(),
                "lxc",
                "web1".to_owned(),
            ),
            ("4:memory:/lxc/web2".to_owned(), "lxc", "web2".to_owned()),
        ];
        for (text, rt, id) in cases {
            assert_eq!(runtime(&text), Some((rt.to_owned(), id)), "{text}");
        }
    }

    #[test]
    fn host_processes() {
        for text in [
            "0::/user.slice/user-1000.slice/session-2.scope\n",
            "0::/init.scope\n",
            "0::/\n",
            "0::/system.slice/docker.service\n",
            "",
            "garbage",
            format!("0::/machine.slice/crio-conmon-{ID}.scope").as_str(),
        ] {
            assert_eq!(runtime(text), None, "{text}");
        }
    }
}
