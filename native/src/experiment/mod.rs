//! The whole study as one command: an experiment file expands into cells (model × seed ×
//! condition), each trained once and evaluated under every suite × mode, resumably, on one
//! machine, several GPUs or a Slurm array.

pub mod cells;
pub mod estimate;
pub mod inputs;
pub mod runner;
pub mod slurm;
pub mod spec;
