// Tiled implicit-GEMM convolution in CUDA C: forward, input gradient, weight gradient.
//
// The same three kernels as kernels/cuda_conv_tiled.py (read that file's docstring first:
// it has the full math and the picture of the tiling); this version is loaded with
// cupy.RawModule and is the one written for speed. NCHW, float32, PyTorch's conv2d:
//
//   forward      y[n, g*K_g+k, p, q]  = sum_{c,r,s} w[g*K_g+k, c, r, s] * x[n, g*C_g+c, h, v]
//   input grad   dx[n, g*C_g+c, h, v] = sum_{k,r,s} w[g*K_g+k, c, r, s] * dy[n, g*K_g+k, p, q]
//                (also conv_transpose2d's forward pass, with dy its input)
//   weight grad  dw[g*K_g+k, c, r, s] = sum_{n,p,q} dy[n, g*K_g+k, p, q] * x[n, g*C_g+c, h, v]
//   with h = p*stride_h - pad_h + r*dil_h,  v = q*stride_w - pad_w + s*dil_w,  0 outside x.
//
// Each is OUT[rows, columns] = A[rows, depth] @ B[depth, columns] per group, with A and B
// gathered from the tensors on the fly:
//
//   kernel        rows        columns          depth              A     B
//   forward       k (K_g)     (n,p,q) N*P*Q    (c,r,s) C_g*R*S    w     x  (gathered)
//   input grad    c (C_g)     (n,h,v) N*H*W    (k,r,s) K_g*R*S    w     dy (gathered)
//   weight grad   k (K_g)     (c,r,s) C_g*R*S  (n,p,q) N*P*Q      dy    x  (gathered)
//
// Thread/block mapping: a block of THREADS_N x THREADS_M threads (threadIdx.x, threadIdx.y)
// computes a BLOCK_M x BLOCK_N tile of OUT; blockIdx.x = tile column, blockIdx.y = tile row,
// blockIdx.z = group (input grad: group*stride_h*stride_w + stride phase; weight grad:
// group*splits + depth slice). The block walks the depth BLOCK_K at a time: copy an A slice
// and a B slice into shared memory, __syncthreads(), every thread accumulates its
// THREAD_M x THREAD_N outputs (rows ty + i*THREADS_M, columns tx + j*THREADS_N) in registers,
// __syncthreads().
//
// What this version adds over the Python one, for speed:
//   * every thread always loads the same B column and the same A depth offset (THREADS is a
//     multiple of BLOCK_N and of BLOCK_K), so the column's index math (n, p, q) -> addresses
//     is done once per thread, not once per load;
//   * the A tile rows are padded by PAD floats so that the transposing stores into shared
//     memory hit 32 different banks;
//   * 32-bit index math (the host checks every tensor has < 2^31 elements), fmaf, full
//     unrolling of the register-blocked product.
//
// Tile sizes are macros: the host compiles one module per configuration with
// -DBLOCK_M=.. -DBLOCK_N=.. -DBLOCK_K=.. -DTHREADS_M=.. -DTHREADS_N=..

#ifndef BLOCK_M
#define BLOCK_M 64
#endif
#ifndef BLOCK_N
#define BLOCK_N 64
#endif
#ifndef BLOCK_K
#define BLOCK_K 8
#endif
#ifndef THREADS_M
#define THREADS_M 16
#endif
#ifndef THREADS_N
#define THREADS_N 16
#endif

#define THREADS (THREADS_M * THREADS_N)
#define THREAD_M (BLOCK_M / THREADS_M)
#define THREAD_N (BLOCK_N / THREADS_N)
#define A_LOADS (BLOCK_M * BLOCK_K / THREADS)   // A elements each thread copies per step
#define B_LOADS (BLOCK_K * BLOCK_N / THREADS)   // B elements each thread copies per step
#define A_ROW_STEP (THREADS / BLOCK_K)          // rows between one thread's A elements
#define B_DEPTH_STEP (THREADS / BLOCK_N)        // depth between one thread's B elements
#define PAD 4

static_assert(BLOCK_M % THREADS_M == 0 && BLOCK_N % THREADS_N == 0, "tile / threads");
static_assert(THREADS % BLOCK_K == 0 && THREADS % BLOCK_N == 0, "thread -> load mapping");
static_assert((BLOCK_M * BLOCK_K) % THREADS == 0 && (BLOCK_K * BLOCK_N) % THREADS == 0,
              "whole loads per thread");

