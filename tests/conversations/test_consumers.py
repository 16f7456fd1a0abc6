from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.core import signing

from conversations.models import Attachment, Conversation, Message
from helpcentre.models import Article
from helpcentre.selectors import answer_compose
from helpcentre.services import demo_helpcentre_load
from routing.models import LedgerEntry
from routing.pricing import cost_for_usage
from routing.providers.base import Usage
from routing.selectors import tier_catalogue
from routing.tiers import TierName
from tests.conftest import frames_until, widget_communicator

pytestmark = pytest.mark.django_db(transaction=True)


def is_answer(frame: dict) -> bool:
    return frame["type"] == "message" and frame["role"] == "assistant"


async def test_question_streams_token_by_token_then_is_saved_once_with_usage_and_cost(widget, llm):
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "c-1"})
    frames = await frames_until(widget, is_answer)

    tokens = [f for f in frames if f["type"] == "token"]
    answer = frames[-1]
    assert len(tokens) == llm.chunks
    assert [t["i"] for t in tokens] == list(range(1, llm.chunks + 1))
    assert "".join(t["text"] for t in tokens) == answer["text"] == llm.text
    assert frames[0]["type"] == "message" and frames[0]["role"] == "customer" and frames[0]["client_id"] == "c-1"
    assert any(f["type"] == "typing" for f in frames)

    stored = await database_sync_to_async(lambda: list(Message.objects.filter(role="assistant")))()
    assert len(stored) == 1
    message = stored[0]
    assert message.seq == answer["seq"] == frames[0]["seq"] + 1
    # The provider reported its usage: the stored figures are exactly those, and priced with the tier.
    assert (message.input_tokens, message.output_tokens, message.usage_estimated) == (100, llm.chunks, False)
    tier = (await database_sync_to_async(tier_catalogue)())[TierName(message.tier)]
    expected = cost_for_usage(
        tier=tier, usage=Usage(input_tokens=100, cached_input_tokens=0, output_tokens=llm.chunks, estimated=False)
    )
    assert message.cost == expected > Decimal("0")
    conversation = await database_sync_to_async(Conversation.objects.get)()
    ledger_total = await database_sync_to_async(lambda: sum(e.cost for e in LedgerEntry.objects.all()))()
    assert conversation.total_cost == ledger_total == expected


async def test_typing_names_the_tier_that_answers_when_the_planned_one_refuses_before_any_text(widget, llm):
    from bench.openai_server import Fault

    instant = (await database_sync_to_async(tier_catalogue)())[TierName.INSTANT].model
    llm.script(Fault.http_error(status=404), model=instant)  # no such model: the next tier answers at once

    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "c-1"})
    frames = await frames_until(widget, is_answer)

    typing = [(f["tier"], f["reason"]) for f in frames if f["type"] == "typing"]
    answer = frames[-1]
    assert typing[0][0] == "instant" and len(typing) == 2
    assert typing[1] == (answer["tier"], "instant unavailable") and answer["tier"] != "instant"
    # The switch came before any token, and no failover notice was needed.
    kinds = [f["type"] for f in frames]
    assert kinds.index("typing", kinds.index("typing") + 1) < kinds.index("token")
    assert "notice" not in kinds


async def test_the_question_is_shown_before_anything_about_its_answer_however_late_the_broadcast(
    widget, llm, monkeypatch
):
    """The broadcast of a stored message goes through the channel layer; under load it comes after the
    answer's typing frame, and the widget showed the answer above the question."""
    from conversations.consumers import WidgetConsumer

    deliver = WidgetConsumer.conversation_event

    async def late(self, event):
        await asyncio.sleep(2.0)  # longer than the first answer takes to start
        await deliver(self, event)

    monkeypatch.setattr(WidgetConsumer, "conversation_event", late)
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "c-1"})
    frames = await frames_until(widget, is_answer)

    assert frames[0]["type"] == "message" and frames[0]["client_id"] == "c-1"
    assert [frame["seq"] for frame in frames if frame["type"] == "message"] == [1, 2]  # each once, in order


