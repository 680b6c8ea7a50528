// On-device token choice for decoding, one workgroup per row: greedy, or temperature → top-k →
// top-p → min-p → draw, in transformers' order (as `core/src/generate/sampler.rs` does on the
// host), plus the top log-probabilities on request. Only `result` is read back: a few words per
// row instead of the whole vocabulary.
//
// The K best logits (K = max(top_k, 1, #logprobs) ≤ MAX_K), in the order logit descending, id
// ascending (the host's tie order), come from one pass over the vocabulary, in which each
// thread keeps the K best of its share in a private list, then K rounds of a workgroup arg-max
// over the lists' heads. Thread 0 then works on those K candidates.
// The uniform random number of each row comes from the host's seeded generator, so a seed
// gives the same draws on the host and on the device.
//
// logits: [b, v]
// params: b, v, k (candidates), greedy (1/0), temperature (f32 bits), top_k, top_p (f32 bits),
//         min_p (f32 bits), n_logprobs, then from index 16 one u per row (f32 bits, in [0, 1))
// result: [b, 1 + 2·MAX_K] (i32): chosen id (−1 when more tokens tie with the top_k-th logit
//         than the K candidates hold: the host then chooses), then n_logprobs pairs (id,
//         log-probability bits)
// Placeholders: {{ wg }} threads per workgroup (a power of two ≤ 256).

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> params: array<u32>;
@group(0) @binding(2) var<storage, read_write> result: array<i32>;

const WG: u32 = {{ wg }}u;
const MAX_K: u32 = 64u;
const LOWEST: f32 = -0x1.fffffep+127f;
const NONE: u32 = 0xffffffffu;

var<workgroup> best_val: array<f32, WG>;
var<workgroup> best_idx: array<u32, WG>;
var<workgroup> cand_val: array<f32, MAX_K>;
var<workgroup> cand_idx: array<u32, MAX_K>;
var<workgroup> shared_params: array<u32, 9>;
// Set when more tokens tie with the top_k-th logit than the candidates hold (see step 2c).
var<workgroup> more_ties: atomic<u32>;

