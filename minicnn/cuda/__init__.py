"""``mc.cuda``: is a CUDA GPU usable from minicnn (through CuPy)? And PyTorch's
``torch.cuda`` calls that scripts make on the way (seeding, device counts)."""
from ..backend import cuda_is_available


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
    from ..random import manual_seed as seed_minicnn

    seed_minicnn(seed)


manual_seed_all = manual_seed


def synchronize() -> None:
    """Wait for the GPU's queued work (nothing to wait for without one)."""
    if cuda_is_available():
        import cupy

        cupy.cuda.Device().synchronize()


def empty_cache() -> None:
    """Hand CuPy's cached, unused GPU memory back to the driver (nothing to do without a
    GPU), as ``torch.cuda.empty_cache``."""
    if cuda_is_available():
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by live arrays (CuPy's pool; 0 without a GPU)."""
    if not cuda_is_available():
        return 0
    import cupy

    return int(cupy.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes of GPU memory CuPy's pool holds, used or cached (0 without a GPU)."""
    if not cuda_is_available():
        return 0
    import cupy

    return int(cupy.get_default_memory_pool().total_bytes())


def current_device() -> int:
    """The GPU in use (minicnn uses one: 0). Raises without a GPU, as PyTorch."""
    if not cuda_is_available():
        raise RuntimeError("cuda.current_device: no CUDA GPU is usable (CuPy sees none)")
    import cupy

    return int(cupy.cuda.Device().id)


def get_device_name(device=None) -> str:
    """The GPU's name, as ``torch.cuda.get_device_name``. Raises without a GPU."""
    if not cuda_is_available():
        raise RuntimeError("cuda.get_device_name: no CUDA GPU is usable (CuPy sees none)")
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


from . import amp  # noqa: E402,F401  (torch.cuda.amp)