// acc[i][j] += sum_kk a_tile[kk][ty + i*THREADS_M] * b_tile[kk][tx + j*THREADS_N]
__device__ __forceinline__ void multiply_tiles(const float (*a_tile)[BLOCK_M + PAD],
                                               const float (*b_tile)[BLOCK_N + PAD],
                                               float (&acc)[THREAD_M][THREAD_N], int ty, int tx)
{
#pragma unroll
    for (int kk = 0; kk < BLOCK_K; ++kk) {
        float a[THREAD_M], b[THREAD_N];
#pragma unroll
        for (int i = 0; i < THREAD_M; ++i) a[i] = a_tile[kk][ty + i * THREADS_M];
#pragma unroll
        for (int j = 0; j < THREAD_N; ++j) b[j] = b_tile[kk][tx + j * THREADS_N];
#pragma unroll
        for (int i = 0; i < THREAD_M; ++i)
#pragma unroll
            for (int j = 0; j < THREAD_N; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
}

// 0 <= value < limit in one unsigned comparison
__device__ __forceinline__ bool inside(int value, int limit)
{
    return (unsigned)value < (unsigned)limit;
}

// Smallest r in [0, step) with (offset - r*dilation) divisible by stride, else -1.
__device__ __forceinline__ int first_tap(int offset, int dilation, int stride, int step)
{
    for (int r = 0; r < step; ++r)
        if ((offset - r * dilation) % stride == 0) return r;   // divisibility: sign does not matter
    return -1;
}

// ---------------------------------------------------------------------------- forward
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward(const float* __restrict__ x, const float* __restrict__ w,
               const float* __restrict__ bias, float* __restrict__ y,
               int N, int C, int H, int W, int K, int R, int S, int P, int Q,
               int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
               int groups, int has_bias)
{
    const int C_g = C / groups, K_g = K / groups;
    const int rows = K_g, columns = N * P * Q, depth = C_g * R * S;
    const int g = blockIdx.z, row0 = blockIdx.y * BLOCK_M, col0 = blockIdx.x * BLOCK_N;
    const int ty = threadIdx.y, tx = threadIdx.x, thread = ty * THREADS_N + tx;

    __shared__ float a_tile[BLOCK_K][BLOCK_M + PAD];
    __shared__ float b_tile[BLOCK_K][BLOCK_N + PAD];
    float acc[THREAD_M][THREAD_N] = {};

    // The A elements this thread copies: depth offset kk_a, rows m_a + i*A_ROW_STEP.
    const int kk_a = thread % BLOCK_K, m_a = thread / BLOCK_K;
    const float* w_g = w + g * K_g * depth;
    // The B column this thread copies: (n, p, q), decomposed once.
    const int j_b = thread % BLOCK_N, kk_b = thread / BLOCK_N;
    const int col_b = col0 + j_b;
    const bool column_ok = col_b < columns;
    int h_base = 0, v_base = 0, n_b = 0;
    if (column_ok) {
        n_b = col_b / (P * Q);
        h_base = ((col_b / Q) % P) * stride_h - pad_h;
        v_base = (col_b % Q) * stride_w - pad_w;
    }
    const float* x_n = x + (n_b * C + g * C_g) * H * W;

    for (int d0 = 0; d0 < depth; d0 += BLOCK_K) {
        // A[k, (c,r,s)] = w[g*K_g + k, c, r, s]: a row of w is contiguous in (c, r, s)
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int m = m_a + i * A_ROW_STEP, row = row0 + m, d = d0 + kk_a;
            a_tile[kk_a][m] = (row < rows && d < depth) ? w_g[row * depth + d] : 0.f;
        }
        // B[(c,r,s), (n,p,q)] = x[n, g*C_g + c, h, v], 0 in the padding
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) {
            const int kk = kk_b + i * B_DEPTH_STEP, d = d0 + kk;
            float value = 0.f;
            if (column_ok && d < depth) {
                const int c = d / (R * S), r = (d / S) % R, s = d % S;
                const int h = h_base + r * dil_h, v = v_base + s * dil_w;
                if (inside(h, H) && inside(v, W)) value = x_n[(c * H + h) * W + v];
            }
            b_tile[kk][j_b] = value;
        }
        __syncthreads();
        multiply_tiles(a_tile, b_tile, acc, ty, tx);
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < THREAD_M; ++i) {
        const int row = row0 + ty + i * THREADS_M;
        if (row >= rows) continue;
        const int k = g * K_g + row;
        const float offset = has_bias ? bias[k] : 0.f;
#pragma unroll
        for (int j = 0; j < THREAD_N; ++j) {
            const int col = col0 + tx + j * THREADS_N;
            if (col < columns) {
                const int n = col / (P * Q), pq = col % (P * Q);
                y[(n * K + k) * P * Q + pq] = acc[i][j] + offset;
            }
        }
    }
}

