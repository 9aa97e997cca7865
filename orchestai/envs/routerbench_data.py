"""Importer of RouterBench-format CSVs: per-prompt correctness and dollar cost of many LLMs.

Columns (``../shared/data/README.md``): a pandas index, ``sample_id``, ``prompt``,
``eval_name``, then per model ``M`` (score 0/1), ``M|model_response``, ``M|total_cost``,
and ``oracle_model_to_route_to``. A row with an empty score or cost cell for any model
is skipped and reported (file, row, sample id, the empty columns) in
:attr:`RouterBenchData.skipped`; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from orchestai.files import InputFileError, read_text
from orchestai.logs.schema import LogValidationError

# the one home of where RouterBench lives and of the report's seeded split
ROUTERBENCH_DIR = "../shared/data/routerbench"
TEST_FRACTION = 0.2
SPLIT_SEED = 0
_FIXED_COLUMNS = ("", "sample_id", "prompt", "eval_name", "oracle_model_to_route_to")


@dataclass(frozen=True)
class RouterBenchPrompt:
    """One prompt with every model's recorded score (0/1) and cost (USD)."""

    sample_id: str
    dataset: str
    prompt: str
    scores: dict[str, float]
    costs: dict[str, float]
    response_chars: dict[str, int] = field(default_factory=dict)
    responses: dict[str, str] = field(default_factory=dict)  # the recorded answers, when read with keep_responses


@dataclass
class RouterBenchData:
    """Prompts of one or more RouterBench CSVs, the models they cover, and what was skipped."""

    prompts: list[RouterBenchPrompt]
    models: list[str]
    skipped: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # data set -> the file name it was read from

    @property
    def datasets(self) -> list[str]:
        """The data sets (``eval_name``) in order of first appearance."""
        return list(dict.fromkeys(p.dataset for p in self.prompts))


def model_columns(header: Iterable[str]) -> list[str]:
    """The model names of a RouterBench header (columns without ``|`` that are not fixed)."""
    return [c for c in header if "|" not in c and c not in _FIXED_COLUMNS]


def load_routerbench(paths: Iterable[str | Path], keep_responses: bool = False) -> RouterBenchData:
    """Read RouterBench CSV files; all must cover the same models.

    Rows with empty cells are reported in ``skipped`` (never silently dropped); a score
    outside {0, 1}, a negative, NaN or infinite cost, a row cut short, a file that is not
    UTF-8 CSV each raise :class:`LogValidationError` naming the file, row and column.
    """
    csv.field_size_limit(1 << 30)
    prompts: list[RouterBenchPrompt] = []
    skipped: list[str] = []
    files: dict[str, str] = {}
    models: list[str] | None = None
    for path in map(Path, paths):
        header, rows = _read_csv(path)
        these = model_columns(header)
        if models is None:
            models = these
        elif these != models:
            raise LogValidationError(str(path), f"models {these} differ from the first file's {models}", field="<header>")
        for column in ("sample_id", "prompt", "eval_name", *(f"{m}|total_cost" for m in these)):
            if column not in header:
                raise LogValidationError(str(path), "missing column", field=column)
        for index, row in enumerate(rows):
            prompt = _parse_row(path, index, row, these, skipped, keep_responses)
            if prompt is not None:
                prompts.append(prompt)
                files.setdefault(prompt.dataset, path.name)
    return RouterBenchData(prompts=prompts, models=models or [], skipped=skipped, files=files)


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = read_text(path)
    except InputFileError as error:
        raise LogValidationError(str(path), error.problem) from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
    except csv.Error as error:
        raise LogValidationError(str(path), f"malformed CSV ({error})") from None
    return list(reader.fieldnames or []), rows


