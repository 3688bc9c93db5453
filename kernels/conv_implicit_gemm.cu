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
// blockIdx.z = group and depth slice (split-K: the forward and weight-gradient kernels may
// cut the depth into `splits` slices, each block writing partial sums that the host adds)
// or, for the input gradient, group and stride phase. Each thread accumulates THREAD_M x
// THREAD_N outputs in registers, in runs of 4: rows (ii*THREADS_M + ty)*4 + e and columns
// (jj*THREADS_N + tx)*4 + e, e = 0..3.
//
// The main loop (implicit_gemm below) walks the depth BLOCK_K at a time with two shared
// buffers per operand: while the threads multiply the slice in one buffer, the next slice
// is already on its way from global memory into registers, and is stored into the other
// buffer afterwards; one __syncthreads() per slice.
//
// What makes this version fast, each against a measured cost of the first version:
//   * no integer division in the loop: "where does depth index d land" ((c, r, s) or
//     (k, tap) or (n, p, q) -> offsets) is a table of int4 that the host builds once per
//     conv geometry (kernels/cuda_launch.py, *_table); a column's part of the address is
//     worked out once per thread;
//   * 16-byte shared-memory reads (float4) of each thread's runs of 4, which cuts the
//     shared-memory instructions per multiply-add 4x (scalar reads made the 4x4 tile
//     shared-memory bound);
//   * double buffering (above) so that global-memory latency overlaps the arithmetic;
//   * split-K for the forward pass too, when the output is too small to fill the GPU
//     (a 4x4 -> 1x1 discriminator head ran on a single block);
//   * the A tile rows are padded by PAD floats so that the transposing stores into shared
//     memory hit different banks; 32-bit index math (the host checks every tensor has
//     < 2^31 elements); fmaf; full unrolling of the register-blocked product.
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
#define A_LOADS (BLOCK_M * BLOCK_K / THREADS)   // A elements each thread copies per slice
#define B_LOADS (BLOCK_K * BLOCK_N / THREADS)   // B elements each thread copies per slice
#define A_ROW_STEP (THREADS / BLOCK_K)          // rows between one thread's A elements
#define B_DEPTH_STEP (THREADS / BLOCK_N)        // depth between one thread's B elements
#define PAD 4

static_assert(BLOCK_M % THREADS_M == 0 && BLOCK_N % THREADS_N == 0, "tile / threads");
static_assert(THREAD_M % 4 == 0 && THREAD_N % 4 == 0, "each thread owns runs of 4");
static_assert(THREADS % BLOCK_K == 0 && THREADS % BLOCK_N == 0, "thread -> load mapping");
static_assert((BLOCK_M * BLOCK_K) % THREADS == 0 && (BLOCK_K * BLOCK_N) % THREADS == 0,
              "whole loads per thread");