async def test_a_message_whose_socket_is_gone_before_it_is_acknowledged_is_still_answered(
    widget, llm, monkeypatch, caplog
):
    """A tab closed right after sending: telling the sender fails (the ASGI server's ClientDisconnected), and the
    stored question was left unanswered until the customer came back."""
    from conversations.consumers import WidgetConsumer

    deliver = WidgetConsumer._deliver

    async def gone(self, frame):
        monkeypatch.setattr(WidgetConsumer, "_deliver", deliver)
        raise OSError("client disconnected")

    monkeypatch.setattr(WidgetConsumer, "_deliver", gone)
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "c-1"})

    async def answered() -> list[Message]:
        while True:
            stored = await database_sync_to_async(lambda: list(Message.objects.filter(role="assistant")))()
            if stored:
                return stored
            await asyncio.sleep(0.05)

    stored = await asyncio.wait_for(answered(), timeout=10)
    assert len(stored) == 1 and stored[0].text == llm.text and stored[0].reply_to_seq == 1
    # A closed tab is no failure of ours: no error logged (and no error frame tried on the gone socket).
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


async def test_questions_sent_while_an_answer_streams_are_each_answered_in_turn(widget, llm):
    llm.interval_ms = 10
    questions = [
        "When will it arrive?",
        "Is there a warranty?",
        "Can I pay cash on delivery?",
        "How long is the trial?",
    ]
    for number, text in enumerate(questions):
        await widget.send_json_to({"type": "message", "text": text, "client_id": f"q{number}"})
        await asyncio.sleep(0.05)
    answers: list[dict] = []
    customer: dict[str, int] = {}
    while len(answers) < len(questions):
        for frame in await frames_until(widget, is_answer, timeout=10):
            if frame["type"] == "message" and frame["role"] == "customer":
                customer[frame["client_id"]] = frame["seq"]
            elif is_answer(frame):
                answers.append(frame)

    assert [answer["reply_to"] for answer in answers] == [customer[f"q{number}"] for number in range(4)]
    assert len(llm.requests) == 4 and await widget.receive_nothing(timeout=0.3)


# A lone surrogate or a NUL in the token is no reason to answer otherwise: it opens nothing either.
@pytest.mark.parametrize("token", ["forged.token.value", "\ud800", "caf\u00e9:1:sig", "a\u0000b"])
async def test_invalid_token_is_refused_with_4401(token):
    communicator = widget_communicator()
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "hello", "token": token})
    error = await communicator.receive_json_from()
    assert error == {
        "type": "error",
        "code": "unauthorized",
        "message": "The visitor token is invalid, expired or revoked.",
    }
    assert (await communicator.receive_output())["code"] == 4401


@pytest.mark.parametrize("origin", ["https://evil.example", "null", None])
async def test_socket_from_an_origin_not_on_the_allow_list_is_refused(origin):
    communicator = widget_communicator(origin=origin)
    connected, _ = await communicator.connect()
    assert not connected


async def test_frames_before_hello_are_refused_and_socket_stays_usable(customer_session):
    _, token = customer_session
    communicator = widget_communicator()
    await communicator.connect()
    await communicator.send_json_to({"type": "message", "text": "hi"})
    assert (await communicator.receive_json_from())["code"] == "not_ready"
    await communicator.send_to(text_data="{not json")
    assert (await communicator.receive_json_from())["code"] == "bad_json"
    await communicator.send_json_to({"type": "hello", "token": token})
    assert (await communicator.receive_json_from())["type"] == "ready"
    await communicator.disconnect()


async def test_reconnect_replays_everything_after_last_seq_once(customer_session, llm):
    _, token = customer_session
    first = widget_communicator()
    await first.connect()
    await first.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    await first.receive_json_from()
    await first.send_json_to({"type": "message", "text": "What sizes do you sell?", "client_id": "a"})
    frames = await frames_until(first, is_answer)
    question_seq = frames[0]["seq"]
    await first.disconnect()

    second = widget_communicator()
    await second.connect()
    await second.send_json_to({"type": "hello", "token": token, "last_seq": question_seq})
    ready = await second.receive_json_from()
    replayed = await second.receive_json_from()
    assert ready["last_seq"] == frames[-1]["seq"]
    assert replayed["seq"] == frames[-1]["seq"] and replayed["text"] == frames[-1]["text"]
    assert await second.receive_nothing(timeout=0.2)
    await second.disconnect()


async def test_resent_message_with_the_same_client_id_is_stored_and_answered_once(widget, llm):
    await widget.send_json_to({"type": "message", "text": "Do you deliver to 560001?", "client_id": "same"})
    stored = (await frames_until(widget, lambda f: f.get("client_id") == "same"))[-1]
    await frames_until(widget, is_answer)
    await widget.send_json_to({"type": "message", "text": "Do you deliver to 560001?", "client_id": "same"})
    # Acknowledged again with the stored message (protocol.md: "the server re-acknowledges"), never answered again.
    assert await widget.receive_json_from() == stored
    assert await widget.receive_nothing(timeout=0.3)
    counts = await database_sync_to_async(
        lambda: (Message.objects.filter(role="customer").count(), Message.objects.filter(role="assistant").count())
    )()
    assert counts == (1, 1)
    assert len(llm.requests) == 1


