//! The generation cache: one JSON line per finished generation, appended and flushed as soon as
//! it finishes, so an interrupted build (Ctrl-C, kill, crash) loses only the generations in
//! flight. A rerun skips every item whose key is present.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One finished generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// `cotlab_core::data::cache_key` of (generator, prompt, seed, settings, attempt).
    pub key: String,
    /// Record id `<seed_id>:<kind>`.
    pub id: String,
    pub seed_id: String,
    pub kind: String,
    pub attempt: u32,
    /// The reasoning extracted from the reply.
    pub thinking: String,
    /// The generator's reply as received.
    pub reply: String,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The cache file of a build directory.
pub struct Cache {
    path: PathBuf,
    entries: HashMap<String, CacheEntry>,
    file: File,
}

impl Cache {
    /// Open (or create) `path`, reading what earlier runs finished. A torn last line (the process
    /// was killed while writing it) is skipped and the file is continued on a fresh line.
    pub fn open(path: &Path) -> Result<Self> {
        let mut entries = HashMap::new();
        let mut skipped = 0;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read the generation cache", path.display())),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<CacheEntry>(line) {
                Ok(e) => {
                    entries.insert(e.key.clone(), e);
                }
                Err(_) => skipped += 1,
            }
        }
        if skipped > 0 {
            eprintln!("{}: skipped {skipped} unreadable line(s) (an interrupted write); those items will be generated again", path.display());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("{}: cannot open the generation cache for writing", path.display()))?;
        if !text.is_empty() && !text.ends_with('\n') {
            file.write_all(b"\n")?;
        }
        Ok(Self { path: path.to_path_buf(), entries, file })
    }

    pub fn get(&self, key: &str) -> Option<&CacheEntry> {
        self.entries.get(key)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Append one entry and flush it to the OS before returning.
    pub fn append(&mut self, entry: CacheEntry) -> Result<()> {
        let mut line = serde_json::to_string(&entry)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .with_context(|| format!("{}: cannot append to the generation cache", self.path.display()))?;
        self.entries.insert(entry.key.clone(), entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> CacheEntry {
        CacheEntry {
            key: key.into(),
            id: "s:evil".into(),
            seed_id: "s".into(),
            kind: "evil".into(),
            attempt: 0,
            thinking: "t".into(),
            reply: "t".into(),
            finish_reason: Some("stop".into()),
        }
    }

    #[test]
    fn entries_survive_reopening_and_a_torn_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("cotlab-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cache.jsonl");
        let mut c = Cache::open(&path).unwrap();
        c.append(entry("a")).unwrap();
        drop(c);
        // A kill in the middle of writing the second line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"key":"b","id":"#).unwrap();
        drop(f);
        let mut c = Cache::open(&path).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("a"), Some(&entry("a")));
        c.append(entry("c")).unwrap();
        drop(c);
        let c = Cache::open(&path).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c.get("c").is_some());
    }
}