// Row (or column) of a thread's i-th output within the tile: runs of 4, interleaved by
// thread so that a warp's float4 reads of shared memory are contiguous (no bank conflicts).
__device__ __forceinline__ int tile_row(int i, int ty)
{
    return ((i / 4) * THREADS_M + ty) * 4 + i % 4;
}
__device__ __forceinline__ int tile_col(int j, int tx)
{
    return ((j / 4) * THREADS_N + tx) * 4 + j % 4;
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

// acc += A[rows of this tile, d_begin:d_end] @ B[d_begin:d_end, columns of this tile].
// gather_a(m, d): A[row0 + m, d] (0 outside); gather_b(kk_b, d): B[d, col0 + (this thread's
// B column)] (0 outside). Both are called only with d < d_end.
template <class GatherA, class GatherB>
__device__ __forceinline__ void implicit_gemm(int d_begin, int d_end, GatherA gather_a,
                                              GatherB gather_b,
                                              float (&acc)[THREAD_M][THREAD_N])
{
    __shared__ __align__(16) float a_tile[2][BLOCK_K][BLOCK_M + PAD];
    __shared__ __align__(16) float b_tile[2][BLOCK_K][BLOCK_N + PAD];
    const int ty = threadIdx.y, tx = threadIdx.x, thread = ty * THREADS_N + tx;
    const int kk_a = thread % BLOCK_K, m_a = thread / BLOCK_K;     // this thread's A copies
    const int j_b = thread % BLOCK_N, kk_b = thread / BLOCK_N;     // this thread's B copies
    float a_next[A_LOADS], b_next[B_LOADS];

    auto fetch = [&](int d0) {            // global -> registers
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int d = d0 + kk_a;
            a_next[i] = d < d_end ? gather_a(m_a + i * A_ROW_STEP, d) : 0.f;
        }
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) {
            const int d = d0 + kk_b + i * B_DEPTH_STEP;
            b_next[i] = d < d_end ? gather_b(d) : 0.f;
        }
    };
    auto stash = [&](int buffer) {        // registers -> shared
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) a_tile[buffer][kk_a][m_a + i * A_ROW_STEP] = a_next[i];
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) b_tile[buffer][kk_b + i * B_DEPTH_STEP][j_b] = b_next[i];
    };

    if (d_begin >= d_end) return;
    fetch(d_begin);
    stash(0);
    __syncthreads();
    int buffer = 0;
    for (int d0 = d_begin; d0 < d_end; d0 += BLOCK_K) {
        const bool more = d0 + BLOCK_K < d_end;
        if (more) fetch(d0 + BLOCK_K);
#pragma unroll
        for (int kk = 0; kk < BLOCK_K; ++kk) {
            float a[THREAD_M], b[THREAD_N];
#pragma unroll
            for (int i = 0; i < THREAD_M; i += 4) {
                const float4 v =
                    *reinterpret_cast<const float4*>(&a_tile[buffer][kk][tile_row(i, ty)]);
                a[i] = v.x; a[i + 1] = v.y; a[i + 2] = v.z; a[i + 3] = v.w;
            }
#pragma unroll
            for (int j = 0; j < THREAD_N; j += 4) {
                const float4 v =
                    *reinterpret_cast<const float4*>(&b_tile[buffer][kk][tile_col(j, tx)]);
                b[j] = v.x; b[j + 1] = v.y; b[j + 2] = v.z; b[j + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < THREAD_M; ++i)
#pragma unroll
                for (int j = 0; j < THREAD_N; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more) stash(buffer ^ 1);      // the other buffer: nobody reads it this slice
        __syncthreads();
        buffer ^= 1;
    }
}

// store(row, col, value) for each of this thread's outputs inside the rows x columns OUT.
template <class Store>
__device__ __forceinline__ void store_tile(const float (&acc)[THREAD_M][THREAD_N], int row0,
                                           int col0, int rows, int columns, Store store)
{
#pragma unroll
    for (int i = 0; i < THREAD_M; ++i) {
        const int row = row0 + tile_row(i, threadIdx.y);
        if (row >= rows) continue;
#pragma unroll
        for (int j = 0; j < THREAD_N; ++j) {
            const int col = col0 + tile_col(j, threadIdx.x);
            if (col < columns) store(row, col, acc[i][j]);
        }
    }
}

// ---------------------------------------------------------------------------- forward
// table[d] for d = (c, r, s) < C_g*R*S: {c*H*W + r*dil_h*W + s*dil_w, r*dil_h, s*dil_w, 0}.
// Split-K: blockIdx.z = group*splits + split; out[split] holds that slice's partial sums
// (the bias goes into split 0), shape (splits, N, K, P, Q).
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_forward(const float* __restrict__ x, const float* __restrict__ w,
               const float* __restrict__ bias, const int4* __restrict__ table,
               float* __restrict__ out,
               int N, int C, int H, int W, int K, int R, int S, int P, int Q,
               int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
               int groups, int has_bias, int splits, int chunk)
{
    const int C_g = C / groups, K_g = K / groups;
    const int rows = K_g, columns = N * P * Q, depth = C_g * R * S;
    const int g = blockIdx.z / splits, split = blockIdx.z % splits;
    const int d_begin = split * chunk, d_end = min(depth, d_begin + chunk);
    const int row0 = blockIdx.y * BLOCK_M, col0 = blockIdx.x * BLOCK_N;
    float acc[THREAD_M][THREAD_N] = {};

    // This thread's B column (n, p, q), decomposed once: the top-left tap's pixel.
    const int col_b = col0 + (threadIdx.y * THREADS_N + threadIdx.x) % BLOCK_N;
    const bool column_ok = col_b < columns;
    int h_base = 0, v_base = 0, x_base = 0;
    if (column_ok) {
        const int n = col_b / (P * Q);
        h_base = ((col_b / Q) % P) * stride_h - pad_h;
        v_base = (col_b % Q) * stride_w - pad_w;
        x_base = (n * C + g * C_g) * H * W + h_base * W + v_base;
    }
    const float* w_g = w + g * K_g * depth;

    implicit_gemm(d_begin, d_end,
        // A[k, (c,r,s)] = w[g*K_g + k, c, r, s]: a row of w is contiguous in (c, r, s)
        [&](int m, int d) { const int row = row0 + m;
                            return row < rows ? w_g[row * depth + d] : 0.f; },
        // B[(c,r,s), (n,p,q)] = x[n, g*C_g + c, h, v], 0 in the padding
        [&](int d) { const int4 e = table[d];
                     return column_ok && inside(h_base + e.y, H) && inside(v_base + e.z, W)
                            ? x[x_base + e.x] : 0.f; },
        acc);

    float* y = out + split * N * K * P * Q;
    const bool add_bias = has_bias && split == 0;
    store_tile(acc, row0, col0, rows, columns, [&](int row, int col, float value) {
        const int k = g * K_g + row, n = col / (P * Q), pq = col % (P * Q);
        y[(n * K + k) * P * Q + pq] = value + (add_bias ? bias[k] : 0.f);
    });
}

// ---------------------------------------------------------------------------- input gradient
// One GEMM per (group, stride phase): columns are the pixels h = phase_h + i_h*stride_h,
// v = phase_w + i_v*stride_w; depth runs over (k, taps r = r_first + t*step_r reaching them).
// table[phase*phase_depth + d] for d = (k, t) < K_g*taps: {k*C_g*R*S + r*S + s,
// k*P*Q + p_off*Q + q_off, p_off, q_off} with p_off = (phase_h + pad_h - r*dil_h)/stride_h
// (exact), so that the tap reaches p = i_h + p_off, q = i_v + q_off.
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_input_grad(const float* __restrict__ grad_y, const float* __restrict__ w,
                  const int4* __restrict__ table, float* __restrict__ grad_x,
                  int N, int C, int H, int W, int K, int R, int S, int P, int Q,
                  int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
                  int groups, int step_r, int step_s, int phase_depth)
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
    const int rows = C_g, columns = N * H_phase * W_phase, depth = K_g * R_phase * S_phase;
    const int row0 = blockIdx.y * BLOCK_M, col0 = blockIdx.x * BLOCK_N;
    if (row0 >= rows || col0 >= columns) return;   // whole block: no barrier is split
    float acc[THREAD_M][THREAD_N] = {};

    const int col_b = col0 + (threadIdx.y * THREADS_N + threadIdx.x) % BLOCK_N;
    const bool column_ok = col_b < columns;
    int i_h = 0, i_v = 0, dy_base = 0;
    if (column_ok) {
        const int n = col_b / (H_phase * W_phase);
        i_h = (col_b / W_phase) % H_phase;
        i_v = col_b % W_phase;
        dy_base = (n * K + g * K_g) * P * Q + i_h * Q + i_v;
    }
    const int4* phase_table = table + phase * phase_depth;
    const float* w_g = w + g * K_g * C_g * R * S;

    implicit_gemm(0, depth,
        // A[c, (k, t)] = w[g*K_g + k, c, r, s]
        [&](int m, int d) { const int row = row0 + m;
                            return row < rows ? w_g[row * R * S + phase_table[d].x] : 0.f; },
        // B[(k, t), (n, h, v)] = dy[n, g*K_g + k, p, q], 0 outside dy
        [&](int d) { const int4 e = phase_table[d];
                     return column_ok && inside(i_h + e.z, P) && inside(i_v + e.w, Q)
                            ? grad_y[dy_base + e.y] : 0.f; },
        acc);

    store_tile(acc, row0, col0, rows, columns, [&](int row, int col, float value) {
        const int n = col / (H_phase * W_phase);
        const int h = phase_h + ((col / W_phase) % H_phase) * stride_h;
        const int v = phase_w + (col % W_phase) * stride_w;
        grad_x[((n * C + g * C_g + row) * H + h) * W + v] = value;
    });
}