// ---------------------------------------------------------------------------- input gradient
// One GEMM per (group, stride phase): columns are the pixels h = phase_h + i_h*stride_h,
// v = phase_w + i_v*stride_w; depth runs over (k, taps r = r_first + t*step_r reaching them).
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_input_grad(const float* __restrict__ grad_y, const float* __restrict__ w,
                  float* __restrict__ grad_x,
                  int N, int C, int H, int W, int K, int R, int S, int P, int Q,
                  int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
                  int groups, int step_r, int step_s)
{
    const int C_g = C / groups, K_g = K / groups;
    const int phases = stride_h * stride_w;
    const int g = blockIdx.z / phases, phase = blockIdx.z % phases;
    const int phase_h = phase / stride_w, phase_w = phase % stride_w;
    const int H_phase = (H - phase_h + stride_h - 1) / stride_h;
    const int W_phase = (W - phase_w + stride_w - 1) / stride_w;
    const int r_first = first_tap(phase_h + pad_h, dil_h, stride_h, step_r);
    const int s_first = first_tap(phase_w + pad_w, dil_w, stride_w, step_s);
    const int R_phase = r_first < 0 ? 0 : (R - r_first + step_r - 1) / step_r;
    const int S_phase = s_first < 0 ? 0 : (S - s_first + step_s - 1) / step_s;
    const int taps = R_phase * S_phase;
    const int rows = C_g, columns = N * H_phase * W_phase, depth = K_g * taps;
    const int row0 = blockIdx.y * BLOCK_M, col0 = blockIdx.x * BLOCK_N;
    if (row0 >= rows || col0 >= columns) return;   // whole block: no barrier is split
    const int ty = threadIdx.y, tx = threadIdx.x, thread = ty * THREADS_N + tx;

    __shared__ float a_tile[BLOCK_K][BLOCK_M + PAD];
    __shared__ float b_tile[BLOCK_K][BLOCK_N + PAD];
    float acc[THREAD_M][THREAD_N] = {};

    const int kk_a = thread % BLOCK_K, m_a = thread / BLOCK_K;
    const int j_b = thread % BLOCK_N, kk_b = thread / BLOCK_N;
    const int col_b = col0 + j_b;
    const bool column_ok = col_b < columns;
    int n_b = 0, h_b = 0, v_b = 0;
    if (column_ok) {
        n_b = col_b / (H_phase * W_phase);
        h_b = phase_h + ((col_b / W_phase) % H_phase) * stride_h;
        v_b = phase_w + (col_b % W_phase) * stride_w;
    }
    const float* dy_n = grad_y + (n_b * K + g * K_g) * P * Q;

    for (int d0 = 0; d0 < depth; d0 += BLOCK_K) {
        // A[c, (k, t)] = w[g*K_g + k, c, r, s]
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int m = m_a + i * A_ROW_STEP, row = row0 + m, d = d0 + kk_a;
            float value = 0.f;
            if (row < rows && d < depth) {
                const int k = d / taps, t = d % taps;
                const int r = r_first + (t / S_phase) * step_r;
                const int s = s_first + (t % S_phase) * step_s;
                value = w[(((g * K_g + k) * C_g + row) * R + r) * S + s];
            }
            a_tile[kk_a][m] = value;
        }
        // B[(k, t), (n, h, v)] = dy[n, g*K_g + k, p, q], 0 outside dy
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) {
            const int kk = kk_b + i * B_DEPTH_STEP, d = d0 + kk;
            float value = 0.f;
            if (column_ok && d < depth) {
                const int k = d / taps, t = d % taps;
                const int r = r_first + (t / S_phase) * step_r;
                const int s = s_first + (t % S_phase) * step_s;
                const int p = (h_b + pad_h - r * dil_h) / stride_h;   // exact division
                const int q = (v_b + pad_w - s * dil_w) / stride_w;
                if (inside(p, P) && inside(q, Q)) value = dy_n[(k * P + p) * Q + q];
            }
            b_tile[kk][j_b] = value;
        }
        __syncthreads();
        multiply_tiles(a_tile, b_tile, acc, ty, tx);
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < THREAD_M; ++i) {
        const int row = row0 + ty + i * THREADS_M;
        if (row >= rows) continue;
#pragma unroll
        for (int j = 0; j < THREAD_N; ++j) {
            const int col = col0 + tx + j * THREADS_N;
            if (col < columns) {
                const int n = col / (H_phase * W_phase);
                const int h = phase_h + ((col / W_phase) % H_phase) * stride_h;
                const int v = phase_w + (col % W_phase) * stride_w;
                grad_x[((n * C + g * C_g + row) * H + h) * W + v] = acc[i][j];
            }
        }
    }
}

