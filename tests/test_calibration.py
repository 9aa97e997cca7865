from __future__ import annotations

from orchestai.configuration import load_yaml_config
from orchestai.paths import CONFIG_DIR, DEFAULT_WORLD_PATH
from orchestai.world.calibrate import (
    BEGIN_MARKER,
    END_MARKER,
    CalibrationConfig,
    category_types_from_world,
    measure,
    render_models_block,
)

from .conftest import shared_data_or_skip


def test_world_models_block_is_reproduced_from_public_data():
    data = shared_data_or_skip()
    shared_data_or_skip("routerbench")
    calibration = load_yaml_config(CalibrationConfig, CONFIG_DIR / "calibration.yaml")
    measured = measure(data, calibration)
    block = render_models_block(measured, calibration, category_types_from_world(DEFAULT_WORLD_PATH))
    text = DEFAULT_WORLD_PATH.read_text()
    current = text[text.index(BEGIN_MARKER) : text.index(END_MARKER) + len(END_MARKER) + 1]
    assert block == current
    gpt4 = next(m for m in measured if m.name == "gpt-4-1106-preview")
    # published price of gpt-4-1106-preview: $0.01 / 1k input, $0.03 / 1k output tokens
    assert 0.007 < gpt4.price_input_per_1k < 0.013 and 0.02 < gpt4.price_output_per_1k < 0.04
    assert gpt4.accuracy["reasoning"][0] > 0.9
