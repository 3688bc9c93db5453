"""``minicnn tune dcgan|wgan-gp|stylegan`` (minicnn/tune/commands.py, gan_study.py): the
search runs, records every finished trial, continues where it stopped without redoing a
trial, refuses another study's folder without --overwrite, keeps to its budgets, and its
space covers the issue's knobs. Tiny budgets: width 4, 2 steps, 32 images, N = 20."""
import json
import math

import numpy as np
import pytest

from minicnn.cli import main
from minicnn.tune.gan_study import KINDS, GANStudy, recipe_space, trial_config

TINY = ["--fix", "width=4", "--fix", "batch_size=8", "--images", "32", "--max-steps", "2",
        "--n", "20", "--init", "2"]


def tune(capsys, *args):
    status = main(["tune", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def records(folder):
    lines = (folder / "study.jsonl").read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def test_a_bayes_study_runs_records_and_continues(tmp_path, capsys):
    out = tmp_path / "study"
    status, printed, _ = tune(capsys, "dcgan", *TINY, "--trials", "3", "--out", str(out))
    assert status == 0, printed
    header, trials = records(out)
    assert header["kind"] == "dcgan" and header["fixed"] == {"width": 4, "batch_size": 8}
    assert "width" not in header["space"] and "label_smoothing" in header["space"]
    assert [t["how"] for t in trials] == ["init", "init", "ei"]
    for t in trials:
        assert t["status"] == "ok" and t["steps"] == 2 and math.isfinite(t["value"])
        assert 0.0 <= t["figures"]["legible_share"] <= 1.0
        assert (out / f"trial_{t['trial']:03d}" / "samples.png").exists()
    assert (out / "study.png").exists()
    table = (out / "results.txt").read_text()
    assert table.strip() in printed and "*" in table and "FD" in table and "legible" in table
    best = min(trials, key=lambda t: t["value"])
    assert f"best: trial {best['trial'] + 1}," in table
    chosen = json.loads((out / "best.json").read_text())
    assert chosen["trial"] == best["trial"] + 1 and chosen["frechet_distance"] == best["value"]
    assert chosen["settings"]["width"] == 4 and chosen["settings"]["betas"] == [
        best["params"]["beta1"], best["params"]["beta2"]]

    before = (out / "study.jsonl").read_text()
    status, printed, _ = tune(capsys, "dcgan", *TINY, "--trials", "4", "--out", str(out))
    assert status == 0 and "3 trials done" in printed
    assert "trial 4/4" in printed and "trial 1/" not in printed     # none redone
    after = (out / "study.jsonl").read_text()
    assert after.startswith(before) and len(after.splitlines()) == 1 + 4

    status, printed, _ = tune(capsys, "dcgan", *TINY, "--trials", "4", "--out", str(out))
    assert status == 0 and "trial " not in printed.split("minicnn tune")[0].replace(
        "trials done", "")                                           # done: nothing to run
    assert (out / "study.jsonl").read_text() == after


def test_another_study_is_refused_without_overwrite(tmp_path, capsys):
    out = tmp_path / "study"
    assert tune(capsys, "dcgan", *TINY, "--trials", "1", "--out", str(out))[0] == 0
    before = (out / "study.jsonl").read_text()
    for other in (["dcgan", *TINY, "--n", "30"], ["dcgan", *TINY, "--method", "grid",
                                                   "--fix", "lr=1e-4"],
                  ["wgan-gp", *TINY]):
        status, _, err = tune(capsys, *other, "--trials", "1", "--out", str(out))
        assert status == 2 and "holds a study with other settings" in err, err
        assert "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (out / "study.jsonl").read_text() == before
    status, _, _ = tune(capsys, "dcgan", *TINY, "--n", "30", "--trials", "1", "--overwrite",
                        "--out", str(out))
    header, trials = records(out)
    assert status == 0 and header["n"] == 30 and len(trials) == 1
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.ckpt").write_text("not a study")
    status, _, err = tune(capsys, "dcgan", *TINY, "--out", str(tmp_path / "run"))
    assert status == 2 and "no study" in err
    assert (tmp_path / "run" / "checkpoint.ckpt").read_text() == "not a study"


def test_an_interrupted_trial_is_started_again_and_a_cut_line_dropped(tmp_path, capsys):
    out = tmp_path / "study"
    assert tune(capsys, "dcgan", *TINY, "--trials", "1", "--out", str(out))[0] == 0
    (out / "trial_001").mkdir()
    (out / "trial_001" / "leftover").write_text("half a run")
    with open(out / "study.jsonl", "a") as stream:
        stream.write('{"trial": 1, "how": "in')            # killed while writing
    status, printed, _ = tune(capsys, "dcgan", *TINY, "--trials", "2", "--out", str(out))
    assert status == 0 and "1 trials done" in printed
    _, trials = records(out)
    assert [t["trial"] for t in trials] == [0, 1]
    assert not (out / "trial_001" / "leftover").exists()


def test_a_grid_study_walks_the_whole_grid_once(tmp_path, capsys):
    out = tmp_path / "grid"
    pinned = ["--fix", "lr=2e-4", "--fix", "lr_d=2e-4", "--fix", "beta1=0.5",
              "--fix", "beta2=0.999", "--fix", "label_smoothing=0", "--fix", "ema=0"]
    status, printed, _ = tune(capsys, "dcgan", *TINY, *pinned, "--method", "grid",
                              "--out", str(out))
    assert status == 0 and "grid: 2 points over spectral_norm" in printed
    header, trials = records(out)
    assert [t["params"] for t in trials] == [{"spectral_norm": False}, {"spectral_norm": True}]
    assert all(t["how"] == "grid" for t in trials)
    status, printed, _ = tune(capsys, "dcgan", *TINY, *pinned, "--method", "grid",
                              "--out", str(out))
    assert status == 0 and "2 trials done" in printed and len(records(out)[1]) == 2


def test_the_budgets_are_kept(tmp_path, capsys):
    # a total budget shorter than one trial's training: refused before any work
    status, _, err = tune(capsys, "dcgan", *TINY, "--trial-minutes", "2", "--budget-minutes",
                          "1", "--out", str(tmp_path / "a"))
    assert status == 2 and "shorter than one trial" in err and not (tmp_path / "a").exists()
    # the per-trial budget stops training: 0.3 s cannot hold 100000 steps
    out = tmp_path / "b"
    args = [a for i, a in enumerate(TINY) if "--max-steps" not in TINY[max(i - 1, 0):i + 1]]
    assert "--max-steps" not in args and len(args) == len(TINY) - 2
    status, printed, _ = tune(capsys, "dcgan", *args, "--trial-minutes", "0.005",
                              "--budget-minutes", "0.012", "--trials", "5", "--out", str(out))
    assert status == 0, printed
    _, trials = records(out)
    assert 1 <= len(trials) < 5 and "total budget" in printed
    assert all(1 <= t["steps"] < 100_000 and t["train_seconds"] < 30 for t in trials)


def test_a_failed_trial_scores_infinity_and_the_search_goes_on(tmp_path, monkeypatch):
    import minicnn.gan.train as train_module
    from minicnn.training import NonFiniteLossError

    calls = []
    real_train_gan = train_module.train_gan

    def diverging(recipe, steps, out, config, **kwargs):
        calls.append(config)
        if len(calls) == 2:
            raise NonFiniteLossError("loss_d is nan at step 1", 1, "loss_d", float("nan"))
        return real_train_gan(recipe, steps, out, config, **kwargs)

    monkeypatch.setattr(train_module, "train_gan", diverging)
    study = GANStudy("dcgan", tmp_path / "s", fixed={"width": 4, "batch_size": 8}, max_steps=1,
                     n=20, images=32, n_init=2, log=lambda line: None)
    study.open()
    study.run(max_trials=3)
    values = [r["value"] for r in study.records]
    assert math.isinf(values[1]) and study.records[1]["status"].startswith("failed")
    assert math.isfinite(values[0]) and math.isfinite(values[2])
    assert study.best()["trial"] in (0, 2)
    assert "inf" in study.table()
    assert calls[0]["betas"] == (study.records[0]["params"]["beta1"],
                                 study.records[0]["params"]["beta2"])


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    for args, words in ((["dcgan", "--fix", "foo=1"], "no knob foo"),
                        (["stylegan", "--fix", "spectral_norm=true"], "no knob spectral_norm"),
                        (["dcgan", "--fix", "width"], "NAME=VALUE"),
                        (["dcgan", "--fix", "spectral_norm=maybe"], "true or false"),
                        (["dcgan", "--fix", "width=-3"], "positive"),
                        (["dcgan", "--fix", "batch_size=7.5"], "whole number"),
                        (["wgan-gp", "--fix", "lr=fast"], "expected a number"),
                        (["dcgan", "--n", "600"], "--n"),
                        (["dcgan", "--trials", "0"], "positive")):
        cheap = ["--images", "32", "--max-steps", "1", "--n", "20", "--trial-minutes", "0.05",
                 "--fix", "width=4"]   # if a check slipped, the trial is a second
        status, _, err = tune(capsys, args[0], *cheap, *args[1:], "--out", str(tmp_path / "x"))
        assert status == 2 and words in err, (args, err)
    assert not (tmp_path / "x" / "study.jsonl").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_the_space_holds_the_issues_knobs_and_todays_defaults(kind):
    from minicnn.gan.recipe import get_recipe

    recipe = get_recipe(kind)
    space = recipe_space(kind)
    common = {"width", "batch_size", "lr", "lr_d", "beta1", "beta2", "ema"}
    own = {"dcgan": {"spectral_norm", "label_smoothing"},
           "wgan-gp": {"spectral_norm", "n_critic", "gp_weight"}, "stylegan": {"r1"}}[kind]
    assert set(space) == common | own
    defaults = recipe.defaults
    today = {k: defaults[k] for k in space if k in defaults and defaults[k] is not None}
    today.update(beta1=defaults["betas"][0], beta2=defaults["betas"][1])
    for name, value in today.items():
        assert space[name].contains(value), (kind, name, value)
    rng = np.random.default_rng(0)
    from minicnn.tune import Space
    for params in Space(space).sample(5, rng):   # every point is a valid recipe config
        config = recipe.config(**trial_config(params))
        assert config["betas"] == (params["beta1"], params["beta2"])


def test_fixed_values_are_read_as_python_and_json_write_them():
    from minicnn.tune.commands import _setting

    assert _setting("spectral_norm=False") == ("spectral_norm", False)
    assert _setting("spectral-norm=true") == ("spectral_norm", True)
    assert _setting("lr=2e-4") == ("lr", 2e-4) and _setting("width=8") == ("width", 8)
    assert _setting("betas=[0.5, 0.9]") == ("betas", (0.5, 0.9))
