"""``python -m minicnn.as_torch script.py``: a PyTorch script runs unchanged on minicnn."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import minicnn as mc
from minicnn import as_torch

SCRIPT = Path(__file__).parent / "torch_scripts" / "unchanged_classifier.py"


def _run(*argv):
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=300)


def test_an_unchanged_pytorch_script_runs_and_learns_on_minicnn():
    done = _run("-m", "minicnn.as_torch", str(SCRIPT), "--epochs", "5")
    assert done.returncode == 0, done.stderr
    assert "torch is minicnn args ['--epochs', '5']" in done.stdout
    accuracy = float(done.stdout.split("accuracy")[-1])
    assert accuracy >= 0.8, done.stdout        # a linearly separable toy task


def test_a_missing_script_is_one_line_and_exit_2():
    done = _run("-m", "minicnn.as_torch", "no_such_script.py")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "cannot open 'no_such_script.py'" in done.stderr


def test_installed_maps_every_torch_module_and_uninstall_restores():
    with as_torch.installed():
        import torch
        import torch.nn.functional as F
        from torch.optim.lr_scheduler import StepLR
        from torch.utils.data import DataLoader

        assert torch is mc and F is mc.nn.functional
        assert StepLR is mc.optim.lr_scheduler.StepLR and DataLoader is mc.utils.data.DataLoader
        assert mc.nn.__spec__.name == "minicnn.nn"     # minicnn's own modules untouched
        with pytest.raises(ModuleNotFoundError, match="minicnn has no 'minicnn.quantum'"):
            import torch.quantum  # noqa: F401
    assert "torch" not in sys.modules or sys.modules["torch"] is not mc


def test_a_real_pytorch_imported_before_comes_back():
    torch = pytest.importorskip("torch")
    with as_torch.installed():
        import torch as inside
        assert inside is mc
    import torch as after
    assert after is torch