// ---------------------------------------------------------------------------- weight gradient
// Split-K: blockIdx.z = group*splits + split; this block sums the depth (n, p, q) over
// [split*chunk, split*chunk + chunk) into partial[split, k, c, r, s]; the host adds the splits.
// table[d] for d = (n, p, q) < N*P*Q: {n*K*P*Q + p*Q + q, n*C*H*W + p*stride_h*W + q*stride_w,
// p*stride_h, q*stride_w}.
extern "C" __global__ void __launch_bounds__(THREADS)
conv2d_weight_grad(const float* __restrict__ x, const float* __restrict__ grad_y,
                   const int4* __restrict__ table, float* __restrict__ partial,
                   int N, int C, int H, int W, int K, int R, int S, int P, int Q,
                   int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
                   int groups, int splits, int chunk)
{
    const int C_g = C / groups, K_g = K / groups;
    const int rows = K_g, columns = C_g * R * S, depth = N * P * Q;
    const int g = blockIdx.z / splits, split = blockIdx.z % splits;
    const int d_begin = split * chunk, d_end = min(depth, d_begin + chunk);
    const int row0 = blockIdx.y * BLOCK_M, col0 = blockIdx.x * BLOCK_N;
    float acc[THREAD_M][THREAD_N] = {};

    // This thread's B column (c, r, s) -> channel plane and tap offsets, once.
    const int col_b = col0 + (threadIdx.y * THREADS_N + threadIdx.x) % BLOCK_N;
    const bool column_ok = col_b < columns;
    int r_offset = 0, s_offset = 0, x_base = 0;
    if (column_ok) {
        r_offset = ((col_b / S) % R) * dil_h - pad_h;
        s_offset = (col_b % S) * dil_w - pad_w;
        x_base = (g * C_g + col_b / (R * S)) * H * W + r_offset * W + s_offset;
    }
    const float* dy_g = grad_y + g * K_g * P * Q;

    implicit_gemm(d_begin, d_end,
        // A[k, (n,p,q)] = dy[n, g*K_g + k, p, q]
        [&](int m, int d) { const int row = row0 + m;
                            return row < rows ? dy_g[row * P * Q + table[d].x] : 0.f; },
        // B[(n,p,q), (c,r,s)] = x[n, g*C_g + c, h, v], 0 in the padding
        [&](int d) { const int4 e = table[d];
                     return column_ok && inside(e.z + r_offset, H) && inside(e.w + s_offset, W)
                            ? x[x_base + e.y] : 0.f; },
        acc);

    float* out = partial + split * K * columns;
    store_tile(acc, row0, col0, rows, columns, [&](int row, int col, float value) {
        out[(g * K_g + row) * columns + col] = value;
    });
}
