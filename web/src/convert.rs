//! Moving values across the JS boundary: errors as JS `Error`s with the core's message,
//! serde values as plain JS objects, byte arrays, and yielding to the event loop.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A JS `Error` carrying `e`'s message (the core's messages already say what to do).
pub fn err(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// `v` as a plain JS value (objects, not `Map`s; u64 as numbers).
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(err)
}

/// A JS value as `T`; `what` names the argument in the error.
pub fn from_js<T: DeserializeOwned>(v: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(v).map_err(|e| err(format!("{what}: {e}")))
}

/// Property `key` of a JS object.
pub fn get(obj: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    js_sys::Reflect::get(obj, &JsValue::from_str(key))
}

/// The bytes of a `Uint8Array` or `ArrayBuffer`; `what` names it in the error.
pub fn bytes(v: &JsValue, what: &str) -> Result<Vec<u8>, JsValue> {
    if let Some(a) = v.dyn_ref::<js_sys::Uint8Array>() {
        Ok(a.to_vec())
    } else if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        Ok(js_sys::Uint8Array::new(b).to_vec())
    } else {
        Err(err(format!("{what}: expected a Uint8Array or ArrayBuffer with the file's bytes")))
    }
}

/// Let the browser paint and handle events (a macrotask: `setTimeout(0)`), so the page stays
/// live between decoding steps even on the CPU backend, whose reads resolve at once.
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        match get(&global, "setTimeout").ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
            Some(set_timeout) => {
                let _ = set_timeout.call2(&global, &resolve, &JsValue::from(0));
            }
            None => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
