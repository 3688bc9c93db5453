#!/usr/bin/env bash
# The one GPU check of minicnn's CUDA kernels, for a machine with a CUDA GPU, CuPy, Numba,
# PyTorch (CUDA build) and nvcc, and no network. Installs nothing.
#
#   bash benchmarks/gpu_check.sh
#
# Sized to finish inside 8 minutes on an H100 whatever happens: each step has its own time
# limit (40 + 90 + 140 + 200 s = 7 min 50 s at most); not yet timed on a GPU.
#
# 1. the machine: GPU, driver, library versions, whether Numba can launch on the GPU;
# 2. nvcc compile checks of kernels/*.cu (tests/test_cuda_compile.py, nvcc part only);
# 3. the gpu-marked tests (tests/test_gpu.py): every kernel and op on CuPy against the
#    NumPy reference, float32, relative error < 1e-4;
# 4. benchmarks/gpu_bench.py: per DCGAN-64 layer at batch 64, forward and backward of each
#    of our kernels against cuDNN (TF32 off), then a DCGAN-64 training step against
#    PyTorch eager. Its table is printed last.
# Reports go to $OUT (if set) or /tmp/minicnn_gpu_check/: gpu_tests.txt, gpu_bench.md, gpu_bench.log.
# Without a GPU every step says "skipped" and the script still exits 0 (a dry run).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
start=$SECONDS
unset NUMBA_ENABLE_CUDASIM            # the real GPU, not the simulator
export CUPY_TF32=0                    # fp32 matmuls in CuPy too (its default, said aloud)
REPORTS="${OUT:-${TMPDIR:-/tmp}/minicnn_gpu_check}"
mkdir -p "$REPORTS"

# minicnn.kernels is the top-level kernels/ folder, mapped into the package by the install
# (pyproject.toml). On a bare copy of the repository, lend Python that mapping instead of
# installing anything: a throwaway mirror of the repository made of symbolic links, whose
# minicnn/ also holds kernels/, and run everything from there.
if ! python -c "import minicnn.kernels" >/dev/null 2>&1; then
    mirror="$(mktemp -d)"
    for entry in "$REPO"/* "$REPO"/.[!.]*; do
        [ -e "$entry" ] && [ "$(basename "$entry")" != minicnn ] && ln -s "$entry" "$mirror/"
    done
    mkdir "$mirror/minicnn"
    for entry in "$REPO"/minicnn/*; do ln -s "$entry" "$mirror/minicnn/"; done
    ln -s "$REPO/kernels" "$mirror/minicnn/kernels"
    cd "$mirror"
    echo "(running from $mirror: minicnn with kernels/ mapped in, no install)"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

echo "== 1. machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null \
    || echo "nvidia-smi: not available"
timeout 40 python - <<'EOF'
import importlib
for name in ("numpy", "numba", "cupy", "torch"):
    try:
        module = importlib.import_module(name)
        print(f"{name:6s} {module.__version__}")
    except Exception as error:
        print(f"{name:6s} missing ({type(error).__name__}: {error})")
try:
    import cupy
    print("cupy   devices:", cupy.cuda.runtime.getDeviceCount())
except Exception as error:
    print("cupy   no device:", type(error).__name__, error)
try:
    from numba import cuda
    print("numba.cuda", getattr(cuda, "implementation", "?"), "available:", cuda.is_available())
    if cuda.is_available():
        print("numba.cuda device:", cuda.get_current_device().name)
except Exception as error:
    print("numba.cuda unusable:", type(error).__name__, error)
try:
    import torch
    print("torch cuda:", torch.cuda.is_available(),
          torch.cuda.get_device_name() if torch.cuda.is_available() else "")
except Exception as error:
    print("torch:", type(error).__name__, error)
EOF

tests_status=0
if python -c "import pytest" >/dev/null 2>&1; then
    # --noconftest: tests/conftest.py needs hypothesis, which these tests do not
    echo "== 2. nvcc compile checks"
    timeout 90 python -m pytest tests/test_cuda_compile.py -k "nvcc or spill" -q -rs \
        --noconftest -p no:cacheprovider
    compile_status=$?
    echo "== 3. gpu tests (every kernel and op on CuPy vs the NumPy reference)"
    timeout 140 python -m pytest tests/test_gpu.py -q -rs --noconftest -p no:cacheprovider \
        2>&1 | tee "$REPORTS/gpu_tests.txt"
    tests_status=${PIPESTATUS[0]}
    [ "$compile_status" -ne 0 ] && [ "$compile_status" -ne 5 ] && tests_status=$compile_status
else
    echo "== 2-3. skipped: pytest is not installed"
fi

echo "== 4. benchmark (the table comes last)"
timeout 200 python benchmarks/gpu_bench.py --budget 180 --out "$REPORTS/gpu_bench.md" \
    > "$REPORTS/gpu_bench.log" 2>&1
bench_status=$?
grep -v "^|" "$REPORTS/gpu_bench.log" | sed -n '/^# GPU benchmark/q;p'

echo
echo "gpu tests exit status: $tests_status (0 passed, 5 none collected); benchmark: $bench_status"
echo "total $((SECONDS - start)) s; reports in $REPORTS"
echo
if [ -s "$REPORTS/gpu_bench.md" ]; then
    cat "$REPORTS/gpu_bench.md"
else
    tail -n 30 "$REPORTS/gpu_bench.log"
fi
[ "$tests_status" -eq 0 ] || [ "$tests_status" -eq 5 ] || exit "$tests_status"
exit "$bench_status"
