// Rotary position embedding in Qwen3's rotate-half layout, forward and backward, one thread per
// element. With h = d/2 and rotate_half(x) = cat(−x[h..], x[..h]):
//   forward  y_j = x_j·cos_j − x_{j+h}·sin_j            (j < h)
//            y_j = x_j·cos_j + x_{j−h}·sin_j            (j ≥ h)
//   backward (the transpose of that linear map, applied to the upstream gradient g)
//            dx_j = g_j·cos_j + g_{j+h}·sin_{j+h}       (j < h)
//            dx_j = g_j·cos_j − g_{j−h}·sin_{j−h}       (j ≥ h)
//
// x: [b, heads, t, d]   cos, sin: [b, t, d] (shared by the heads)   y: [b, heads, t, d]
// params: b, heads, t, d, direction (0 forward, 1 backward)
// Placeholders: {{ wg }} threads per workgroup.

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> cos_t: array<f32>;
@group(0) @binding(2) var<storage, read_write> sin_t: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> params: array<u32>;

const WG: u32 = {{ wg }}u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let b = params[0];
    let heads = params[1];
    let t = params[2];
    let d = params[3];
    let backward = params[4] == 1u;
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if i >= b * heads * t * d {
        return;
    }
    let hd = d / 2u;
    let j = i % d;
    let ti = (i / d) % t;
    let bi = i / (d * t * heads);
    let tab = (bi * t + ti) * d; // row of the tables
    let c = cos_t[tab + j];
    if !backward {
        if j < hd {
            y[i] = x[i] * c - x[i + hd] * sin_t[tab + j];
        } else {
            y[i] = x[i] * c + x[i - hd] * sin_t[tab + j];
        }
    } else {
        if j < hd {
            y[i] = x[i] * c + x[i + hd] * sin_t[tab + j + hd];
        } else {
            y[i] = x[i] * c - x[i - hd] * sin_t[tab + j - hd];
        }
    }
}
