#!/usr/bin/env bash
# The GAN training runs behind the figures in issue 5's note, for a machine with a GPU
# (falls back to its CPUs when CuPy or the GPU path fails). Writes logs, sample grids and
# loss logs under ${OUT:-runs/gan_runs}. Usage: bash benchmarks/gan_runs.sh
set -u
OUT=${OUT:-runs/gan_runs}
mkdir -p "$OUT"
DCGAN_MIN=${DCGAN_MIN:-2.5}
WGAN_MIN=${WGAN_MIN:-4.5}
WGAN_WIDTH=${WGAN_WIDTH:-64}
{ nproc; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | head -2;
  python -c "import numpy, numba; print('numpy', numpy.__version__, 'numba', numba.__version__)";
  python -c "import cupy; print('cupy', cupy.__version__, cupy.cuda.runtime.getDeviceCount(), 'devices')" 2>&1 | tail -1; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
DEVICE=cuda
# the GPU kernels register at `import minicnn` (kernels/registrations.py)
RUN="python -c 'import sys; from minicnn.cli import main; sys.exit(main(sys.argv[1:]))'"
timeout 240 python - > "$OUT/smoke.txt" 2>&1 <<'PY'
import time, numpy as np, minicnn as mc
from minicnn.gan import get_recipe
for name in ("dcgan", "wgan-gp"):
    recipe = get_recipe(name); config = recipe.config(width=64, batch_size=64)
    mc.manual_seed(0); parts = recipe.build(config).to("cuda")
    rng = np.random.default_rng(0); k = recipe.batches_per_step(config)
    real = parts.tensor(np.random.default_rng(1).uniform(-1, 1, (64 * k, 1, 28, 28)).astype(np.float32))
    for i in range(6):
        t = time.perf_counter(); losses = recipe.train_step(parts, real, i, rng)
        print(name, "cuda step", i, f"{time.perf_counter() - t:.3f} s", losses, flush=True)
PY
if [ $? -ne 0 ]; then DEVICE=cpu; echo "cuda smoke failed: training on the CPU"; fi
tail -4 "$OUT/smoke.txt"
echo "device $DEVICE" | tee -a "$OUT/env.txt"
eval timeout $(python -c "print(int(60*$DCGAN_MIN+90))") $RUN train dcgan \
  --steps 3000 --width 64 --device $DEVICE --out "$OUT/dcgan" --sample-every 250 \
  --checkpoint-every 250 --max-minutes $DCGAN_MIN --no-progress > "$OUT/dcgan.log" 2>&1
tail -3 "$OUT/dcgan.log"
eval timeout $(python -c "print(int(60*$WGAN_MIN+90))") $RUN train wgan-gp \
  --steps 2000 --width $WGAN_WIDTH --device $DEVICE --out "$OUT/wgan" --sample-every 250 \
  --checkpoint-every 250 --max-minutes $WGAN_MIN --no-progress > "$OUT/wgan.log" 2>&1
tail -3 "$OUT/wgan.log"
rm -f "$OUT"/wgan/checkpoint.ckpt
