//! Reading tensors back to the host. Always async: a browser cannot block on a GPU read
//! (native code drives these with `pollster::block_on`).

use burn::tensor::{Int, Tensor};

use crate::error::{CoreError, Result};

/// An f32 tensor's values, row-major.
pub async fn floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data = t.into_data_async().await.map_err(|e| CoreError::Readback(format!("{e:?}")))?;
    data.convert::<f32>().try_to_vec::<f32>().map_err(|e| CoreError::Readback(format!("{e:?}")))
}

/// An int tensor's values as i32, row-major.
pub async fn ints<const D: usize>(t: Tensor<D, Int>) -> Result<Vec<i32>> {
    let data = t.into_data_async().await.map_err(|e| CoreError::Readback(format!("{e:?}")))?;
    data.convert::<i32>().try_to_vec::<i32>().map_err(|e| CoreError::Readback(format!("{e:?}")))
}
