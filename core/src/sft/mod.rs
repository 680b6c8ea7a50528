//! Supervised fine-tuning: dataset records, paradigm rendering and loss masks, batching, the
//! training step and its optimizer, learning-rate schedules.

pub mod batch;
pub mod paradigm;
pub mod record;
pub mod schedule;
pub mod train;

pub use paradigm::{tokenize_example, Example, Paradigm, ParadigmSpec, QaEmptyThink, IGNORE};
pub use record::{parse_jsonl, Record};
pub use schedule::{lr_at, warmup_steps, Schedule};
pub use train::{mean_loss, train_step, AdamState, OptimConfig, StepReport};
