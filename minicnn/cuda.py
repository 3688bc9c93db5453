"""``mc.cuda``: is a CUDA GPU usable from minicnn (through CuPy)? And PyTorch's
``torch.cuda`` calls that scripts make on the way (seeding, device counts)."""
from .backend import cuda_is_available


def is_available() -> bool:
    """True when CuPy imports and sees a CUDA device. Never raises."""
    return cuda_is_available()


def device_count() -> int:
    """How many CUDA devices CuPy sees (0 without CuPy or a GPU). Never raises."""
    if not cuda_is_available():
        return 0
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # a broken CuPy install is as good as none
        return 0


def manual_seed(seed: int) -> None:
    """Seed the GPU's random numbers: minicnn draws them all from its one generator (on the
    CPU, so CPU and GPU runs see the same numbers), so this seeds that generator, as
    ``mc.manual_seed`` does."""
    from .random import manual_seed as seed_minicnn

    seed_minicnn(seed)


manual_seed_all = manual_seed


def synchronize() -> None:
    """Wait for the GPU's queued work (nothing to wait for without one)."""
    if cuda_is_available():
        import cupy

        cupy.cuda.Device().synchronize()
