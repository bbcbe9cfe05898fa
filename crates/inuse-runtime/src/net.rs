//! `/proc/PID/net/{tcp,tcp6,udp,udp6,unix}`: which sockets listen, by inode.
//!
//! A process's open sockets are `socket:[INODE]` links in `/proc/PID/fd`; the tables here say
//! what each inode is. The tables are per network namespace, which is why they are read
//! through the process (`/proc/PID/net/...`), not from the caller's `/proc/net`.
//!
//! Format pitfalls (`net/ipv4/tcp_ipv4.c: get_tcp4_sock`, `net/unix/af_unix.c`): addresses are
//! the raw 32-bit words of the address printed with `%08X` in *host* byte order, so the bytes
//! of each word must be taken in native order; ports are already in host order. "Listening"
//! means TCP state `LISTEN` (0x0A), a UDP socket in state `CLOSE` (0x07, unconnected) with no
//! remote port, or a Unix socket with `__SO_ACCEPTCON` (0x10000) in its flags. A Unix path
//! is everything after the inode and may contain spaces; abstract names start with `@`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{next_field, parse_num};

/// An IP protocol table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// `tcp`.
    Tcp,
    /// `tcp6`.
    Tcp6,
    /// `udp`.
    Udp,
    /// `udp6`.
    Udp6,
}

impl Proto {
    /// All tables, in the order they are read.
    pub const ALL: [Proto; 4] = [Proto::Tcp, Proto::Tcp6, Proto::Udp, Proto::Udp6];

    /// The table's file name, also the protocol's name in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Tcp6 => "tcp6",
            Proto::Udp => "udp",
            Proto::Udp6 => "udp6",
        }
    }

    fn is_tcp(self) -> bool {
        matches!(self, Proto::Tcp | Proto::Tcp6)
    }
}

/// A listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Listener {
    /// Socket inode.
    pub inode: u64,
    /// What it listens on, as shown to users: `tcp 0.0.0.0:22`, `tcp6 [::1]:631`,
    /// `unix /run/dbus/system_bus_socket`.
    pub describe: String,
}

/// The listening sockets of an IP table.
pub fn parse_inet(data: &[u8], proto: Proto) -> Vec<Listener> {
    data.split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| inet_line(line, proto))
        .collect()
}

fn inet_line(line: &[u8], proto: Proto) -> Option<Listener> {
    let mut rest = line;
    let _slot = next_field(&mut rest)?;
    let local = next_field(&mut rest)?;
    let remote = next_field(&mut rest)?;
    let state = parse_num(next_field(&mut rest)?, 16)?;
    // tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, then the inode.
    for _ in 0..5 {
        next_field(&mut rest)?;
    }
    let inode = parse_num(next_field(&mut rest)?, 10)?;
    let (addr, port) = endpoint(local)?;
    let (_, remote_port) = endpoint(remote)?;
    let listening = if proto.is_tcp() {
        state == 0x0A
    } else {
        state == 0x07 && remote_port == 0
    };
    if !listening || inode == 0 {
        return None;
    }
    let shown = match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    };
    Some(Listener {
        inode,
        describe: format!("{} {shown}", proto.as_str()),
    })
}

/// `HEXADDR:HEXPORT`, the address as native-order 32-bit words.
fn endpoint(field: &[u8]) -> Option<(IpAddr, u16)> {
    let colon = field.iter().position(|&b| b == b':')?;
    let (addr, port) = (&field[..colon], &field[colon + 1..]);
    let port = u16::try_from(parse_num(port, 16)?).ok()?;
    let word = |chunk: &[u8]| -> Option<[u8; 4]> {
        let value = u32::try_from(parse_num(chunk, 16)?).ok()?;
        Some(value.to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in addr.chunks_exact(8).enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(chunk)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// The listening sockets of `/proc/PID/net/unix`.
pub fn parse_unix(data: &[u8]) -> Vec<Listener> {
    data.split(|&b| b == b'\n')
        .skip(1)
        .filter_map(unix_line)
        .collect()
}

fn unix_line(line: &[u8]) -> Option<Listener> {
    const ACCEPTCON: u64 = 0x10000;
    let mut rest = line;
    let _num = next_field(&mut rest)?;
    let _refcount = next_field(&mut rest)?;
    let _protocol = next_field(&mut rest)?;
    let flags = parse_num(next_field(&mut rest)?, 16)?;
    let _type = next_field(&mut rest)?;
    let _state = next_field(&mut rest)?;
    let inode = parse_num(next_field(&mut rest)?, 10)?;
    if flags & ACCEPTCON == 0 || inode == 0 {
        return None;
    }
    let path = match rest.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(p) => String::from_utf8_lossy(&rest[p..]).into_owned(),
        None => "(unnamed)".to_owned(),
    };
    Some(Listener {
        inode,
        describe: format!("unix {path}"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const TCP: &[u8] = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C40 0100007F:0016 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn tcp_listen_only() {
        let l = parse_inet(TCP, Proto::Tcp);
        assert_eq!(
            l,
            vec![Listener {
                inode: 4242,
                describe: "tcp 127.0.0.1:22".into()
            }]
        );
    }

    #[test]
    fn tcp6_words_are_native_order() {
        // ::1 is printed as 00000000000000000000000001000000 on little-endian hosts.
        let word = u32::from_ne_bytes([0, 0, 0, 1]);
        let line = format!(
            "h\n 0: 000000000000000000000000{word:08X}:0277 00000000000000000000000000000000:0000 \
             0A 00000000:00000000 00:00000000 00000000 0 0 77 1\n"
        );
        let l = parse_inet(line.as_bytes(), Proto::Tcp6);
        assert_eq!(l[0].describe, "tcp6 [::1]:631");
    }

    #[test]
    fn udp_unconnected() {
        let data = b"h\n 1: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 99 2\n";
        assert_eq!(parse_inet(data, Proto::Udp)[0].describe, "udp 0.0.0.0:68");
    }

    #[test]
    fn unix_listeners() {
        let data = b"Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 1234 /run/my sock
0000000000000000: 00000002 00000000 00000000 0001 03 1235 /run/x
0000000000000000: 00000002 00000000 00010000 0001 01 1236 @abstract
";
        let l = parse_unix(data);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].describe, "unix /run/my sock");
        assert_eq!(l[1].describe, "unix @abstract");
    }

    #[test]
    fn garbage_lines_are_skipped() {
        assert!(parse_inet(b"h\n0: zz:zz 0:0 0A\n\xff\n", Proto::Tcp).is_empty());
        assert!(parse_unix(b"h\nx y z\n").is_empty());
    }
}
