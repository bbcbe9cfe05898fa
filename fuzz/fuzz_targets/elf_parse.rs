//! Fuzzes every `inuse-elf` parser on arbitrary bytes: the dependency summary (`ElfInfo`),
//! then, on the parsed file, dynamic symbols with versions, data symbol ranges, `.symtab`
//! functions, init windows, notes and address translation; and the load windows and quiet
//! segments `inuse ps` derives (`inuse_runtime::executed::LoadWindows`). Errors are fine; panics, hangs and unbounded allocations are
//! not.

#![no_main]

use inuse_elf::{ElfFile, ElfInfo, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let _ = ElfInfo::parse(data, &limits);
    if let Ok(windows) = inuse_runtime::executed::LoadWindows::parse(data) {
        for q in &windows.quiet {
            assert!(q.start < q.end);
        }
    }
    let Ok(elf) = ElfFile::parse(data, &limits) else {
        return;
    };
    if let Ok(symbols) = elf.dynamic_symbols() {
        for symbol in symbols.iter().take(64) {
            let _ = elf.file_offset(symbol.value);
        }
    }
    if let Ok(ranges) = elf.dynamic_data_ranges() {
        for &(a, b) in ranges.iter().take(64) {
            assert!(a <= b);
            let _ = elf.file_offset(a);
        }
    }
    if let Ok(Some(functions)) = elf.symtab_functions() {
        for function in functions.iter().take(64) {
            let _ = elf.file_offset(function.value);
        }
    }
    if let Ok(init) = elf.init_info() {
        for address in init.addresses().take(64) {
            let _ = elf.file_offset(address);
        }
    }
    if let Ok(notes) = elf.notes() {
        let _ = notes.build_id_hex();
        let _ = notes.package_json();
    }
});
