// im2col and col2im in CUDA C, for the "im2col + cuBLAS" convolution path.
//
// The same two kernels as kernels/cuda_im2col.py (its docstring has the full math):
//
//   cols[(c*R + r)*S + s, (n*P + p)*Q + q] = x[n, c, p*stride_h - pad_h + r*dil_h,
//                                                q*stride_w - pad_w + s*dil_w]   (0 in the padding)
//   x : (N, C, H, W)    cols : (C*R*S, N*P*Q)
//
// This layout (Caffe's) differs from cuda_im2col.py's (N, C*R*S, P*Q), unfold's: with the
// whole batch in the columns, a convolution is ONE large matrix product per group,
// y (K_g, N*P*Q) = w (K_g, C_g*R*S) @ cols_g (C_g*R*S, N*P*Q), which is what cuBLAS is best at;
// group g owns the rows g*C_g*R*S ... (g+1)*C_g*R*S - 1.
//
// col2im is the adjoint: x[n, c, h, v] = sum of the column entries copied from (h, v).
//
// Thread mapping: one thread per element written (cols for im2col, x for col2im), a 1-D
// grid-stride loop over the flat index. col2im gathers (a pixel reads the <= R*S entries
// that came from it: p = (h + pad_h - r*dil_h) / stride_h when that division is exact)
// instead of scattering with atomics, so it is deterministic.
// Index math in 64-bit: cols of a DCGAN layer at batch 64 has tens of millions of elements.

extern "C" __global__ void
im2col(const float* __restrict__ x, float* __restrict__ cols,
       int N, int C, int H, int W, int R, int S, int P, int Q,
       int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w)
{
    const long long total = (long long)N * C * R * S * P * Q;
    for (long long index = blockIdx.x * (long long)blockDim.x + threadIdx.x; index < total;
         index += (long long)gridDim.x * blockDim.x) {
        // index = ((((c*R + r)*S + s)*N + n)*P + p)*Q + q: exactly cols' memory order
        const int q = index % Q;
        const int p = (index / Q) % P;
        const int n = (index / ((long long)Q * P)) % N;
        const long long crs = index / ((long long)Q * P * N);        // (c*R + r)*S + s
        const int s = crs % S, r = (crs / S) % R, c = crs / ((long long)S * R);
        const int h = p * stride_h - pad_h + r * dil_h;
        const int v = q * stride_w - pad_w + s * dil_w;
        float value = 0.f;
        if ((unsigned)h < (unsigned)H && (unsigned)v < (unsigned)W)
            value = x[(((long long)n * C + c) * H + h) * W + v];
        cols[index] = value;
    }
}

extern "C" __global__ void
col2im(const float* __restrict__ cols, float* __restrict__ x,
       int N, int C, int H, int W, int R, int S, int P, int Q,
       int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w)
{
    const long long total = (long long)N * C * H * W;
    for (long long index = blockIdx.x * (long long)blockDim.x + threadIdx.x; index < total;
         index += (long long)gridDim.x * blockDim.x) {
        const int v = index % W;
        const int h = (index / W) % H;
        const int c = (index / ((long long)W * H)) % C;
        const int n = index / ((long long)W * H * C);
        const long long NPQ = (long long)N * P * Q;
        const float* cols_c = cols + (long long)c * R * S * NPQ + (long long)n * P * Q;
        float acc = 0.f;
        for (int r = 0; r < R; ++r) {
            const int p_stride = h + pad_h - r * dil_h;
            if (p_stride < 0 || p_stride % stride_h != 0) continue;
            const int p = p_stride / stride_h;
            if (p >= P) continue;
            for (int s = 0; s < S; ++s) {
                const int q_stride = v + pad_w - s * dil_w;
                if (q_stride < 0 || q_stride % stride_w != 0) continue;
                const int q = q_stride / stride_w;
                if (q >= Q) continue;
                acc += cols_c[(r * S + s) * NPQ + p * Q + q];
            }
        }
        x[index] = acc;
    }
}
