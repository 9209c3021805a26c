"""results/reproduce_wikitext2.sh: the logged chain of runs, as commands the scripts still accept."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
from pathlib import Path

from src.cli import add_dataclass_arguments
from src.config import TrainConfig
from src.script_configs import EvaluateConfig
from tests.scripts import ROOT

RECIPE = ROOT / "results" / "reproduce_wikitext2.sh"
CONFIGS = {"train.py": TrainConfig, "evaluate.py": EvaluateConfig}


def dry_run(data_dir: Path, run_dir: Path, variant: bool = False) -> subprocess.CompletedProcess:
    """The recipe with DRY_RUN=1: the commands it would run, one per line, and nothing run."""
    env = {**os.environ, "DRY_RUN": "1", "VARIANT": "1" if variant else "0"}
    return subprocess.run(["bash", str(RECIPE), str(data_dir), str(run_dir)], capture_output=True, text=True,
                          timeout=60, env=env)


def printed_commands(result: subprocess.CompletedProcess) -> list[list[str]]:
    """A dry run's printed commands, each split into words as the shell would."""
    return [shlex.split(line) for line in result.stdout.splitlines()]


def parse_command(words: list[str]) -> None:
    """Parse one printed command with its script's own flags; an unknown or bad flag raises."""
    assert words[0].startswith("OMP_NUM_THREADS=") and words[1] == "python"
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, CONFIGS[words[2]])
    CONFIGS[words[2]](**vars(parser.parse_args(words[3:])))


def wikitext_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "wiki text"  # a space, so the printed commands must quote their paths
    folder.mkdir()
    for name in ("wiki.valid.raw", "wiki.test.raw"):
        (folder / name).write_text("a stand-in, never read by a dry run\n", encoding="utf-8")
    return folder


def test_every_command_of_the_recipe_is_accepted_by_its_script(tmp_path):
    result = dry_run(wikitext_folder(tmp_path), tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    commands = printed_commands(result)
    assert [words[2] for words in commands] == ["train.py"] * 5 + ["evaluate.py"]
    for words in commands:
        parse_command(words)


def test_the_four_teachers_differ_only_in_their_seeds(tmp_path):
    teachers = printed_commands(dry_run(wikitext_folder(tmp_path), tmp_path / "runs"))[:4]
    seeds = [words[words.index("--seed") + 1] for words in teachers]
    assert sorted(seeds) == ["11", "1337", "3", "7"]
    up_to_the_seed = {tuple(words[:words.index("--seed")]) for words in teachers}
    assert len(up_to_the_seed) == 1


def test_the_vanilla_student_learns_from_the_four_teachers_and_is_scored_once(tmp_path):
    folder = wikitext_folder(tmp_path)
    commands = printed_commands(dry_run(folder, tmp_path / "runs"))
    student, score = commands[-2], commands[-1]
    assert "--cell" not in student  # the seed's equation
    assert student[student.index("--teachers") + 1] == "WB20/best.pt,WB20s7/best.pt,WB20s3/best.pt,WB20s11/best.pt"
    assert student[student.index("--hidden-size") + 1] == "1536"
    assert student[student.index("--final-lr-fraction") + 1] == "0"
    assert score[score.index("--checkpoint") + 1] == "WV3Z/best.pt"
    assert score[-1] == str(folder / "wiki.test.raw")


def test_variant_1_also_rebuilds_the_variant_row_from_the_four_teachers_and_scores_it(tmp_path):
    folder = wikitext_folder(tmp_path)
    result = dry_run(folder, tmp_path / "runs", variant=True)
    assert result.returncode == 0, result.stderr
    commands = printed_commands(result)
    assert [words[2] for words in commands] == ["train.py"] * 5 + ["evaluate.py", "train.py", "evaluate.py"]
    variant, score = commands[-2], commands[-1]
    assert variant[variant.index("--cell") + 1] == "multiplicative"
    assert variant[variant.index("--teachers") + 1] == "WB20/best.pt,WB20s7/best.pt,WB20s3/best.pt,WB20s11/best.pt"
    assert score[score.index("--checkpoint") + 1] == "WM3Z/best.pt"
    for words in commands:
        parse_command(words)


def test_the_recipe_refuses_a_folder_without_wikitext_with_one_line(tmp_path):
    result = dry_run(tmp_path, tmp_path / "runs")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: give a folder holding wiki.valid.raw and wiki.test.raw (WikiText-2 raw)"]