def _parse_row(
    path: Path, index: int, row: dict[str, str], models: list[str], skipped: list[str], keep_responses: bool = False
) -> RouterBenchPrompt | None:
    """One prompt's recorded outcomes, or ``None`` (reported in ``skipped``) when a cell is empty."""
    if None in row or any(value is None for value in row.values()):
        problem = "more or fewer cells than the header (a truncated file?)"
        raise LogValidationError(str(path), problem, index, row.get("sample_id"), "<row>")
    empty = [c for m in models for c in (m, f"{m}|total_cost") if row[c] == ""]
    if empty:
        skipped.append(f"{path}: record {index} (sample_id {row['sample_id']!r}): empty {', '.join(empty)}")
        return None
    scores: dict[str, float] = {}
    costs: dict[str, float] = {}
    for m in models:
        for column, target in ((m, scores), (f"{m}|total_cost", costs)):
            try:
                target[m] = float(row[column])
            except ValueError:
                raise LogValidationError(
                    str(path), f"not a number: {row[column]!r}", index, row["sample_id"], column
                ) from None
        if scores[m] not in (0.0, 1.0):
            raise LogValidationError(str(path), f"a score must be 0 or 1, got {row[m]!r}", index, row["sample_id"], m)
        if not math.isfinite(costs[m]) or costs[m] < 0:
            problem = f"a cost must be a finite number >= 0, got {row[f'{m}|total_cost']!r}"
            raise LogValidationError(str(path), problem, index, row["sample_id"], f"{m}|total_cost")
    answers = {m: row.get(f"{m}|model_response") or "" for m in models}
    lengths = {m: len(text) for m, text in answers.items()}
    return RouterBenchPrompt(
        row["sample_id"], row["eval_name"], row["prompt"], scores, costs, lengths, answers if keep_responses else {}
    )


def load_routerbench_folder(folder: str | Path, keep_responses: bool = False) -> RouterBenchData:
    """Read every ``*.csv`` of a folder (sorted by name), e.g. ``../shared/data/routerbench``."""
    paths = sorted(Path(folder).glob("*.csv"))
    if not paths:
        raise LogValidationError(str(folder), "no RouterBench CSV files (*.csv) in this folder")
    return load_routerbench(paths, keep_responses)


def split_prompts(
    prompts: list[RouterBenchPrompt], test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[list[RouterBenchPrompt], list[RouterBenchPrompt]]:
    """A seeded train/test split by prompt (``sample_id``), stratified by data set.

    Rows that share a ``sample_id`` land on the same side, so no prompt is in both.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be within (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    test_ids: set[tuple[str, str]] = set()
    for dataset in dict.fromkeys(p.dataset for p in prompts):
        ids = sorted({p.sample_id for p in prompts if p.dataset == dataset})
        chosen = rng.permutation(len(ids))[: max(1, round(test_fraction * len(ids)))]
        test_ids.update((dataset, ids[k]) for k in chosen)
    train = [p for p in prompts if (p.dataset, p.sample_id) not in test_ids]
    test = [p for p in prompts if (p.dataset, p.sample_id) in test_ids]
    return train, test


def train_test_prompts(
    data: RouterBenchData,
    test_fraction: float = TEST_FRACTION,
    seed: int = SPLIT_SEED,
    test_data: RouterBenchData | None = None,
) -> tuple[list[RouterBenchPrompt], list[RouterBenchPrompt]]:
    """Training and held-out prompts: the seeded split of ``data``, or, with ``test_data`` (a separate folder), all of each.

    A separate test folder must cover the same models and share no prompt text with the
    training rows (it would be seen in training).
    """
    if test_data is None:
        return split_prompts(data.prompts, test_fraction, seed)
    if list(test_data.models) != list(data.models):
        raise LogValidationError(
            "<test folder>", f"models {test_data.models} differ from the training folder's {data.models}", field="<header>"
        )
    seen = {(p.dataset, p.prompt) for p in data.prompts}
    shared = [p.sample_id for p in test_data.prompts if (p.dataset, p.prompt) in seen]
    if shared:
        raise LogValidationError(
            "<test folder>",
            f"{len(shared)} prompts are also training prompts (e.g. sample_id {shared[0]!r}): they would be seen in training",
        )
    return list(data.prompts), list(test_data.prompts)
