//! The WGSL side of each kernel: launch functions and their autodiff backward steps.

pub mod attention;
pub mod cross_entropy;
pub mod launch;
pub mod rms_norm;
pub mod rope;
pub mod sample;

pub use attention::attention;
pub use cross_entropy::linear_cross_entropy_sum;
pub use rms_norm::rms_norm;
pub use rope::rotary;
pub use sample::{sample_rows, supports as sampling_supported};
