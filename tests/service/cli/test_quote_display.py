"""How the command line shows a citation's quote."""

from __future__ import annotations

from service.cli.commands import shown_quote


def test_a_quote_is_shown_in_quotation_marks() -> None:
    assert shown_quote("Russia held drills.") == "“Russia held drills.”"
    assert shown_quote("According to him, “we don’t want fighters.”") == "“According to him, “we don’t want fighters.””"


def test_a_quote_opening_with_its_own_quotation_mark_is_shown_as_it_is() -> None:
    said = "“There may be millions of refugees,” Putin has claimed."
    assert shown_quote(said) == said
    assert shown_quote('"No," he said.') == '"No," he said.'
