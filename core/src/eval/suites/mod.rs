//! The five suites: loaders of their published formats, the prompts the model sees, and the
//! metrics computed from finished samples.

pub mod darkbench;
pub mod deception;
pub mod em;
pub mod machiavelli;
pub mod trait_;
