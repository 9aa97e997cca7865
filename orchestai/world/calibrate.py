"""Derive the world's worker-model numbers from public measurements and print them.

``python -m orchestai.world.calibrate --data ../shared/data`` reads

* RouterBench (``routerbench/*.csv``): per-prompt correctness and dollar cost of 11
  LLMs. Skill per task-type category is the model's measured accuracy on the data set
  that ``orchestai/configs/calibration.yaml`` assigns to the category; input and output prices
  are a least-squares fit of each prompt's recorded cost against its token counts,
  estimated from text length (``chars_per_token``, an assumption);
* LLMPerf (``llmperf/individual/*.json``): per-request time to first token and
  inter-token latency; each model's log-normal median and log-sigma come from the file
  that ``calibration.yaml`` maps it to;

and prints the ``models:`` block of ``orchestai/configs/world.yaml``, each number followed by a
comment saying whether it was measured (and from what) or assumed (and why).
``--write orchestai/configs/world.yaml`` replaces the block between the calibration markers there.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from orchestai.cli import run_cli
from orchestai.configuration import load_yaml_config
from orchestai.files import read_text, write_text_atomic
from orchestai.paths import CONFIG_DIR
from orchestai.world.config import LatencyConfig

BEGIN_MARKER = "# BEGIN calibrated models (python -m orchestai.world.calibrate --write orchestai/configs/world.yaml)"
END_MARKER = "# END calibrated models"


@dataclass(frozen=True)
class LlmSource:
    """Which LLMPerf file stands for an LLM's latency."""

    name: str
    latency_file: str


@dataclass(frozen=True)
class SpecialistModel:
    """A non-LLM model whose numbers are all assumed."""

    name: str
    reason: str
    price_input_per_1k: float
    price_output_per_1k: float
    latency: LatencyConfig
    skills: dict[str, float]


DEFAULT_CALIBRATION_PATH = CONFIG_DIR / "calibration.yaml"


@dataclass(frozen=True)
class CalibrationConfig:
    """Contents of ``orchestai/configs/calibration.yaml``."""

    chars_per_token: float
    category_sources: dict[str, str]
    llms: list[LlmSource]
    specialists: list[SpecialistModel] = field(default_factory=list)


@dataclass
class MeasuredModel:
    """Numbers derived for one LLM, with the sample sizes behind them."""

    name: str
    price_input_per_1k: float
    price_output_per_1k: float
    price_r2: float
    price_rows: int
    accuracy: dict[str, tuple[float, int]]
    latency: dict[str, float]
    latency_file: str
    latency_rows: int


