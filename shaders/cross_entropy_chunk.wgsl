// One vocabulary chunk of the fused linear + cross-entropy, one workgroup per supervised row.
// The chunk's logits z = x·W_cᵀ arrive from a matmul; this shader folds them into a running
// (max m, sum s of exp(z − m), target logit) per row — the online log-sum-exp — and overwrites
// z in place with exp(z − m_new), the chunk's unnormalised probabilities, so the caller can
// accumulate Σ p·W for the gradient without another buffer. alpha = exp(m_old − m_new) is the
// factor by which everything accumulated over earlier chunks must be rescaled.
//
// z: [n, c] (in: logits; out: exp(z − m_new))   labels: [n] (i32 vocabulary ids)
// state: [n, 3] (m, s, target logit)            alpha: [n]
// params: n, c, offset (vocabulary id of the chunk's first column), first (1 on the first chunk)
// Placeholders: {{ wg }} threads per workgroup (a power of two ≤ 256).

@group(0) @binding(0) var<storage, read_write> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read_write> alpha: array<f32>;
@group(0) @binding(4) var<storage, read_write> params: array<u32>;

const WG: u32 = {{ wg }}u;
// Lowest finite f32: exp(LOWEST − m) is 0 without infinities (WGSL has no inf literal).
const LOWEST: f32 = -0x1.fffffep+127f;
var<workgroup> partial: array<f32, WG>;
var<workgroup> shared_params: array<u32, 4>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // Sizes through workgroup memory: uniform for the barriers below (a storage load is not).
    if lid == 0u {
        shared_params = array<u32, 4>(params[0], params[1], params[2], params[3]);
    }
    let up = workgroupUniformLoad(&shared_params);
    let n = up[0];
    let c = up[1];
    let offset = up[2];
    let first = up[3] == 1u;
    let row = wid.x + wid.y * nwg.x;
    if row >= n {
        return;
    }
    let base = row * c;

    // The target logit, read before any thread overwrites z.
    let lbl = labels[row] - i32(offset);
    let in_chunk = lbl >= 0 && lbl < i32(c);
    var target_logit = 0.0;
    if lid == 0u && in_chunk {
        target_logit = z[base + u32(lbl)];
    }

    // 1. The chunk's maximum.
    var mx = LOWEST;
    for (var j = lid; j < c; j += WG) {
        mx = max(mx, z[base + j]);
    }
    partial[lid] = mx;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if lid < stride {
            partial[lid] = max(partial[lid], partial[lid + stride]);
        }
        workgroupBarrier();
    }
    var m_old = LOWEST;
    if !first {
        m_old = state[row * 3u];
    }
    let m_new = max(m_old, partial[0]);
    workgroupBarrier(); // everyone has read partial[0] before it is reused

    // 2. exp(z − m_new), written in place, and its sum.
    var acc = 0.0;
    for (var j = lid; j < c; j += WG) {
        let p = exp(z[base + j] - m_new);
        z[base + j] = p;
        acc += p;
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if lid < stride {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }

    // 3. Fold into the running state.
    if lid == 0u {
        var a = 0.0;
        var s_old = 0.0;
        var t_old = 0.0;
        if !first {
            a = exp(m_old - m_new);
            s_old = state[row * 3u + 1u];
            t_old = state[row * 3u + 2u];
        }
        state[row * 3u] = m_new;
        state[row * 3u + 1u] = s_old * a + partial[0];
        if in_chunk {
            state[row * 3u + 2u] = target_logit;
        } else {
            state[row * 3u + 2u] = t_old;
        }
        alpha[row] = a;
    }
}