async def test_a_different_message_under_a_used_client_id_is_refused_not_swallowed(widget, llm):
    await widget.send_json_to({"type": "message", "text": "Do you deliver to 560001?", "client_id": "same"})
    await frames_until(widget, is_answer)
    await widget.send_json_to({"type": "message", "text": "And to 110001?", "client_id": "same"})
    refused = await widget.receive_json_from()
    assert refused["type"] == "error" and refused["code"] == "client_id_used" and refused["client_id"] == "same"
    texts = await database_sync_to_async(
        lambda: list(Message.objects.filter(role="customer").values_list("text", flat=True))
    )()
    assert texts == ["Do you deliver to 560001?"]
    # Sent again under a new id, it is stored and answered.
    await widget.send_json_to({"type": "message", "text": "And to 110001?", "client_id": "other"})
    await frames_until(widget, is_answer)
    assert len(llm.requests) == 2


async def test_a_socket_opened_mid_answer_gets_ready_first_then_the_answer_so_far_then_the_rest(
    customer_session, widget, llm, monkeypatch
):
    from conversations import consumers

    llm.interval_ms = 20
    resume = consumers._resume_state

    def slow_resume(**kwargs):
        time.sleep(0.3)  # the replay is read while the answer keeps streaming
        return resume(**kwargs)

    monkeypatch.setattr(consumers, "_resume_state", slow_resume)
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "c-1"})
    await frames_until(widget, lambda f: f["type"] == "token")
    second = widget_communicator()
    await second.connect()
    await second.send_json_to({"type": "hello", "token": customer_session[1], "last_seq": 0})
    frames = await frames_until(second, is_answer)

    assert frames[0]["type"] == "ready"
    stream = next(index for index, frame in enumerate(frames) if frame["type"] == "stream")
    assert all(frame["type"] != "token" for frame in frames[:stream])
    # The snapshot and the tokens after it rebuild the stored answer exactly.
    text, last = frames[stream]["text"], frames[stream]["i"]
    for frame in frames[stream + 1 :]:
        if frame["type"] == "token" and frame["i"] > last:
            text, last = text + frame["text"], frame["i"]
    assert text == frames[-1]["text"]
    await second.disconnect()


async def test_another_tab_busy_with_its_own_frame_gets_the_question_before_its_draft(
    customer_session, widget, llm, monkeypatch
):
    """Tab B sends something as tab A asks: the question's doorbell waits behind B's own frame, while the
    draft goes to B's socket directly. B must still see the question first, then the draft so far."""
    from conversations import consumers

    llm.interval_ms = 50  # the answer streams for about 3 s
    second = widget_communicator()
    await second.connect()
    await second.send_json_to({"type": "hello", "token": customer_session[1], "last_seq": 0})
    assert (await second.receive_json_from())["type"] == "ready"
    busy = consumers.WidgetConsumer.on_composing
    await widget.send_json_to({"type": "message", "text": "Hello there, a first question", "client_id": "c-0"})
    await frames_until(second, is_answer, timeout=15)  # the slow first steps (models loading) are behind us

    async def slow_composing(self, frame):
        await asyncio.sleep(1.5)  # B's consumer works on its own frame meanwhile
        await busy(self, frame)

    monkeypatch.setitem(consumers.WidgetConsumer.HANDLERS, consumers.Frame.COMPOSING, slow_composing)
    await second.send_json_to({"type": "composing"})
    await asyncio.sleep(0.05)
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "c-1"})
    frames = await frames_until(second, lambda f: is_answer(f) and f["reply_to"] == 3, timeout=15)

    question = next(i for i, f in enumerate(frames) if f["type"] == "message" and f["seq"] == 3)
    drafts = [i for i, f in enumerate(frames) if f["type"] in ("typing", "token", "stream")]
    assert drafts and question < drafts[0], [f["type"] for f in frames]
    text, last = "", 0
    for frame in frames:
        if frame["type"] == "stream":
            text, last = frame["text"], frame["i"]
        elif frame["type"] == "token" and frame["i"] == last + 1:
            text, last = text + frame["text"], frame["i"]
    assert text == frames[-1]["text"] == llm.text
    await second.disconnect()


