from __future__ import annotations

from helpcentre.passages import passage_select


def _rare(stem: str) -> float:
    return 2.0


def test_passage_is_the_matching_section_not_the_whole_article() -> None:
    body = "Ten years.\n\n## Claims\n\nSend photos of the dent."
    passage = passage_select(body=body, title="Warranty", query="how do I make a claim with photos", idf=_rare)
    assert "Send photos" in passage
    assert "Ten years" not in passage
