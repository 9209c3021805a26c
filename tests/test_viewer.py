"""The hidden-unit viewer's data: features, rankings, the page's contents and size, and visualize.py's errors."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from src.data.vocab import CharVocab
from src.viewer.data import build_view_data, run_model
from src.viewer.features import average_ranks, bracket_depth, inside_quotes, rank_units, run_length
from src.viewer.page import render_page
from tests.scripts import assert_one_line_error, run
from tests.viewer_page import feature_text, page_data, save_model


def test_quote_and_bracket_features_count_what_has_been_read_so_far():
    text = 'a "b (c[d]) e" f)'
    assert inside_quotes(text).tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert bracket_depth(text).tolist() == [0, 0, 0, 0, 0, 1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0]
    assert inside_quotes("“x” y").tolist() == [1, 1, 0, 0, 0]


def test_position_features_count_runs_ending_at_each_character():
    assert run_length("ab\ncd e", lambda c: c != "\n").tolist() == [1, 2, 0, 1, 2, 3, 4]
    assert run_length("ab cd1e", str.isalpha).tolist() == [1, 2, 0, 1, 2, 0, 1]


def test_average_ranks_share_ties():
    assert average_ranks(np.array([3.0, 1.0, 3.0, 2.0]))[:, 0].tolist() == [2.5, 0.0, 2.5, 1.0]


def test_a_planted_quote_unit_is_ranked_first_with_its_sign():
    text = feature_text(800)
    rng = np.random.default_rng(0)
    states = [rng.uniform(-1, 1, (len(text), 32)) for _ in range(2)]
    states[1][:, 7] = -0.8 * inside_quotes(text) + 0.1 * rng.standard_normal(len(text))
    ranking = next(r for r in rank_units(text, states) if r.feature == "inside quotes")
    layer, unit, r = ranking.units[0]
    assert (layer, unit) == (1, 7) and r < -0.9
    assert all(abs(other) < 0.3 for _, _, other in ranking.units[1:])


def test_features_with_too_few_positive_positions_are_skipped_with_the_reason():
    text = "no digits in this line at all\n" * 10
    states = [np.random.default_rng(0).random((len(text), 4))]
    ranking = next(r for r in rank_units(text, states) if r.feature == "digit")
    assert ranking.units == [] and "0 of 300" in ranking.skipped


@pytest.fixture(scope="module")
def viewed(tmp_path_factory):
    """A small model, the page it gives on a feature-rich text, and the data read back from the page."""
    path = tmp_path_factory.mktemp("viewer") / "model.pt"
    text = feature_text(500)
    model = save_model(path, text)
    vocab = CharVocab.from_text(text)
    html = render_page(build_view_data(model, vocab, text, units=None, meta={
        "checkpoint": str(path), "source": "feature text", "source_length": len(text), "start": 0}))
    return model, vocab, text, html, page_data(html)


def test_activations_read_back_from_the_page_equal_the_models_within_the_quantisation_step(viewed):
    model, vocab, text, _, data = viewed
    states = run_model(model, vocab.encode(text)).states
    for layer, expected in zip(data["layers"], states):
        decoded = np.frombuffer(base64.b64decode(layer["activations"]), np.int8).reshape(len(layer["units"]), -1) / 127
        np.testing.assert_allclose(decoded, expected[:, layer["units"]].T, rtol=0, atol=0.5 / 127 + 1e-6)


def test_top_five_and_surprisal_read_back_from_the_page_equal_the_models(viewed):
    model, vocab, text, _, data = viewed
    ids = vocab.encode(text)
    with torch.no_grad():
        probs = torch.softmax(model.eval()(ids[None])[0][0], dim=-1)
    top_probs, top_ids = probs.topk(5, dim=-1)
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(data["top_ids"]), np.uint8).reshape(-1, 5), top_ids)
    page_probs = np.frombuffer(base64.b64decode(data["top_probs"]), np.uint8).reshape(-1, 5) / 255
    np.testing.assert_allclose(page_probs, top_probs, rtol=0, atol=0.5 / 255 + 1e-6)
    bits = np.frombuffer(base64.b64decode(data["surprisal"]), np.float32)
    expected = -torch.log2(probs[torch.arange(len(ids) - 1), ids[1:]]).numpy()
    np.testing.assert_allclose(bits[:-1], expected, rtol=1e-5)
    assert np.isnan(bits[-1])
    assert data["meta"]["mean_bpc"] == pytest.approx(float(expected.mean()), rel=1e-5)


def test_the_page_holds_the_text_and_no_web_references(viewed):
    _, _, text, html, data = viewed
    assert data["text"] == text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html


def test_text_that_could_end_the_data_block_is_escaped(tmp_path):
    text = 'a </script><script>alert(1)</script> "b" ' * 5
    model = save_model(tmp_path / "m.pt", text)
    html = render_page(build_view_data(model, CharVocab.from_text(text), text, 4, meta={
        "checkpoint": "m.pt", "source": "x", "source_length": len(text), "start": 0}))
    assert html.count("</script>") == 2  # the data block's and the script's own
    assert page_data(html)["text"] == text


def test_units_named_by_a_ranking_are_embedded_then_the_most_variable_ones(viewed):
    model, vocab, text, _, _ = viewed
    data = build_view_data(model, vocab, text, units=3, meta={"checkpoint": "", "source": "", "source_length": 0,
                                                                "start": 0})
    named = {(layer, unit) for ranking in data["rankings"] for layer, unit, _ in ranking["units"]}
    for layer, content in enumerate(data["layers"]):
        assert {unit for named_layer, unit in named if named_layer == layer} <= set(content["units"])
        assert len(content["units"]) >= 3


def test_characters_outside_the_vocabulary_are_shown_and_marked(tmp_path):
    text = feature_text(200)
    model = save_model(tmp_path / "m.pt", text)
    shown = text[:50] + "é~" + text[50:]
    data = build_view_data(model, CharVocab.from_text(text), shown, 8, meta={
        "checkpoint": "m.pt", "source": "x", "source_length": len(shown), "start": 0})
    assert data["text"] == shown and data["unknown"] == [50, 51]


@pytest.mark.parametrize("units, budget", [("64", 1_000_000), ("all", 6_000_000)])
def test_a_two_by_1024_model_on_2000_characters_fits_the_size_budget(tmp_path, units, budget):
    text = feature_text(2000)
    save_model(tmp_path / "big.pt", text, hidden_size=1024)
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    result = run("visualize.py", "--checkpoint", "big.pt", "--text-file", "text.txt", "--units", units, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    size = (tmp_path / "viewer.html").stat().st_size
    assert size <= budget, size


@pytest.mark.parametrize("case, fragment", [
    ("missing checkpoint", "checkpoint not found"),
    ("corrupt checkpoint", "model.pt"),
    ("empty text", "is empty"),
    ("start past the end", "past the end"),
    ("not UTF-8", "not UTF-8"),
])
def test_bad_input_is_a_one_line_error(tmp_path, case, fragment):
    text = feature_text(300)
    save_model(tmp_path / "model.pt", text)
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    args = {"missing checkpoint": ["--checkpoint", "nowhere.pt", "--text-file", "text.txt"],
            "corrupt checkpoint": ["--checkpoint", "model.pt", "--text-file", "text.txt"],
            "empty text": ["--checkpoint", "model.pt", "--text-file", "empty.txt"],
            "start past the end": ["--checkpoint", "model.pt", "--text-file", "text.txt", "--start", "300"],
            "not UTF-8": ["--checkpoint", "model.pt", "--text-file", "latin1.txt"]}[case]
    if case == "corrupt checkpoint":
        (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert_one_line_error(run("visualize.py", *args, cwd=tmp_path), fragment)
