//! Running the `cotlab` binary from the CLI tests (only the `cotlab` package defines its path).
#![allow(dead_code)]

use std::process::Command;

pub fn cotlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cotlab"))
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run cotlab");
    assert!(out.status.success(), "cotlab failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
