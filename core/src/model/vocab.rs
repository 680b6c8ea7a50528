//! The embedding and lm_head matrices (`[vocab, hidden]`), split by vocabulary rows when one
//! GPU buffer cannot hold them.
//!
//! Qwen3-0.6B's embedding is 151,936 × 1,024 × 4 B = 622 MB in f32, beyond many adapters'
//! `maxStorageBufferBindingSize` (WebGPU's default is 128 MiB; llvmpipe's is below 622 MB).
//! Lookups and projections work chunk by chunk, so no buffer exceeds the device's limit.

use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor};

/// A `[vocab, hidden]` matrix stored as row blocks `chunks[c]: [rows_c, hidden]`.
#[derive(Module, Debug)]
pub struct VocabMatrix {
    pub chunks: Vec<Param<Tensor<2>>>,
}

impl VocabMatrix {
    /// Rows per chunk so that one chunk stays within `max_bytes` (no limit: one chunk).
    pub fn rows_per_chunk(rows: usize, hidden: usize, bytes_per_value: usize, max_bytes: Option<u64>) -> usize {
        match max_bytes {
            Some(limit) => ((limit as usize) / (hidden * bytes_per_value)).clamp(1, rows),
            None => rows,
        }
    }

    /// `[vocab, hidden]`.
    pub fn dims(&self) -> [usize; 2] {
        let hidden = self.chunks[0].dims()[1];
        [self.chunks.iter().map(|c| c.dims()[0]).sum(), hidden]
    }

    /// Rows `ids`: `[n]` → `[n, hidden]`.
    pub fn lookup(&self, ids: Tensor<1, Int>) -> Tensor<2> {
        if self.chunks.len() == 1 {
            return self.chunks[0].val().select(0, ids);
        }
        // Each chunk contributes the rows whose id falls in its range, zeros elsewhere.
        let mut out: Option<Tensor<2>> = None;
        let mut offset = 0i64;
        for chunk in &self.chunks {
            let len = chunk.dims()[0] as i64;
            let local = ids.clone().sub_scalar(offset); // [n]
            let inside = local.clone().greater_equal_elem(0).bool_and(local.clone().lower_elem(len));
            let rows = chunk.val().select(0, local.clamp(0, len - 1)); // [n, hidden]
            let rows = rows.clone() * inside.float().cast(rows.dtype()).unsqueeze_dim::<2>(1);
            out = Some(match out {
                Some(acc) => acc + rows,
                None => rows,
            });
            offset += len;
        }
        out.expect("at least one chunk")
    }

    /// `x · Wᵀ`: `[n, hidden]` → `[n, vocab]`, one chunk's columns at a time.
    pub fn project(&self, x: Tensor<2>) -> Tensor<2> {
        let parts: Vec<Tensor<2>> = self.chunks.iter().map(|c| x.clone().matmul(c.val().transpose())).collect();
        if parts.len() == 1 {
            parts.into_iter().next().expect("one chunk")
        } else {
            Tensor::cat(parts, 1)
        }
    }

    /// The whole matrix (export on the CPU).
    pub fn full(&self) -> Tensor<2> {
        Tensor::cat(self.chunks.iter().map(|c| c.val()).collect(), 0)
    }
}
