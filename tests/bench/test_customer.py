"""What the customer-felt benchmark reads from the frames a widget receives."""

from __future__ import annotations

from bench.customer import Answer, _frame_take, percentile


def _answer_with_tokens(stamps: list[tuple[int, int, int]]) -> Answer:
    answer = Answer(sent_ns=1_000_000_000)
    for index, model_ns, received_ns in stamps:
        frame = {"type": "token", "text": f"{index}@{model_ns} "}
        _frame_take(answer, frame, received_ns=received_ns, chunks=3, mark=None)
    return answer


def test_times_are_measured_from_the_send_and_from_the_model_stamps() -> None:
    answer = _answer_with_tokens([(0, 1_004_000_000, 1_005_000_000), (1, 1_024_000_000, 1_027_000_000)])
    _frame_take(answer, {"type": "typing"}, received_ns=1_002_000_000, chunks=3, mark=None)

    assert answer.since_sent_ms(answer.typing_ns) == 2.0
    assert answer.first_token_ms == 5.0
    assert answer.model_request_ms == 4.0  # the model stamped its first chunk 4 ms after the send
    assert answer.model_to_widget_ms == 1.0
    assert answer.gap_stretches_ms == [2.0]  # 22 ms between frames for a 20 ms gap at the model


def test_lost_and_doubled_tokens_are_counted_by_model_index() -> None:
    answer = _answer_with_tokens([(0, 1, 2), (2, 3, 4), (2, 3, 5)])

    assert answer.lost(3) == 1
    assert answer.doubled == 1


def test_the_stored_answer_ends_the_ask_and_is_compared_with_what_streamed() -> None:
    answer = _answer_with_tokens([(0, 1, 2), (1, 3, 4)])
    marks: list[str] = []

    done = _frame_take(
        answer,
        {"type": "message", "role": "assistant", "text": "0@1 1@3 "},
        received_ns=9,
        chunks=2,
        mark=lambda name, _answer: marks.append(name),
    )

    assert done and answer.stored_ns == 9 and not answer.stored_mismatch
    assert marks == ["stored"]


def test_a_handoff_instead_of_an_answer_is_a_failure() -> None:
    answer = Answer(sent_ns=1)

    done = _frame_take(
        answer,
        {"type": "message", "role": "system", "text": "…", "data": {"event": "handoff_requested"}},
        received_ns=2,
        chunks=2,
        mark=None,
    )

    assert done and answer.error == "handed off (handoff_requested)"


def test_percentile_is_inclusive_and_nan_without_values() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 99) != percentile([], 99)
