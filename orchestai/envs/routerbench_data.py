"""Importer of RouterBench-format CSVs: per-prompt correctness and dollar cost of many LLMs.

Columns (``../shared/data/README.md``): a pandas index, ``sample_id``, ``prompt``,
``eval_name``, then per model ``M`` (score 0/1), ``M|model_response``, ``M|total_cost``,
and ``oracle_model_to_route_to``. A row with an empty score or cost cell for any model
is skipped and reported (file, row, sample id, the empty columns) in
:attr:`RouterBenchData.skipped`; nothing is dropped silently.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from orchestai.logs.schema import LogValidationError

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


@dataclass
class RouterBenchData:
    """Prompts of one or more RouterBench CSVs, the models they cover, and what was skipped."""

    prompts: list[RouterBenchPrompt]
    models: list[str]
    skipped: list[str] = field(default_factory=list)

    @property
    def datasets(self) -> list[str]:
        """The data sets (``eval_name``) in order of first appearance."""
        return list(dict.fromkeys(p.dataset for p in self.prompts))


def model_columns(header: Iterable[str]) -> list[str]:
    """The model names of a RouterBench header (columns without ``|`` that are not fixed)."""
    return [c for c in header if "|" not in c and c not in _FIXED_COLUMNS]


def load_routerbench(paths: Iterable[str | Path]) -> RouterBenchData:
    """Read RouterBench CSV files; all must cover the same models."""
    csv.field_size_limit(1 << 30)
    prompts: list[RouterBenchPrompt] = []
    skipped: list[str] = []
    models: list[str] | None = None
    for path in map(Path, paths):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            these = model_columns(header)
            if models is None:
                models = these
            elif these != models:
                raise LogValidationError(str(path), f"models {these} differ from the first file's {models}", field="<header>")
            for column in ("sample_id", "prompt", "eval_name", *(f"{m}|total_cost" for m in these)):
                if column not in header:
                    raise LogValidationError(str(path), "missing column", field=column)
            for index, row in enumerate(reader):
                empty = [c for m in these for c in (m, f"{m}|total_cost") if row[c] == ""]
                if empty:
                    skipped.append(f"{path}: record {index} (sample_id {row['sample_id']!r}): empty {', '.join(empty)}")
                    continue
                try:
                    scores = {m: float(row[m]) for m in these}
                    costs = {m: float(row[f"{m}|total_cost"]) for m in these}
                except ValueError as error:
                    raise LogValidationError(
                        str(path), f"not a number ({error})", index, row["sample_id"], "score or cost"
                    ) from None
                responses = {m: len(row.get(f"{m}|model_response") or "") for m in these}
                prompts.append(RouterBenchPrompt(row["sample_id"], row["eval_name"], row["prompt"], scores, costs, responses))
    return RouterBenchData(prompts=prompts, models=models or [], skipped=skipped)


def load_routerbench_folder(folder: str | Path) -> RouterBenchData:
    """Read every ``*.csv`` of a folder (sorted by name), e.g. ``../shared/data/routerbench``."""
    paths = sorted(Path(folder).glob("*.csv"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no RouterBench CSV files (*.csv) in this folder")
    return load_routerbench(paths)


def split_prompts(
    prompts: list[RouterBenchPrompt], test_fraction: float = 0.2, seed: int = 0
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
