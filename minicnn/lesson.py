"""Small helpers shared by the scripts in ``lessons/``: fast mode, the output folder, checks."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def parse_args(description: str, argv=None) -> argparse.Namespace:
    """``--fast`` (or MINICNN_FAST=1) makes a lesson finish in seconds for the smoke tests."""
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny sizes, finishes in seconds")
    parser.add_argument("--out", default=None, help="folder for pictures (default lessons/out)")
    args = parser.parse_args(argv)
    args.fast = args.fast or os.environ.get("MINICNN_FAST") == "1"
    args.out = output_dir(args.out)
    return args


def output_dir(path=None) -> Path:
    """Where lessons write their pictures: ``lessons/out/`` next to the scripts."""
    folder = Path(path) if path else Path(__file__).resolve().parent.parent / "lessons" / "out"
    if path is None and not folder.parent.is_dir():  # installed without the lessons folder
        folder = Path.cwd() / "lessons_out"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check(condition: bool, message: str) -> None:
    """Print a check's result; stop the lesson if it failed."""
    print(("  ok    " if condition else "  FAIL  ") + message)
    if not condition:
        raise SystemExit(f"check failed: {message}")
