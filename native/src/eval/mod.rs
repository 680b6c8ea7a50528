//! `cotlab eval`'s machinery: the model under test, the judges, the samples file with resume,
//! and the per-suite work of a batch of samples.

pub mod generator;
pub mod judge;
pub mod plan;
pub mod store;
pub mod work;