// (va, ia) comes before (vb, ib) in the order logit descending, id ascending.
fn before(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
    if ib == NONE { return ia != NONE; }
    if ia == NONE { return false; }
    return va > vb || (va == vb && ia < ib);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // Sizes through workgroup memory: uniform for the barriers below (a storage load is not).
    if lid == 0u {
        for (var i = 0u; i < 9u; i++) {
            shared_params[i] = params[i];
        }
        // Workgroup memory is not zeroed for us: CubeCL builds its pipelines without wgpu's
        // zero-initialisation, so a flag would keep a value from an earlier workgroup.
        atomicStore(&more_ties, 0u);
    }
    let up = workgroupUniformLoad(&shared_params);
    let b = up[0];
    let v = up[1];
    let k = up[2];
    let greedy = up[3] == 1u;
    let temperature = bitcast<f32>(up[4]);
    let top_k = up[5];
    let top_p = bitcast<f32>(up[6]);
    let min_p = bitcast<f32>(up[7]);
    let n_logprobs = up[8];
    let row = wid.x + wid.y * nwg.x;
    if row >= b {
        return;
    }
    let base = row * v;

    // 1. log-sum-exp of the untempered logits (for log-probabilities).
    var lse = 0.0;
    if n_logprobs > 0u {
        var mx = LOWEST;
        for (var j = lid; j < v; j += WG) {
            mx = max(mx, logits[base + j]);
        }
        best_val[lid] = mx;
        workgroupBarrier();
        for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
            if lid < stride {
                best_val[lid] = max(best_val[lid], best_val[lid + stride]);
            }
            workgroupBarrier();
        }
        let m = best_val[0];
        workgroupBarrier();
        var acc = 0.0;
        for (var j = lid; j < v; j += WG) {
            acc += exp(logits[base + j] - m);
        }
        best_val[lid] = acc;
        workgroupBarrier();
        for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
            if lid < stride {
                best_val[lid] += best_val[lid + stride];
            }
            workgroupBarrier();
        }
        lse = m + log(best_val[0]);
        workgroupBarrier();
    }

    // 2. The k best (logit, id) pairs, best first, in two steps.
    //    a. One pass over the vocabulary: each thread keeps the k best of its own strided
    //       share in a private list, in order (insertion; most logits fail the first test).
    var mine_val: array<f32, MAX_K>;
    var mine_idx: array<u32, MAX_K>;
    var count = 0u;
    var dropped = LOWEST; // the largest logit this thread left out of its list
    for (var j = lid; j < v; j += WG) {
        let x = logits[base + j];
        var pos = count;
        if count == k {
            if !before(x, j, mine_val[k - 1u], mine_idx[k - 1u]) {
                dropped = max(dropped, x);
                continue;
            }
            dropped = max(dropped, mine_val[k - 1u]);
            pos = k - 1u; // the last one drops out
        } else {
            count++;
        }
        while pos > 0u && before(x, j, mine_val[pos - 1u], mine_idx[pos - 1u]) {
            mine_val[pos] = mine_val[pos - 1u];
            mine_idx[pos] = mine_idx[pos - 1u];
            pos--;
        }
        mine_val[pos] = x;
        mine_idx[pos] = j;
    }
    //    b. k rounds of a workgroup arg-max over the heads of the private lists: the
    //       winner's thread moves on to its next one. The row's k best are among the lists'.
    var head = 0u;
    for (var r = 0u; r < k; r++) {
        var bv = LOWEST;
        var bi = NONE;
        if head < count {
            bv = mine_val[head];
            bi = mine_idx[head];
        }
        best_val[lid] = bv;
        best_idx[lid] = bi;
        workgroupBarrier();
        for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
            if lid < stride && before(best_val[lid + stride], best_idx[lid + stride], best_val[lid], best_idx[lid]) {
                best_val[lid] = best_val[lid + stride];
                best_idx[lid] = best_idx[lid + stride];
            }
            workgroupBarrier();
        }
        let won = best_idx[0];
        if bi != NONE && bi == won {
            head++;
        }
        if lid == 0u {
            cand_val[r] = best_val[0];
            cand_idx[r] = won;
        }
        workgroupBarrier();
    }
    //    c. Top-k keeps every token whose logit equals the top_k-th (transformers does). Ties
    //       up to the k-th candidate are counted in step 3; whether any lie beyond it shows in
    //       a thread's next head or in what it dropped (nothing dropped exceeds the k-th).
    if !greedy {
        let kth = cand_val[top_k - 1u];
        if (head < count && mine_val[head] == kth) || dropped == kth {
            atomicOr(&more_ties, 1u);
        }
    }
    workgroupBarrier();

    if lid != 0u {
        return;
    }
    let o = row * (1u + 2u * MAX_K);

    // 3. Choose.
    var choice = cand_idx[0];
    if !greedy && atomicLoad(&more_ties) != 0u {
        // More tied candidates than this shader keeps: −1 asks the host to choose this row
        // from the logits (core/src/generate/generation.rs), as exactly as ever.
        choice = NONE;
    } else if !greedy {
        // Temperature, then top-k with its ties (the candidates are sorted already).
        var n = top_k;
        while n < k && cand_val[n] == cand_val[top_k - 1u] {
            n++;
        }
        let m = cand_val[0] / temperature;
        var probs: array<f32, MAX_K>;
        var total = 0.0;
        for (var i = 0u; i < n; i++) {
            probs[i] = exp(cand_val[i] / temperature - m);
            total += probs[i];
        }
        for (var i = 0u; i < n; i++) {
            probs[i] = probs[i] / total;
        }
        // Top-p: the smallest prefix whose mass reaches top_p.
        if top_p < 1.0 {
            var acc = 0.0;
            for (var i = 0u; i < n; i++) {
                acc += probs[i];
                if acc >= top_p {
                    n = i + 1u;
                    break;
                }
            }
        }
        // Min-p: drop tokens less likely than min_p × the most likely one (keep at least one).
        if min_p > 0.0 {
            let min_prob = probs[0] * min_p;
            var keep = 1u;
            while keep < n && probs[keep] >= min_prob {
                keep++;
            }
            n = keep;
        }
        // Draw with the host's u.
        var mass = 0.0;
        for (var i = 0u; i < n; i++) {
            mass += probs[i];
        }
        var u = bitcast<f32>(params[16u + row]) * mass;
        choice = cand_idx[n - 1u];
        for (var i = 0u; i < n; i++) {
            if u < probs[i] {
                choice = cand_idx[i];
                break;
            }
            u -= probs[i];
        }
    }
    result[o] = i32(choice);
    for (var i = 0u; i < n_logprobs; i++) {
        result[o + 1u + 2u * i] = i32(cand_idx[i]);
        result[o + 2u + 2u * i] = bitcast<i32>(cand_val[i] - lse);
    }
}
