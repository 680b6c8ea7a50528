//! The native half of `cotlab data`: generators (HTTP and local checkpoint), the append-only
//! generation cache, the build loop, and the histogram plot. The pure parts (seeds, kinds,
//! checks, stats, interop) are in `cotlab_core::data`.

pub mod build;
pub mod cache;
pub mod generator;
pub mod plot;
