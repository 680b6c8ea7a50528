// RMSNorm backward with respect to x, one workgroup per row. With r = 1/sqrt(mean(x²) + eps):
//   dx_k = r · (g_k·w_k − x_k · r² · Σ_j g_j·w_j·x_j / d)
//
// g: [rows, d] (upstream gradient)   x: [rows, d]   w: [d]   rstd: [rows] (from the forward)
// dx: [rows, d]
// params: rows, d
// Placeholders: {{ wg }} threads per workgroup (a power of two ≤ 256).

@group(0) @binding(0) var<storage, read_write> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> params: array<u32>;

const WG: u32 = {{ wg }}u;
var<workgroup> partial: array<f32, WG>;
var<workgroup> shared_params: array<u32, 2>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // Sizes through workgroup memory: uniform for the barriers below (see rms_norm_forward).
    if lid == 0u {
        shared_params = array<u32, 2>(params[0], params[1]);
    }
    let up = workgroupUniformLoad(&shared_params);
    let rows = up[0];
    let d = up[1];
    let row = wid.x + wid.y * nwg.x;
    if row >= rows {
        return;
    }
    let base = row * d;
    let r = rstd[row];

    var acc = 0.0;
    for (var j = lid; j < d; j += WG) {
        acc += g[base + j] * w[j] * x[base + j];
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if lid < stride {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let c = r * r * partial[0] / f32(d);
    for (var j = lid; j < d; j += WG) {
        dx[base + j] = r * (g[base + j] * w[j] - x[base + j] * c);
    }
}
