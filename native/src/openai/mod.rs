//! The OpenAI-compatible chat-completions protocol, shared by everything in cotlab that speaks
//! HTTP: the dataset generator (`--generator openai:MODEL`), the judges (`--judge openai:MODEL`)
//! and `cotlab serve`. One set of wire types and one client, so a request cotlab sends is exactly
//! what cotlab's own server parses.

pub mod client;
pub mod types;

pub use client::{ClientConfig, OpenAiClient};
pub use types::*;
