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

from orchestai.data.schema import LogValidationError

_FIXED_COLUMNS = ("", "sample_id", "prompt", "eval_name", "oracle_model_to_route_to")


@dataclass(frozen=True)
class RouterBenchPrompt:
    """One prompt with every model's recorded score (0/1) and cost (USD)."""

    sample_id: str
    dataset: str
    prompt: str
    scores: dict[str, float]
    costs: dict[str, float]


@dataclass
class RouterBenchData:
    """Prompts of one or more RouterBench CSVs, the models they cover, and what was skipped."""

    prompts: list[RouterBenchPrompt]
    models: list[str]
    skipped: list[str] = field(default_factory=list)


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
                prompts.append(RouterBenchPrompt(row["sample_id"], row["eval_name"], row["prompt"], scores, costs))
    return RouterBenchData(prompts=prompts, models=models or [], skipped=skipped)
