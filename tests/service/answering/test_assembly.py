"""Where an answer's citation markers go."""

from __future__ import annotations

from service.answering.assembly import _with_markers


def test_the_marker_goes_before_the_closing_full_stop() -> None:
    assert _with_markers("Russia held drills.", [1]) == "Russia held drills [1]."
    assert _with_markers("Did Russia hold drills?!", [1, 2]) == "Did Russia hold drills [1][2]?!"
    assert _with_markers("Russia held drills", [3]) == "Russia held drills [3]"


def test_the_marker_stays_outside_a_closing_quotation_mark_or_bracket() -> None:
    said = "According to him, “we don’t want fighters disguised as refugees turning up in Russia.”"
    assert _with_markers(said, [2]) == f"{said} [2]"
    assert _with_markers('He said "no."', [1]) == 'He said "no." [1]'
    assert _with_markers("Talks went on (in Doha.)", [1]) == "Talks went on (in Doha.) [1]"
