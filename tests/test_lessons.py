"""Lesson smoke tests: every numbered lesson runs end to end with --fast and draws its pictures."""
import subprocess
import sys
from pathlib import Path

import pytest

LESSONS = sorted(Path(__file__).resolve().parent.parent.glob("lessons/[0-9][0-9]_*.py"))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_fast(lesson, tmp_path):
    env = {"MINICNN_FAST": "1", "MPLBACKEND": "Agg", "NUMBA_ENABLE_CUDASIM": "1"}
    import os

    result = subprocess.run([sys.executable, str(lesson), "--fast", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, **env})
    assert result.returncode == 0, f"{lesson.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "FAIL" not in result.stdout
    pictures = list(tmp_path.glob("*.png"))
    assert pictures, f"{lesson.name} wrote no picture into --out"
