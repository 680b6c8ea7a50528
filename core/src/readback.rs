//! Reading tensors back to the host. Async: a browser cannot block on a GPU read (native code
//! drives these with `pollster::block_on`). The synchronous read for saving on native is
//! `model::weights::to_f32_vec`.

use burn::tensor::{FloatDType, Int, Tensor};

use crate::error::{CoreError, Result};

/// A float tensor's values as f32, row-major (cast on the device first if it is f16/bf16).
pub async fn floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data = t.cast(FloatDType::F32).into_data_async().await.map_err(|e| CoreError::Readback(format!("{e:?}")))?;
    data.try_to_vec::<f32>().map_err(|e| CoreError::Readback(format!("{e:?}")))
}

/// An int tensor's values as i32, row-major.
pub async fn ints<const D: usize>(t: Tensor<D, Int>) -> Result<Vec<i32>> {
    let data = t.into_data_async().await.map_err(|e| CoreError::Readback(format!("{e:?}")))?;
    data.convert::<i32>().try_to_vec::<i32>().map_err(|e| CoreError::Readback(format!("{e:?}")))
}
