"""The reader's thresholds come from FOOTNOTE_* variables, within their bounds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.answering.config import AnsweringConfig
from service.answering.reader import ReaderSettings


def test_the_confirmation_threshold_reaches_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AnsweringConfig().reader_settings().confirm_threshold == ReaderSettings().confirm_threshold
    monkeypatch.setenv("FOOTNOTE_CONFIRM_THRESHOLD", "0.55")
    assert AnsweringConfig().reader_settings().confirm_threshold == 0.55
    monkeypatch.setenv("FOOTNOTE_CONFIRM_THRESHOLD", "1.5")
    with pytest.raises(ValidationError, match="confirm_threshold"):
        AnsweringConfig()