def _read_routerbench(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def measure(data_dir: Path, calibration: CalibrationConfig) -> list[MeasuredModel]:
    """Compute every LLM's skill per category, prices and latency from ``data_dir``."""
    tables = {
        category: _read_routerbench(data_dir / "routerbench" / f) for category, f in calibration.category_sources.items()
    }
    measured = []
    for llm in calibration.llms:
        features, costs = [], []
        accuracy = {}
        for category, rows in tables.items():
            scores = [float(r[llm.name]) for r in rows if r[llm.name] != ""]
            accuracy[category] = (float(np.mean(scores)), len(scores))
            for r in rows:
                cost = r[f"{llm.name}|total_cost"]
                if cost == "" or r[llm.name] == "":
                    continue
                features.append(
                    (
                        len(r["prompt"]) / calibration.chars_per_token / 1000.0,
                        len(r[f"{llm.name}|model_response"]) / calibration.chars_per_token / 1000.0,
                    )
                )
                costs.append(float(cost))
        x, y = np.array(features), np.array(costs)
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        coef = np.clip(coef, 0.0, None)
        r2 = 1.0 - float(((y - x @ coef) ** 2).sum() / ((y - y.mean()) ** 2).sum())
        with (data_dir / "llmperf" / "individual" / llm.latency_file).open(encoding="utf-8") as handle:
            requests = [r for r in json.load(handle) if not r.get("error_code")]
        log_ttft = np.log([r["ttft_s"] for r in requests])
        log_token = np.log([r["inter_token_latency_s"] for r in requests])
        measured.append(
            MeasuredModel(
                name=llm.name,
                price_input_per_1k=float(coef[0]),
                price_output_per_1k=float(coef[1]),
                price_r2=r2,
                price_rows=len(costs),
                accuracy=accuracy,
                latency={
                    "ttft_median_s": float(math.exp(np.median(log_ttft))),
                    "ttft_log_sigma": float(np.std(log_ttft)),
                    "per_token_median_s": float(math.exp(np.median(log_token))),
                    "per_token_log_sigma": float(np.std(log_token)),
                },
                latency_file=llm.latency_file,
                latency_rows=len(requests),
            )
        )
    return measured


def render_models_block(
    measured: list[MeasuredModel], calibration: CalibrationConfig, category_types: dict[str, list[str]]
) -> str:
    """The YAML text of the ``models:`` list, every number annotated with its provenance."""
    lines = [BEGIN_MARKER, "models:"]
    for model in measured:
        lines.append(f"  - name: {model.name}")
        source = f"measured: RouterBench cost fit, {model.price_rows} prompts, R^2={model.price_r2:.3f}; tokens = chars/{calibration.chars_per_token:g} (assumed)"
        lines.append(f"    price_input_per_1k: {model.price_input_per_1k:.6g}  # {source}")
        lines.append(f"    price_output_per_1k: {model.price_output_per_1k:.6g}  # {source}")
        lines.append(
            f"    latency:  # measured: LLMPerf {model.latency_file}, {model.latency_rows} requests (model-to-file map assumed, orchestai/configs/calibration.yaml)"
        )
        for key, value in model.latency.items():
            lines.append(f"      {key}: {value:.4g}")
        lines.append("    skills:  # measured: RouterBench accuracy of the type's category (category map assumed)")
        for category, type_names in category_types.items():
            if category not in model.accuracy:
                continue
            value, n = model.accuracy[category]
            source_file = calibration.category_sources[category]
            for type_name in type_names:
                lines.append(f"      {type_name}: {value:.4f}  # {source_file}, n={n}")
    for specialist in calibration.specialists:
        reason = f"assumed: {specialist.reason} (no public measurement in shared data)"
        lines.append(f"  - name: {specialist.name}")
        lines.append(f"    price_input_per_1k: {specialist.price_input_per_1k:.6g}  # {reason}")
        lines.append(f"    price_output_per_1k: {specialist.price_output_per_1k:.6g}  # assumed")
        lines.append("    latency:  # assumed")
        for key, value in vars(specialist.latency).items():
            lines.append(f"      {key}: {value:.4g}")
        lines.append("    skills:  # assumed")
        for type_name, value in specialist.skills.items():
            lines.append(f"      {type_name}: {value:.4f}")
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"


def category_types_from_world(world_path: Path) -> dict[str, list[str]]:
    """Map each category to the task types of the world YAML that belong to it."""
    import yaml

    with world_path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    result: dict[str, list[str]] = {}
    for task_type in data["task_types"]:
        result.setdefault(task_type["category"], []).append(task_type["name"])
    return result


def replace_block(world_text: str, block: str, world_path: Path) -> str:
    """Swap the calibrated block inside the world YAML text for ``block``."""
    start, end = world_text.find(BEGIN_MARKER), world_text.find(END_MARKER)
    if start < 0 or end < 0:
        raise SystemExit(f"{world_path}: calibration markers not found")
    return world_text[:start] + block + world_text[end + len(END_MARKER) + 1 :]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data"),
        help="folder with routerbench/ and llmperf/ (default ../shared/data)",
    )
    parser.add_argument(
        "--calibration", type=Path, default=DEFAULT_CALIBRATION_PATH,
        help="which measurement stands for which model and task category (default: the bundled calibration.yaml)",
    )  # fmt: skip
    parser.add_argument(
        "--world",
        type=Path,
        default=CONFIG_DIR / "world.yaml",
        help="world YAML whose task types are used (default: the bundled world.yaml)",
    )
    parser.add_argument("--write", type=Path, default=None, help="world YAML whose calibrated block to replace")
    args = parser.parse_args(argv)

    def command() -> int:
        calibration = load_yaml_config(CalibrationConfig, args.calibration)
        measured = measure(args.data, calibration)
        block = render_models_block(measured, calibration, category_types_from_world(args.world))
        sys.stdout.write(block)
        if args.write:
            write_text_atomic(args.write, replace_block(read_text(args.write), block, args.write))
            print(f"wrote {args.write}", file=sys.stderr)
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
