// RMSNorm backward with respect to the weight: dw_j = Σ_rows g_j · x_j · r_row, one thread per
// column (coalesced across threads), looping over rows. Only launched when the weight trains.
//
// g: [rows, d]   x: [rows, d]   rstd: [rows]   dw: [d]
// params: rows, d
// Placeholders: {{ wg }} threads per workgroup.

@group(0) @binding(0) var<storage, read_write> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> params: array<u32>;

const WG: u32 = {{ wg }}u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let rows = params[0];
    let d = params[1];
    let j = gid.x;
    if j >= d {
        return;
    }
    var acc = 0.0;
    for (var row = 0u; row < rows; row++) {
        acc += g[row * d + j] * x[row * d + j] * rstd[row];
    }
    dw[j] = acc;
}
