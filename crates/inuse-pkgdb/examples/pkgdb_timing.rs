//! Times loading the inventory and the owner index of a root: `pkgdb_timing [ROOT] [RUNS]`;
//! prints the fastest of RUNS runs of each.

use std::time::{Duration, Instant};

use inuse_pkgdb::Inventory;
use inuse_root::Root;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "/".to_owned());
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(10);
    let root = Root::open(std::path::Path::new(&dir))?;
    let (mut plain, mut full) = (Duration::MAX, Duration::MAX);
    let (mut packages, mut paths, mut problems) = (0, 0, 0);
    for _ in 0..runs {
        let t = Instant::now();
        let _ = Inventory::load(&root);
        plain = plain.min(t.elapsed());
        let t = Instant::now();
        let (inv, index) = Inventory::load_with_owners(&root);
        full = full.min(t.elapsed());
        (packages, paths, problems) = (inv.packages.len(), index.len(), inv.problems.len());
    }
    println!(
        "{packages} packages ({problems} problems): {plain:?}; with owners ({paths} paths): {full:?}"
    );
    Ok(())
}