// ---------------------------------------------------------------------------- weight gradient
// Split-K: blockIdx.z = group*splits + split; this block sums the depth (n, p, q) over
// [split*chunk, split*chunk + chunk) into partial[split, k, c, r, s]; the host adds the splits.
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_weight_grad(const float* __restrict__ x, const float* __restrict__ grad_y,
                   float* __restrict__ partial,
                   int N, int C, int H, int W, int K, int R, int S, int P, int Q,
                   int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
                   int groups, int splits, int chunk)
{
    const int C_g = C / groups, K_g = K / groups;
    const int rows = K_g, columns = C_g * R * S, depth = N * P * Q;
    const int g = blockIdx.z / splits, split = blockIdx.z % splits;
    const int d_begin = split * chunk, d_end = min(depth, d_begin + chunk);
    const int row0 = blockIdx.y * BLOCK_M, col0 = blockIdx.x * BLOCK_N;
    const int ty = threadIdx.y, tx = threadIdx.x, thread = ty * THREADS_N + tx;

    __shared__ float a_tile[BLOCK_K][BLOCK_M + PAD];
    __shared__ float b_tile[BLOCK_K][BLOCK_N + PAD];
    float acc[THREAD_M][THREAD_N] = {};

    const int kk_a = thread % BLOCK_K, m_a = thread / BLOCK_K;
    const int j_b = thread % BLOCK_N, kk_b = thread / BLOCK_N;
    // The B column this thread copies: (c, r, s) -> channel plane and tap offsets, once.
    const int col_b = col0 + j_b;
    const bool column_ok = col_b < columns;
    int c_b = 0, r_offset = 0, s_offset = 0;
    if (column_ok) {
        c_b = col_b / (R * S);
        r_offset = ((col_b / S) % R) * dil_h - pad_h;
        s_offset = (col_b % S) * dil_w - pad_w;
    }
    const float* x_c = x + (g * C_g + c_b) * H * W;

    for (int d0 = d_begin; d0 < d_end; d0 += BLOCK_K) {
        // A[k, (n,p,q)] = dy[n, g*K_g + k, p, q]
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int m = m_a + i * A_ROW_STEP, row = row0 + m, d = d0 + kk_a;
            float value = 0.f;
            if (row < rows && d < d_end) {
                const int n = d / (P * Q), pq = d % (P * Q);
                value = grad_y[(n * K + g * K_g + row) * P * Q + pq];
            }
            a_tile[kk_a][m] = value;
        }
        // B[(n,p,q), (c,r,s)] = x[n, g*C_g + c, h, v], 0 in the padding
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) {
            const int kk = kk_b + i * B_DEPTH_STEP, d = d0 + kk;
            float value = 0.f;
            if (column_ok && d < d_end) {
                const int n = d / (P * Q), p = (d / Q) % P, q = d % Q;
                const int h = p * stride_h + r_offset, v = q * stride_w + s_offset;
                if (inside(h, H) && inside(v, W)) value = x_c[(n * C * H + h) * W + v];
            }
            b_tile[kk][j_b] = value;
        }
        __syncthreads();
        multiply_tiles(a_tile, b_tile, acc, ty, tx);
        __syncthreads();
    }

    float* out = partial + split * K * columns;
#pragma unroll
    for (int i = 0; i < THREAD_M; ++i) {
        const int row = row0 + ty + i * THREADS_M;
        if (row >= rows) continue;
#pragma unroll
        for (int j = 0; j < THREAD_N; ++j) {
            const int col = col0 + tx + j * THREADS_N;
            if (col < columns) out[(g * K_g + row) * columns + col] = acc[i][j];
        }
    }
}