async def test_a_socket_opened_after_a_backup_took_over_mid_answer_is_told_its_tier_and_the_notice(
    customer_session, widget, llm
):
    from bench.openai_server import Fault

    instant = (await database_sync_to_async(tier_catalogue)())[TierName.INSTANT].model
    llm.interval_ms = 30
    llm.script(Fault.cut(after_chunks=3), model=instant)
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "c-1"})
    seen = await frames_until(widget, lambda f: f["type"] == "notice")
    assert [f["tier"] for f in seen if f["type"] == "typing"] == ["instant"]

    second = widget_communicator()
    await second.connect()
    await second.send_json_to({"type": "hello", "token": customer_session[1], "last_seq": 0})
    frames = await frames_until(second, is_answer)

    kinds = [frame["type"] for frame in frames]
    stream = kinds.index("stream")
    answer = frames[-1]
    assert answer["tier"] != "instant" and answer["fell_back"] is True
    # Before the snapshot, the tier writing now (the backup's); after it, the notice the first socket saw.
    assert [f["tier"] for f in frames[:stream] if f["type"] == "typing"] == [answer["tier"]]
    assert kinds.index("notice") > stream
    await second.disconnect()


async def test_answer_is_saved_when_the_customer_drops_mid_answer_and_replayed_on_reconnect(customer_session, llm):
    llm.interval_ms = 30  # long enough to drop the socket mid-stream
    _, token = customer_session
    first = widget_communicator()
    await first.connect()
    await first.send_json_to({"type": "hello", "token": token})
    await first.receive_json_from()
    await first.send_json_to({"type": "message", "text": "How long is the warranty?", "client_id": "w"})
    await frames_until(first, lambda f: f["type"] == "token")
    await first.disconnect()

    for _ in range(100):
        if await database_sync_to_async(Message.objects.filter(role="assistant").exists)():
            break
        await asyncio.sleep(0.05)
    second = widget_communicator()
    await second.connect()
    await second.send_json_to({"type": "hello", "token": token, "last_seq": 1})
    await second.receive_json_from()
    replayed = await second.receive_json_from()
    assert replayed["role"] == "assistant" and replayed["text"] == llm.text
    assert await database_sync_to_async(Message.objects.filter(role="assistant").count)() == 1
    await second.disconnect()


async def test_message_over_the_length_cap_is_refused_before_any_model_call(widget, llm, settings):
    too_long = "x" * (settings.SUPPORTBOT_MAX_MESSAGE_CHARS + 1)
    await widget.send_json_to({"type": "message", "text": too_long, "client_id": "long"})
    error = await widget.receive_json_from()
    assert (error["code"], error["client_id"]) == ("message_too_long", "long")  # named, so it is not re-sent
    assert llm.requests == []
    assert not await database_sync_to_async(Message.objects.exists)()


async def test_an_open_socket_is_closed_when_its_token_expires(customer_session, settings):
    _, token = customer_session
    issued_at = signing.b62_decode(token.rsplit(":", 2)[-2])
    # The token has about a second to live from now.
    settings.SUPPORTBOT_VISITOR_TOKEN_MAX_AGE_S = int(time.time()) - issued_at + 2
    widget = widget_communicator()
    await widget.connect()
    await widget.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    assert (await widget.receive_json_from())["type"] == "ready"
    await widget.send_json_to({"type": "ping"})
    assert (await widget.receive_json_from())["type"] == "pong"
    refused = await widget.receive_json_from(timeout=5)
    assert refused["code"] == "token_expired"
    assert await widget.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}


async def test_a_waiting_customer_hears_their_queue_position_once_per_change(widget, customer_session):
    from conversations import doorbells, handoff

    public_id, _ = customer_session
    conversation_id = await database_sync_to_async(Conversation.objects.values_list("pk", flat=True).get)(
        public_id=public_id
    )
    await database_sync_to_async(handoff.handoff_request)(conversation_id=conversation_id, reason="t", trigger="button")
    for _ in range(3):  # every change to the queue rings every waiting customer
        await database_sync_to_async(doorbells.queue_positions_broadcast)()
    frames = []
    while not await widget.receive_nothing(timeout=0.3):
        frames.append(await widget.receive_json_from())
    assert [frame for frame in frames if frame["type"] == "queue"] == [{"type": "queue", "position": 1}]


