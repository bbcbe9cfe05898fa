//! rpm's NDB backend (`Packages.db`), the default of SUSE (SLES 15 SP3+, openSUSE, BCI).
//!
//! Layout (rpm's `lib/backend/ndb/rpmpkg.c`; all integers little-endian):
//! - a 32-byte file header: magic `RpmP` at 0, version 0 at 4, generation at 8, number of slot
//!   pages at 12, next package index at 16;
//! - slot pages (4096 bytes each, the first starting after the file header): 16-byte slots of
//!   magic `Slot`, package index, block offset, block count; block offset 0 = free slot;
//! - blobs at `block offset * 16`: a 16-byte head (magic `BlbS`, package index, timestamp, blob
//!   length), the header blob, and at the end of the block range a 12-byte tail (adler32, blob
//!   length, magic `BlbE`).
//!
//! Pitfalls: a slot must point past the slot pages and inside the file; the blob head must name
//! the slot's package index and its length must fit the block range; the tail must agree
//! (a torn write leaves it inconsistent). LZO-compressed blobs (a compile-time rpm option no
//! distribution enables) are reported, not decoded.

use crate::Error;

const PKGDB_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOBHEAD_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const BLOBTAIL_MAGIC: u32 = u32::from_le_bytes(*b"BlbE");
const PAGE_SIZE: usize = 4096;
const BLK_SIZE: usize = 16;
const HEADER_SIZE: usize = 32;

fn le32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn db_err(place: String, message: &'static str) -> Error {
    Error::Db { place, message }
}

/// Calls `f(place, blob)` for every package blob of a `Packages.db` file. A bad slot or blob is
/// passed as `Err` and skipped; an unusable file is an error.
pub fn for_each_blob(
    data: &[u8],
    mut f: impl FnMut(String, Result<&[u8], Error>),
) -> Result<(), Error> {
    if data.len() < HEADER_SIZE || le32(data, 0) != PKGDB_MAGIC {
        return Err(db_err("offset 0".into(), "not an rpm NDB Packages.db"));
    }
    if le32(data, 4) != 0 {
        return Err(db_err("offset 4".into(), "unsupported NDB version"));
    }
    let slot_pages = le32(data, 12) as usize;
    let slots_end = slot_pages
        .checked_mul(PAGE_SIZE)
        .filter(|&e| e >= PAGE_SIZE && e <= data.len())
        .ok_or_else(|| db_err("offset 12".into(), "slot page count does not fit the file"))?;
    let min_blk = slots_end / BLK_SIZE;
    let nblks = data.len() / BLK_SIZE;

    for (n, off) in (HEADER_SIZE..slots_end).step_by(16).enumerate() {
        let slot = &data[off..off + 16];
        let place = format!("slot {}", n + HEADER_SIZE / 16);
        if le32(slot, 0) != SLOT_MAGIC {
            f(place.clone(), Err(db_err(place, "bad slot magic")));
            continue;
        }
        let blkoff = le32(slot, 8) as usize;
        if blkoff == 0 {
            continue;
        }
        let pkgidx = le32(slot, 4);
        let blkcnt = le32(slot, 12) as usize;
        let place = format!("{place} (package {pkgidx})");
        let blob = blob(data, pkgidx, blkoff, blkcnt, min_blk, nblks)
            .map_err(|m| db_err(place.clone(), m));
        f(place, blob);
    }
    Ok(())
}

fn blob(
    data: &[u8],
    pkgidx: u32,
    blkoff: usize,
    blkcnt: usize,
    min_blk: usize,
    nblks: usize,
) -> Result<&[u8], &'static str> {
    if pkgidx == 0 || blkcnt < 2 || blkoff < min_blk || blkoff.saturating_add(blkcnt) > nblks {
        return Err("slot points outside the blob area");
    }
    let area = &data[blkoff * BLK_SIZE..(blkoff + blkcnt) * BLK_SIZE];
    if le32(area, 0) != BLOBHEAD_MAGIC {
        return Err("bad blob head magic");
    }
    if le32(area, 4) != pkgidx {
        return Err("blob belongs to another package index");
    }
    let len = le32(area, 12) as usize;
    if len > area.len() - 16 - 12 {
        return Err("blob length exceeds its blocks");
    }
    let tail = area.len() - 12;
    if le32(area, tail + 8) != BLOBTAIL_MAGIC || le32(area, tail + 4) as usize != len {
        return Err("blob tail inconsistent (torn write?)");
    }
    Ok(&area[16..16 + len])
}
