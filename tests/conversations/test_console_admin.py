"""The admin for the console's lists and settings, and the conversation list's tag and reason filters."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from conversations.console.services import contact_reasons_correct, conversation_tag_set
from conversations.models import ConsoleSettings, ContactReason, Conversation, ConversationReason, ConversationTag
from helpcentre.services import demo_helpcentre_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _shown(response) -> set[int]:
    return {row.pk for row in response.context["cl"].result_list}


def test_the_reoffer_time_is_one_settings_row_edited_in_the_admin(staff_client):
    response = staff_client.get("/admin/conversations/consolesettings/")
    assert response.status_code == 302 and response["Location"].endswith(
        "/admin/conversations/consolesettings/1/change/"
    )
    saved = staff_client.post(response["Location"], {"reoffer_after_s": "300"})
    assert saved.status_code == 302
    assert ConsoleSettings.objects.get(pk=1).reoffer_after_s == 300
    refused = staff_client.post(response["Location"], {"reoffer_after_s": "5"})
    assert refused.status_code == 200 and ConsoleSettings.objects.get(pk=1).reoffer_after_s == 300
    assert staff_client.get("/admin/conversations/consolesettings/add/").status_code == 403


def test_tags_and_reasons_are_managed_and_filter_the_conversation_list(
    staff_client, agent, django_assert_max_num_queries
):
    demo_helpcentre_load()
    call_command("generate_demo_month", days=5, per_day=8, seed=3, stdout=io.StringIO())
    call_command("tag_contact_reasons", stdout=io.StringIO())
    assert staff_client.post("/admin/conversations/conversationtag/add/", {"name": "vip"}).status_code == 302
    vip = ConversationTag.objects.get(name="vip")
    first = Conversation.objects.order_by("pk").first()
    conversation_tag_set(conversation_id=first.pk, tag_id=vip.pk, on=True)
    assert _shown(staff_client.get("/admin/conversations/conversation/", {"tag": vip.pk})) == {first.pk}

    person = ContactReason.objects.get(name="Asked for a person")
    tagged = set(
        ConversationReason.objects.filter(reason=person, removed=False).values_list("conversation_id", flat=True)
    )
    assert tagged
    # An agent's correction counts: one removed from the reason, one added to it.
    removed_from = sorted(tagged)[0]
    contact_reasons_correct(conversation_id=removed_from, reason_ids=[], agent_id=agent.pk)
    added_to = Conversation.objects.exclude(pk__in=tagged).order_by("pk").first()
    contact_reasons_correct(conversation_id=added_to.pk, reason_ids=[person.pk], agent_id=agent.pk)
    expected = (tagged - {removed_from}) | {added_to.pk}
    assert len(expected) < 50  # one page of the list
    assert _shown(staff_client.get("/admin/conversations/conversation/", {"reason": person.pk})) == expected

    with django_assert_max_num_queries(12):
        page = staff_client.get("/admin/conversations/contactreason/")
    row = next(reason for reason in page.context["cl"].result_list if reason.pk == person.pk)
    assert row.standing == len(expected) and row.corrected == 2


@pytest.mark.parametrize("parameter", ["reason", "tag"])
def test_a_filter_value_no_row_can_have_shows_the_unfiltered_list_not_an_error(staff_client, parameter):
    for value in ("99999999999999999999999", "-1", "abc"):
        response = staff_client.get("/admin/conversations/conversation/", {parameter: value})
        assert response.status_code in (200, 302), (parameter, value)
