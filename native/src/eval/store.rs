//! `samples.jsonl`, written one finished sample at a time so an interrupted run loses at most the
//! sample being written; a rerun reads what is there and skips those sample ids.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cotlab_core::eval::sample::SampleRecord;

pub struct SampleStore {
    path: PathBuf,
    file: File,
    pub done: Vec<SampleRecord>,
}

impl SampleStore {
    /// Open (or create) `dir/samples.jsonl`, reading finished samples. A last line cut off by an
    /// interruption (no newline, or not valid JSON) is removed; a bad line elsewhere is an error,
    /// since silently dropping it would change the results.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the output directory", dir.display()))?;
        let path = dir.join("samples.jsonl");
        let mut done = Vec::new();
        if path.exists() {
            let bytes = std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
            let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let text = String::from_utf8_lossy(&bytes[..complete]);
            let lines: Vec<&str> = text.lines().collect();
            let mut keep = complete;
            for (i, line) in lines.iter().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<SampleRecord>(line) {
                    Ok(r) => done.push(r),
                    Err(_) if i + 1 == lines.len() => keep = complete - line.len() - 1,
                    Err(e) => bail!(
                        "{}:{}: not a sample record ({e}). The file was edited or belongs to another program; \
                         fix or remove that line, or use a new --out",
                        path.display(),
                        i + 1
                    ),
                }
            }
            if keep < bytes.len() {
                eprintln!("{}: removing an unfinished last line (interrupted run)", path.display());
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(keep as u64)?;
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path).with_context(|| format!("{}: cannot open for appending", path.display()))?;
        Ok(Self { path, file, done })
    }

    pub fn done_ids(&self) -> BTreeSet<String> {
        self.done.iter().map(|r| r.sample_id.clone()).collect()
    }

    /// Append one finished sample and push it to disk before going on.
    pub fn append(&mut self, record: SampleRecord) -> Result<()> {
        let mut line = serde_json::to_string(&record)?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).with_context(|| format!("{}: write failed", self.path.display()))?;
        self.file.flush()?;
        self.file.sync_data()?;
        self.done.push(record);
        Ok(())
    }
}

/// Write `bytes` to `path` through a temporary file and a rename, so readers never see half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
