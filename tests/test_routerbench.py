from __future__ import annotations

from pathlib import Path

import pytest

from orchestai.envs.routerbench_data import load_routerbench
from orchestai.logs.schema import LogValidationError

from .conftest import shared_data_or_skip

HEADER = ",sample_id,prompt,eval_name,m1,m2,m1|model_response,m2|model_response,m1|total_cost,m2|total_cost,oracle_model_to_route_to"


def test_toy_file_counts_and_reports_empty_cells(tmp_path: Path):
    path = tmp_path / "toy.csv"
    path.write_text(
        HEADER + "\n"
        "0,a,q1,toy,1,0,x,y,0.01,0.002,m1\n"
        "1,b,q2,toy,,1,x,y,0.01,0.002,m2\n"
        "2,c,q3,toy,0,1,x,y,0.01,,m2\n"
        "3,d,q4,toy,1,1,x,y,0.03,0.001,m2\n"
    )
    data = load_routerbench([path])
    assert data.models == ["m1", "m2"]
    assert [p.sample_id for p in data.prompts] == ["a", "d"]
    assert data.prompts[1].scores == {"m1": 1.0, "m2": 1.0} and data.prompts[1].costs["m1"] == 0.03
    assert len(data.skipped) == 2
    assert "record 1 (sample_id 'b'): empty m1" in data.skipped[0]
    assert "record 2 (sample_id 'c'): empty m2|total_cost" in data.skipped[1]


def test_bad_number_names_the_record(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n0,a,q1,toy,1,zero,x,y,0.01,0.002,m1\n")
    with pytest.raises(LogValidationError, match=r"bad.csv: record 0 \(id 'a'\)"):
        load_routerbench([path])


def test_shared_routerbench_counts():
    folder = shared_data_or_skip("routerbench")
    files = [folder / f for f in ("arc_challenge_train.csv", "winograde_train.csv", "mbpp_train.csv")]
    data = load_routerbench(files)
    assert len(data.models) == 11 and "gpt-4-1106-preview" in data.models
    assert len(data.prompts) + len(data.skipped) == 1039 + 887 + 299
    assert len(data.skipped) == 20  # the ARC-Challenge rows with an empty score or cost cell
    assert all("arc_challenge_train.csv" in line for line in data.skipped)