async def test_a_question_sent_from_an_article_page_is_answered_as_a_follow_up_of_that_article(widget):
    await database_sync_to_async(demo_helpcentre_load)()
    question = "how long does it take?"
    alone = await database_sync_to_async(answer_compose)(question=question)
    assert [c.key for c in alone.citations] != ["LIFTBASE_FIRMWARE_UPDATE"]  # alone it means something else

    await widget.send_json_to(
        {"type": "message", "text": question, "client_id": "q1", "article": "LIFTBASE_FIRMWARE_UPDATE"}
    )
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]
    assert [c["key"] for c in answer["citations"]] == ["LIFTBASE_FIRMWARE_UPDATE"]
    assert "5 minutes" in answer["text"]
    stored = await database_sync_to_async(Message.objects.get)(role="customer")
    assert stored.data == {"article": "LIFTBASE_FIRMWARE_UPDATE"}

    # The next question, sent without an article, still follows the conversation's article.
    await widget.send_json_to({"type": "message", "text": "and if it gets stuck?", "client_id": "q2"})
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]
    assert [c["key"] for c in answer["citations"]] == ["LIFTBASE_FIRMWARE_UPDATE"]


async def test_an_unknown_article_is_no_context_and_a_malformed_one_is_refused(widget):
    await database_sync_to_async(demo_helpcentre_load)()
    await widget.send_json_to(
        {"type": "message", "text": "How long is the trial?", "client_id": "q1", "article": "NO_SUCH"}
    )
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]
    assert [c["key"] for c in answer["citations"]] == ["100_NIGHT_TRIAL_OFFER"]
    stored = await database_sync_to_async(Message.objects.get)(role="customer")
    assert stored.data == {}

    await widget.send_json_to({"type": "message", "text": "and then?", "client_id": "q2", "article": 7})
    error = await widget.receive_json_from()
    assert error["type"] == "error" and error["code"] == "bad_article" and error["client_id"] == "q2"
    assert await database_sync_to_async(Message.objects.filter(role="customer").count)() == 1


async def test_a_customer_message_is_stored_with_its_language_and_a_short_follow_up_keeps_it(widget, llm):
    await widget.send_json_to(
        {"type": "message", "text": "¿Cuánto tarda el reembolso de mi pedido?", "client_id": "es-1"}
    )
    first = (await frames_until(widget, lambda f: f.get("client_id") == "es-1"))[-1]
    await frames_until(widget, is_answer)
    await widget.send_json_to({"type": "message", "text": "ok", "client_id": "es-2"})
    second = (await frames_until(widget, lambda f: f.get("client_id") == "es-2"))[-1]
    assert (first["language"], second["language"]) == ("es", "es")
    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(role="customer").order_by("seq").values_list("language", flat=True))
    )()
    assert stored == ["es", "es"]
    answer = await database_sync_to_async(lambda: Message.objects.filter(role="assistant").first())()
    assert answer is not None and answer.language == ""


async def test_offline_a_spanish_question_is_answered_from_the_spanish_article(widget):
    await database_sync_to_async(demo_helpcentre_load)()
    await widget.send_json_to(
        {"type": "message", "text": "¿Cuánto tarda en llegar el reembolso de la devolución?", "client_id": "es-1"}
    )
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]
    spanish = await database_sync_to_async(lambda: Article.objects.get(key="RETURN_EXCHANGE", language="es").url)()
    assert [citation["url"] for citation in answer["citations"]] == [spanish]


async def test_optional_fields_sent_as_null_are_the_same_as_left_out(widget):
    await database_sync_to_async(demo_helpcentre_load)()
    await widget.send_json_to(
        {"type": "message", "text": "How long is the trial?", "client_id": "q1", "attachment": None, "article": None}
    )
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]
    assert [c["key"] for c in answer["citations"]] == ["100_NIGHT_TRIAL_OFFER"]
    stored = await database_sync_to_async(Message.objects.get)(role="customer")
    assert stored.data == {}
    assert not await database_sync_to_async(Attachment.objects.exists)()


