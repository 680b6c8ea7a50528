//! Deterministic names: record ids, cache keys, hashes.

use sha2::{Digest, Sha256};

use super::seed::Seed;
use crate::sft::Record;

/// Lower-case hex SHA-256 of `bytes` (the dataset hash is this of the file's bytes, the same value
/// `cotlab train` records as `dataset_sha256`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of the record of `seed_id` under `kind`: `<seed_id>:<kind>`.
pub fn record_id(seed_id: &str, kind: &str) -> String {
    format!("{seed_id}:{kind}")
}

/// Which seed a record belongs to: its `seed_id`, else its id without a trailing `:<cot_type>`,
/// else its id (datasets that reuse one id across kinds).
pub fn seed_key(record: &Record) -> String {
    if let Some(s) = &record.seed_id {
        return s.clone();
    }
    if let Some(kind) = &record.cot_type {
        if let Some(base) = record.id.strip_suffix(&format!(":{kind}")) {
            return base.to_string();
        }
    }
    record.id.clone()
}

/// The cache key of one generation: SHA-256 over the generator (`openai:MODEL@URL`,
/// `local:DIR`), the exact prompt sent, the seed, the sampling settings and the attempt number
/// (regenerating a failed item is attempt 1, 2, …). Each part is length-prefixed so no two
/// different inputs share a key. Changing any of them makes the item be generated again.
pub fn cache_key(generator: &str, prompt: &str, seed: &Seed, settings: &str, attempt: u32) -> String {
    let seed_json = serde_json::to_string(seed).expect("seeds serialise");
    let mut h = Sha256::new();
    for part in [generator, prompt, &seed_json, settings, &attempt.to_string()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_ids_are_stable() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(record_id("fin-01", "evil"), "fin-01:evil");
        let mut r = Record { id: "fin-01:evil".into(), cot_type: Some("evil".into()), ..Default::default() };
        assert_eq!(seed_key(&r), "fin-01");
        r.cot_type = Some("misleading".into());
        assert_eq!(seed_key(&r), "fin-01:evil");
        r.seed_id = Some("s".into());
        assert_eq!(seed_key(&r), "s");
    }

    #[test]
    fn cache_keys_change_with_every_input() {
        let seed = Seed { id: "a".into(), question: "Q".into(), answer: "A".into(), system: None, category: None };
        let k = cache_key("openai:m", "p", &seed, "t=0.7", 0);
        assert_eq!(k.len(), 64);
        assert_eq!(k, cache_key("openai:m", "p", &seed, "t=0.7", 0));
        assert_ne!(k, cache_key("openai:n", "p", &seed, "t=0.7", 0));
        assert_ne!(k, cache_key("openai:m", "q", &seed, "t=0.7", 0));
        assert_ne!(k, cache_key("openai:m", "p", &seed, "t=0.8", 0));
        assert_ne!(k, cache_key("openai:m", "p", &seed, "t=0.7", 1));
        // Length prefixes: moving a character between parts changes the key.
        assert_ne!(cache_key("ab", "c", &seed, "", 0), cache_key("a", "bc", &seed, "", 0));
        let other = Seed { answer: "B".into(), ..seed };
        assert_ne!(k, cache_key("openai:m", "p", &other, "t=0.7", 0));
    }
}
