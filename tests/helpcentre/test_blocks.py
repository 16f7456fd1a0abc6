from __future__ import annotations

from helpcentre.blocks import LIST, PARAGRAPH, TABLE, article_sections, block_text, pointers_removed, row_text

BODY = """Prices include GST. See below.

| Size | Ergo 6" | Ergo 8" |
|---|---|---|
| Queen (78×60) | ₹16,999 | ₹20,499 |
| King (78×72) | ₹19,999 | ₹23,999 |

## How to order

1. Choose **Custom size**.
2. Enter the length.

## Good to know

- Made to order: see *Tracking your order*.
"""


def test_body_is_read_into_sections_of_paragraphs_tables_and_lists() -> None:
    lead, order, good = article_sections(BODY)
    assert (lead.heading, order.heading, good.heading) == ("", "How to order", "Good to know")
    assert [block.kind for block in lead.blocks] == [PARAGRAPH, TABLE]
    assert lead.blocks[0].items == ("Prices include GST.", "See below.")
    table = lead.blocks[1]
    assert table.header == ("Size", "Ergo 6 inch", "Ergo 8 inch")  # 8" reads as 8 inch
    assert table.rows[0] == ("Queen (78×60)", "₹16,999", "₹20,499")
    steps = order.blocks[0]
    assert steps.kind == LIST and steps.ordered and steps.numbers == (1, 2)
    assert steps.items[0] == "Choose Custom size."  # emphasis gone


def test_a_row_reads_as_a_line_with_its_column_names() -> None:
    table = article_sections(BODY)[0].blocks[1]
    assert (
        row_text(header=table.header, row=table.rows[0])
        == "Queen (78×60) — Ergo 6 inch: ₹16,999 · Ergo 8 inch: ₹20,499"
    )
    assert row_text(header=table.header, row=table.rows[0], columns=(2,)) == "Queen (78×60), Ergo 8 inch: ₹20,499"


def test_lists_keep_their_numbers_or_bullets() -> None:
    order, good = article_sections(BODY)[1:]
    assert block_text(order.blocks[0]) == "1. Choose Custom size.\n2. Enter the length."
    assert block_text(order.blocks[0], items=(1,)) == "2. Enter the length."
    assert block_text(good.blocks[0]) == "- Made to order: see Tracking your order."


def test_pointers_to_other_articles_can_be_left_out() -> None:
    assert pointers_removed(BODY).count("Tracking your order") == 0
    assert "Made to order:" in pointers_removed(BODY)
