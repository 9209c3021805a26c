"""Sliding windows: targets are inputs shifted by one, stride spaces the windows, order is seeded."""

import pytest
import torch

from src.data.dataset import StreamDataset, WindowDataset
from src.errors import UserError


def test_targets_are_the_inputs_shifted_by_one_character():
    ids = torch.arange(20)
    inputs, targets = WindowDataset(ids, seq_len=5, stride=5)[1]
    assert inputs.tolist() == [5, 6, 7, 8, 9]
    assert targets.tolist() == [6, 7, 8, 9, 10]


def test_default_stride_equal_to_seq_len_tiles_the_text_without_overlap():
    data = WindowDataset(torch.arange(21), seq_len=5, stride=5)
    assert len(data) == 4  # windows need seq_len + 1 ids: starts 0, 5, 10, 15
    assert [data[i][0][0].item() for i in range(len(data))] == [0, 5, 10, 15]


def test_smaller_stride_gives_overlapping_windows():
    data = WindowDataset(torch.arange(12), seq_len=5, stride=2)
    assert [data[i][0][0].item() for i in range(len(data))] == [0, 2, 4, 6]
    assert data[3][1].tolist() == [7, 8, 9, 10, 11]


def test_corpus_shorter_than_one_window_is_a_clear_error():
    with pytest.raises(UserError, match="fewer than one window"):
        WindowDataset(torch.arange(5), seq_len=5, stride=5)


def test_an_epoch_visits_every_window_exactly_once():
    data = WindowDataset(torch.arange(101), seq_len=4, stride=4)
    starts = [x[:, 0] for x, _ in data.batches(batch_size=7, epoch_seed=0)]
    assert sorted(torch.cat(starts).tolist()) == list(range(0, 100, 4))
    assert len(starts) == data.num_batches(7) == 4


def test_batch_order_is_fixed_by_the_epoch_seed_and_differs_between_epochs():
    data = WindowDataset(torch.arange(401), seq_len=4, stride=4)
    first = [x for x, _ in data.batches(8, epoch_seed=1)]
    again = [x for x, _ in data.batches(8, epoch_seed=1)]
    other = [x for x, _ in data.batches(8, epoch_seed=2)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


def test_start_batch_skips_exactly_the_batches_already_trained_on():
    data = WindowDataset(torch.arange(401), seq_len=4, stride=4)
    full = [x for x, _ in data.batches(8, epoch_seed=3)]
    rest = [x for x, _ in data.batches(8, epoch_seed=3, start_batch=5)]
    assert len(rest) == len(full) - 5
    assert all(torch.equal(a, b) for a, b in zip(full[5:], rest))


def test_shifted_windows_start_at_one_offset_from_the_grid_per_epoch():
    data = WindowDataset(torch.arange(1010), seq_len=10, stride=10, shift=True)  # room for any offset
    offsets = set()
    for epoch in range(8):
        starts = torch.cat([x[:, 0] for x, _ in data.batches(16, epoch_seed=epoch)])
        assert len(set((starts % 10).tolist())) == 1  # one offset for the whole epoch (none was moved back)
        offsets.add(int(starts[0]) % 10)
    assert len(offsets) > 1  # and another one in another epoch


def test_shifting_keeps_the_number_of_windows_and_batches():
    data = WindowDataset(torch.arange(1001), seq_len=10, stride=10, shift=True)
    for epoch in range(8):
        batches = [x for x, _ in data.batches(16, epoch_seed=epoch)]
        assert len(batches) == data.num_batches(16)
        assert sum(len(x) for x in batches) == len(data)


def test_a_shifted_window_past_the_end_is_moved_back_to_the_last_start_that_fits():
    ids = torch.arange(100)  # 9 windows of 11 ids at 0, 11, ..., 88: one id to spare after the last
    data = WindowDataset(ids, seq_len=10, stride=11, shift=True)
    moved_back = 0
    for epoch in range(20):
        inputs = torch.cat([x for x, _ in data.batches(4, epoch_seed=epoch)])
        assert inputs.shape == (9, 10) and inputs[:, 0].max().item() <= 89  # every window fits in the text
        assert torch.equal(inputs, inputs[:, :1] + torch.arange(10))  # and is contiguous
        offsets = (inputs[:, 0] % 11).unique()
        moved_back += len(offsets) > 1  # offset >= 2: the last window starts at 89 instead
    assert moved_back > 0


def test_a_resumed_shifted_epoch_skips_exactly_the_batches_already_trained_on():
    data = WindowDataset(torch.arange(401), seq_len=4, stride=4, shift=True)
    full = [x for x, _ in data.batches(8, epoch_seed=3)]
    rest = [x for x, _ in data.batches(8, epoch_seed=3, start_batch=5)]
    assert all(torch.equal(a, b) for a, b in zip(full[5:], rest, strict=True))


def test_stream_batches_continue_each_row_where_the_previous_batch_stopped():
    data = StreamDataset(torch.arange(41), seq_len=4, streams=2)  # 40 targets -> 2 streams of 20
    batches = list(data.batches(batch_size=2, epoch_seed=0))
    assert len(batches) == data.num_batches(2) == 5
    first, second = batches[0], batches[1]
    assert first[0].tolist() == [[0, 1, 2, 3], [20, 21, 22, 23]]
    assert second[0].tolist() == [[4, 5, 6, 7], [24, 25, 26, 27]]
    assert first[1].tolist() == [[1, 2, 3, 4], [21, 22, 23, 24]]


def test_stream_epoch_covers_every_position_once_and_can_start_midway():
    data = StreamDataset(torch.arange(103), seq_len=7, streams=3)
    inputs = torch.cat([x for x, _ in data.batches(3, epoch_seed=0)], dim=1)
    assert inputs.flatten().tolist() == list(range(102))
    rest = list(data.batches(3, epoch_seed=0, start_batch=2))
    assert torch.equal(rest[0][0], list(data.batches(3, epoch_seed=0))[2][0])


def test_more_streams_than_characters_is_a_clear_error():
    with pytest.raises(UserError, match="too few"):
        StreamDataset(torch.arange(5), seq_len=4, streams=8)
