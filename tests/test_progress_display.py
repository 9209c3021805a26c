"""The in-epoch progress display: a bar on a terminal, plain lines in a log file."""

from src.train.progress_display import EpochProgress


def run_ten_steps(progress: EpochProgress) -> None:
    """Ten steps, with a `--log-interval` of 5."""
    for step in range(1, 11):
        progress.step_done(running_loss=2.5, chars_per_s=1234.0)
        if step % 5 == 0:
            progress.logged(step, loss=2.5, lr=1e-3, chars_per_s=1234.0)
    progress.close()


def test_a_log_file_gets_a_plain_line_at_each_logged_step_and_no_bar(capsys):
    run_ten_steps(EpochProgress(10, 0, "epoch 1/3", enabled=True, live=False))
    out, err = capsys.readouterr()
    assert out.splitlines() == ["  epoch 1/3 | step 5/10 | train 2.5000 | lr 1.00e-03 | 1,234 chars/s",
                                "  epoch 1/3 | step 10/10 | train 2.5000 | lr 1.00e-03 | 1,234 chars/s"]
    assert err == ""


def test_a_terminal_gets_the_bar_and_no_plain_lines(capsys):
    run_ten_steps(EpochProgress(10, 0, "epoch 1/3", enabled=True, live=True))
    out, err = capsys.readouterr()
    assert out == ""
    assert "epoch 1/3" in err and "\r" in err


def test_messages_go_to_the_log_in_both_modes(capsys):
    for live in (False, True):
        progress = EpochProgress(10, 0, "epoch 1/3", enabled=True, live=live)
        progress.write("saved last.pt")
        progress.close()
    assert capsys.readouterr().out.count("saved last.pt\n") == 2


def test_a_process_other_than_rank_0_shows_nothing(capsys):
    progress = EpochProgress(10, 0, "epoch 1/3", enabled=False, live=False)
    progress.write("saved last.pt")
    run_ten_steps(progress)
    assert capsys.readouterr() == ("", "")
