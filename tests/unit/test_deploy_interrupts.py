"""SIGINT and SIGTERM in the deploy's main thread (deploy/interrupts.py), sent to this process."""

from __future__ import annotations

import os
import signal

import pytest

from deploy.interrupts import Interrupted, Interrupts
from deploy.outcome import Kept, describe


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_either_signal_raises_interrupted_then_the_old_handler_is_back(signum: int) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(Interrupted) as caught, Interrupts(print).raising():
        os.kill(os.getpid(), signum)
    assert describe(caught.value) == f"interrupted by {signal.Signals(signum).name}"
    assert signal.getsignal(signum) is before


def test_a_signal_while_shielded_is_noted_and_the_record_is_finished() -> None:
    notes: list[str] = []
    interrupts = Interrupts(notes.append)
    written = []
    with interrupts.raising():
        with interrupts.shielded():
            os.kill(os.getpid(), signal.SIGTERM)
            written.append("history")
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGTERM)
    assert written == ["history"]
    assert notes == ["SIGTERM received while recording the outcome: finishing the record first"]


def test_an_unexpected_exception_is_named_by_its_type_too() -> None:
    assert describe(OSError("Socket is closed")) == "OSError: Socket is closed"
    assert describe(KeyboardInterrupt()) == "interrupted by SIGINT (Ctrl-C)"


def test_an_unreadable_kept_file_still_keeps_the_lock_with_a_reason() -> None:
    kept = Kept.parse("{half a line")
    assert "unreadable" in kept.describe()
