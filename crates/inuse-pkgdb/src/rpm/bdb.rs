//! rpm's legacy Berkeley DB `Packages` file (hash access method), read without libdb.
//!
//! RHEL/CentOS <= 8, SLES <= 15 SP2, Amazon Linux 2 and many images still carry it. Layout
//! (Berkeley DB 5.3 `dbinc/db_page.h`, `hash/hash_page.c`):
//! - page 0 is the hash metadata page: the generic `DBMETA` (magic `0x061561` at byte 12,
//!   version at 16, page size at 20, encryption algorithm at 24, page type at 25, last page
//!   number at 32);
//! - every page starts with a 26-byte header: `pgno` at 8, `prev_pgno` at 12, `next_pgno` at 16,
//!   `entries` (u16) at 20, `hf_offset` (u16) at 22, `level` at 24, `type` at 25;
//! - hash pages (types 2 and 13) hold `entries` u16 item offsets after the header, items
//!   alternating key and data; item `i` spans from its offset to the previous item's offset (or
//!   the page end), its first byte is the item type: 1 = inline data, 3 = off-page reference
//!   (`pgno` at +4, total length at +8);
//! - overflow pages (type 7) carry `hf_offset` bytes after the header and chain by `next_pgno`.
//!
//! Pitfalls: the file is in the byte order of the machine that wrote it (detect by the magic);
//! the key is rpm's header number in that byte order and key 0 is a bookkeeping record, not a
//! package; every offset, page number and chain is checked, chains are bounded (a loop would
//! otherwise never end) and the total bytes assembled are capped, so hostile files cost at most
//! a few times their size.

use std::borrow::Cow;

use crate::Error;

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

#[derive(Clone, Copy)]
struct Order {
    big: bool,
}

impl Order {
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&b[at..at + 4]);
        if self.big {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    }

    fn u16(self, b: &[u8], at: usize) -> u16 {
        let w = [b[at], b[at + 1]];
        if self.big {
            u16::from_be_bytes(w)
        } else {
            u16::from_le_bytes(w)
        }
    }
}

fn db_err(place: String, message: &'static str) -> Error {
    Error::Db { place, message }
}

/// Calls `f(place, blob)` for every package record of a `Packages` file. A bad record is
/// passed as `Err` and skipped; an unusable file is an error.
pub fn for_each_blob(
    data: &[u8],
    mut f: impl FnMut(String, Result<Cow<'_, [u8]>, Error>),
) -> Result<(), Error> {
    if data.len() < 512 {
        return Err(db_err(
            "page 0".into(),
            "file too short for a metadata page",
        ));
    }
    let magic = [data[12], data[13], data[14], data[15]];
    let order = if u32::from_le_bytes(magic) == HASH_MAGIC {
        Order { big: false }
    } else if u32::from_be_bytes(magic) == HASH_MAGIC {
        Order { big: true }
    } else {
        return Err(db_err("page 0".into(), "not a Berkeley DB hash database"));
    };
    let pagesize = order.u32(data, 20) as usize;
    if !(512..=65536).contains(&pagesize) || !pagesize.is_power_of_two() {
        return Err(db_err("page 0".into(), "invalid page size"));
    }
    if data[24] != 0 {
        return Err(db_err(
            "page 0".into(),
            "encrypted databases are not supported",
        ));
    }
    if data[25] != P_HASHMETA {
        return Err(db_err("page 0".into(), "not a hash metadata page"));
    }
    let npages = (data.len() / pagesize).min(order.u32(data, 32) as usize + 1);
    // Shared or looping overflow chains could make us assemble far more than the file holds.
    let mut budget = data.len().saturating_mul(4).saturating_add(64 << 20);

    for pgno in 1..npages {
        let page = &data[pgno * pagesize..(pgno + 1) * pagesize];
        if !matches!(page[25], P_HASH | P_HASH_UNSORTED) {
            continue;
        }
        let entries = usize::from(order.u16(page, 20));
        let table_end = PAGE_HEADER + 2 * entries;
        if table_end > pagesize {
            f(
                format!("page {pgno}"),
                Err(db_err(
                    format!("page {pgno}"),
                    "entry count exceeds the page",
                )),
            );
            continue;
        }
        let item = |i: usize| -> Option<&[u8]> {
            let start = usize::from(order.u16(page, PAGE_HEADER + 2 * i));
            let end = if i == 0 {
                pagesize
            } else {
                usize::from(order.u16(page, PAGE_HEADER + 2 * (i - 1)))
            };
            (table_end <= start && start < end && end <= pagesize).then(|| &page[start..end])
        };
        for i in (0..entries.saturating_sub(1)).step_by(2) {
            let place = format!("page {pgno} item {i}");
            let (Some(key), Some(value)) = (item(i), item(i + 1)) else {
                f(place.clone(), Err(db_err(place, "item outside the page")));
                continue;
            };
            if key[0] != H_KEYDATA {
                f(place.clone(), Err(db_err(place, "unsupported key type")));
                continue;
            }
            if key.len() == 5 && order.u32(key, 1) == 0 {
                // Header number 0 holds rpm's next-instance counter.
                continue;
            }
            match value[0] {
                H_KEYDATA => f(place, Ok(Cow::Borrowed(&value[1..]))),
                H_OFFPAGE if value.len() >= 12 => {
                    let blob = overflow(data, pagesize, npages, order, &value[..12], &mut budget)
                        .map_err(|m| db_err(place.clone(), m));
                    f(place, blob.map(Cow::Owned));
                }
                _ => f(
                    place.clone(),
                    Err(db_err(place, "unsupported data item type")),
                ),
            }
        }
    }
    Ok(())
}

/// Assembles an off-page item by following its overflow chain.
fn overflow(
    data: &[u8],
    pagesize: usize,
    npages: usize,
    order: Order,
    item: &[u8],
    budget: &mut usize,
) -> Result<Vec<u8>, &'static str> {
    let mut pgno = order.u32(item, 4) as usize;
    let total = order.u32(item, 8) as usize;
    if total > data.len() || total > *budget {
        return Err("off-page item longer than the file");
    }
    *budget -= total;
    let mut out = Vec::with_capacity(total);
    let mut hops = 0usize;
    while out.len() < total {
        if pgno == 0 || pgno >= npages {
            return Err("overflow chain leaves the file");
        }
        hops += 1;
        if hops > npages {
            return Err("overflow chain loops");
        }
        let page = &data[pgno * pagesize..(pgno + 1) * pagesize];
        if page[25] != P_OVERFLOW {
            return Err("overflow chain reaches a page that is not an overflow page");
        }
        let len = usize::from(order.u16(page, 22));
        let chunk = page
            .get(PAGE_HEADER..PAGE_HEADER + len)
            .ok_or("overflow page length exceeds the page")?;
        let take = chunk.len().min(total - out.len());
        out.extend_from_slice(&chunk[..take]);
        pgno = order.u32(page, 16) as usize;
    }
    Ok(out)
}