@pytest.mark.parametrize(
    ("frame", "named"),
    [
        ({"type": "message", "text": "my order\x00 123", "client_id": "nul"}, "nul"),
        ({"type": "rating", "score": 4, "comment": "ok\x00"}, None),
        ({"type": "message", "text": "hi", "client_id": "deep", "x": [[{"k\x00": 1}]]}, "deep"),
    ],
)
async def test_a_nul_anywhere_in_a_frame_is_refused_as_text_that_cannot_be_stored(widget, llm, frame, named):
    # PostgreSQL's text cannot hold a NUL: refused here, the same on every database, and nothing is stored.
    await widget.send_json_to(frame)
    error = await widget.receive_json_from()
    assert (error["code"], error.get("client_id")) == ("bad_text", named) and "NUL" in error["message"]
    assert not await database_sync_to_async(Message.objects.exists)()
    await widget.send_json_to({"type": "ping"})
    assert (await widget.receive_json_from())["type"] == "pong"


@pytest.mark.parametrize(
    "text",
    [
        "\u200b\u200b\ufeff",
        " \u200d \u2060 ",
        "\u00a0\u3000",
        # direction marks and overrides, the soft hyphen, a combining mark alone, a variation selector,
        # the Mongolian vowel separator, an invisible function application, blank fillers
        "\u200e\u200f\u202e",
        "\u00ad\u00ad",
        "\u034f\ufe0f",
        "\u180e\u2061",
        "\u3164\u2800\u3164",
    ],
)
async def test_text_that_shows_nothing_is_an_empty_message(widget, llm, text):
    await widget.send_json_to({"type": "message", "text": text, "client_id": "blank"})
    error = await widget.receive_json_from()
    assert (error["code"], error["client_id"]) == ("empty_message", "blank")
    assert llm.requests == []
    assert not await database_sync_to_async(Message.objects.exists)()


async def test_a_binary_frame_over_the_size_limit_is_refused_as_too_large_and_a_small_one_is_not_supported(widget):
    from conversations.protocol import MAX_FRAME_BYTES, Close

    await widget.send_to(bytes_data=b"\x00" * 10)
    assert (await widget.receive_json_from())["code"] == "binary_not_supported"
    await widget.send_to(bytes_data=b"\x00" * (MAX_FRAME_BYTES + 1))
    assert (await widget.receive_json_from())["code"] == "frame_too_large"
    assert await widget.receive_output() == {"type": "websocket.close", "code": Close.TOO_BIG}


async def test_the_frame_limit_counts_bytes_not_characters(widget):
    from conversations.protocol import MAX_FRAME_BYTES, Close

    emoji = "\U0001f600"  # four bytes in UTF-8, one character
    await widget.send_json_to({"type": "ping", "pad": emoji * 1000})
    assert (await widget.receive_json_from()) == {"type": "pong"}
    await widget.send_json_to({"type": "ping", "pad": emoji * (MAX_FRAME_BYTES // 4)})  # under 64 Ki characters
    assert (await widget.receive_json_from())["code"] == "frame_too_large"
    assert await widget.receive_output() == {"type": "websocket.close", "code": Close.TOO_BIG}


@pytest.mark.parametrize("client_id", ["", "supportbot:rating-request", "x" * 65, 7])
async def test_a_client_id_that_is_empty_reserved_or_too_long_is_refused_and_nothing_is_stored(widget, client_id):
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": client_id})
    [error] = await frames_until(widget, lambda frame: frame["type"] in ("error", "message"))
    assert error["type"] == "error" and error["code"] == "bad_client_id", error
    assert not await database_sync_to_async(Message.objects.exists)()


async def test_a_message_without_a_client_id_is_stored_without_one(widget):
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": None})
    [stored] = await frames_until(widget, lambda frame: frame["type"] in ("error", "message"))
    assert stored["type"] == "message" and stored["role"] == "customer" and "client_id" not in stored


async def test_a_message_to_a_closed_conversation_is_refused_and_not_stored(widget, customer_session, agent):
    from conversations import handoff

    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=customer_session[0])
    await database_sync_to_async(handoff.handoff_request)(conversation_id=conversation.pk, reason="t", trigger="button")
    await database_sync_to_async(handoff.conversation_claim)(conversation_id=conversation.pk, agent_id=agent.pk)
    await database_sync_to_async(handoff.conversation_close)(conversation_id=conversation.pk, agent_id=agent.pk)
    await frames_until(widget, lambda frame: (frame.get("data") or {}).get("event") == "closed")
    before = await database_sync_to_async(Message.objects.count)()

    await widget.send_json_to({"type": "message", "text": "Wait, I still need help", "client_id": "late"})
    error = (await frames_until(widget, lambda frame: frame.get("client_id") == "late"))[-1]

    assert error["type"] == "error" and error["code"] == "conversation_closed" and error["client_id"] == "late"
    assert await database_sync_to_async(Message.objects.count)() == before
