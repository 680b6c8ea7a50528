// RMSNorm forward, one workgroup per row (Qwen3's input/post-attention norms and the per-head
// q_norm/k_norm): y = x / sqrt(mean(x²) + eps) · w, in f32 as transformers computes it.
// Also writes the row's 1/rms for the backward pass.
//
// x: [rows, d]   w: [d]   y: [rows, d]   rstd: [rows]
// params: rows, d, eps (f32 bits)
// Placeholders: {{ wg }} threads per workgroup (a power of two ≤ 256).

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> params: array<u32>;

const WG: u32 = {{ wg }}u;
var<workgroup> partial: array<f32, WG>;
var<workgroup> shared_params: array<u32, 3>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // Sizes pass through workgroup memory so that every thread provably sees the same value
    // (WGSL's uniformity rule: barriers below need uniform control flow, and a storage load
    // is not uniform).
    if lid == 0u {
        shared_params = array<u32, 3>(params[0], params[1], params[2]);
    }
    let up = workgroupUniformLoad(&shared_params);
    let rows = up[0];
    let d = up[1];
    let eps = bitcast<f32>(up[2]);
    // Rows beyond 65,535 continue on the grid's y axis (WebGPU's per-dimension limit).
    let row = wid.x + wid.y * nwg.x;
    // Uniform control flow: every thread of a workgroup takes the same branch.
    if row >= rows {
        return;
    }
    let base = row * d;

    var acc = 0.0;
    for (var j = lid; j < d; j += WG) {
        let v = x[base + j];
        acc += v * v;
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if lid < stride {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let r = 1.0 / sqrt(partial[0] / f32(d) + eps);
    if lid == 0u {
        rstd[row] = r;
    }
    for (var j = lid; j < d; j += WG) {
        y[base + j] = x[base + j] * r * w[j];
    }
}
