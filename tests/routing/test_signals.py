from __future__ import annotations

import pytest

from routing import signals
from routing.signals import text_complexity_features


@pytest.mark.parametrize(
    "text",
    [
        "Manager. Now.",
        "get me someone who can actually help",
        "i want to speak someone",
        "agent agent agent",
        "Could someone from billing give me a ring tomorrow?",
        "I'm not talking to a robot. agent",
        "is there a human I can speak to",
        "put me through to your supervisor",
        "can u call me on 07700 900123",
        "Can I have a word with whoever handles complaints?",
        "could your billing department get in touch with me please",
        "escalate. this. now.",
        "I want this escalated",
        "please get my complaint escalated",
        "can you escalate",
        "plz arrange call to my number",
        "Can somebody else take a look at my refund claim?",
        "no more bots please",
        "enough of this chatbot",
        "i'd rather deal with an actual employee",
        "will someone call me back?",
        "will someone call me before dispatch? I want to talk to a manager",
        "Talk",
        "live chat please",
        "I need assistance from an agent",
        "ok, then connect me",
        "front desk",
        "what do you need to call me back? my number is 98200 12345, call me now",
        "I need an executive to look into my account",
        "please let an employee handle this",
        "is there anybody there who can help me",
        "how do I get hold of someone",
        "how can I contact an agent",
        "how do i reach one of your advisors",
        "i need to contact customer care",
        "request a call from an executive",
        "schedule a call with customer service",
        "i want to be contacted by a representative",
        "could you forward me to the reception",
        "i'd like to be put through to housekeeping",
        "can i get an expert on the phone",
        "i need an expert to help me",
        "are any of your agents available",
        "i need to have a conversation with someone",
        "cn i speek to some1",
        "talk to custumer service",
        "wanna speak to a reprsentative",
        "can a staff member reach out to me",
        "i would rather be assisted by an employee",
        "can one of your colleagues assist me",
        "Executive",
        "need a customer care call",
        "i need an expert",
        "consult with a specialist",
        "is there somebody i can phone",
        "I want to close my savings account, can someone from the bank help me with that?",
        "can the reception call my room please",
        "have the fraud department contact me",
        "i need the card department",
        "my card was charged twice for the room on the 12th and 14th, I want to take this up with one of your people",
        "the refund of 640 never came. I'd like to raise this with somebody at the bank",
        "I want it handled by a member of your staff, not another form",
        "who do I see about opening a business account",
        "I'd like to see somebody in branch about my late father's account",
        "can i visit your office and meet someone",
        "can I book some time with my mortgage adviser",
        "I would like to arrange a meeting with my relationship manager",
        "need a real banker on this today",
        "can I get on the phone with you guys",
        "I'd like a fraud investigator to handle my claim personally",
        "Could a member of the team ring us on 07700 900811",
        "please put me on with the front office",
        "cust care",
        "conect to custmer care",
        "i want cal back",
        "give call on my number 98200 45678",
        "please transfer to concerned team",
        "require a call from customer care",
        "I want somebody to follow up with me by phone",
        "i want to chat",
        "can i chat",
        "chat please",
        "I need a call",
        "i want call",
        "need help from your team",
        "My order 1234 never arrived, I need a person",
        "I need a person, my order never arrived",
        "मुझे किसी इंसान से बात करनी है",
        "क्या मैं किसी से बात कर सकता हूँ?",
    ],
)
def test_requests_for_a_person_however_worded(text: str) -> None:
    assert signals.text_asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "What's your customer service phone number?",
        "do I need a person at home to sign for the delivery?",
        "I need a person there when the sofa arrives?",
        "Does the warranty need a person to be present?",
        "are you a real person?",
        "will the driver call me before delivery?",
        "Can I send the cheque to someone else?",
        "Do you have a password manager app?",
        "hello is anyone there?",
        "Can the delivery driver call me when he's 10 minutes away?",
        "we want to drop one traveller and add a different person to the booking",
        "is there an employee discount?",
        "no more questions, thanks",
        "does the robot vacuum come with a spare brush?",
        "will someone call me before dispatch?",
        "is someone going to phone me to confirm my COD order?",
        "how does the callback thing work",
        "if I ask for a callback how soon does someone ring?",
        "talk about prices",
        "chat",
        "I got help from someone at your store last week",
        "ok. what does the app use to talk to the base then?",
        "do your chat agents work on weekends, and until what time?",
        "what details do you need from me to arrange a call from a sleep consultant?",
        "I have an agent who handles my bookings",
        "the agent said it would take a week to look into it",
        "the money didn't reach anyone",
        "can i contact someone who sent me money by mistake",
        "should i contact an agent if my card is stolen",
        "do i need to contact customer care to close my account",
        "i want to contact customer service by email",
        "i don't want to be called by an agent",
        "i got a call from an agent claiming to be from the bank",
        "my last conversation with an agent was useless",
        "someone from your team promised to get back to me",
        "switch me to annual billing please",
        "redirect me to the login page",
        "is an agent available on weekends",
        "are any staff available to help with luggage",
        "can i transfer 2 people to another room",
        "how do i get in touch with the seller",
        "i need expert advice on mattresses",
        "i want advisor fees explained",
        "i was assisted by an employee at the branch",
        "executive lounge access",
        "can an employee access my account",
        "customer care call centre hours",
        "can anyone at the branch help me open an account?",
        "i need the department code for my expense claim",
        "i want the sales team discount",
        "please dont call me",
        "no need to ring me back, the email was enough",
        "ask the courier not to phone me before 9",
        "can reception call me a cab",
        "I need a letter for human resources confirming my account details",
        "does the human touch mattress topper come in king size",
        "is the manager's reception on Tuesday free for guests",
        "when will someone from delivery contact me about my order 4412?",
        "will an agent contact me after I submit the claim form?",
        "How do I book a slot with the branch manager?",
        "I had a meeting with my relationship manager and she suggested a fixed deposit",
        "I can see someone used my card",
        "I went through it with an agent last week",
        "raise this with my landlord",
        "the real staff discount",
        "cust care no pls",
        "please pass on my thanks to the reception team",
        "I want to chat about my order",
        "how do i start a chat?",
        "i dont want to chat",
        "i want call details",
        "i need call forwarding",
        "I want to call you",
        "need help from the team page",
        "I need help from your team leader app",
        "has my complaint been escalated?",
        "how long does it take once a complaint is escalated?",
    ],
)
def test_questions_about_people_are_not_requests_for_one(text: str) -> None:
    assert not signals.text_asks_for_person(text)


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("please don't call me again", True),
        ("stop calling me", True),
        ("do not call me, email only", True),
        ("don't call me, I want to chat with an agent", False),
        ("why don't you call me back?", False),
        ("please call me back", False),
    ],
)
def test_a_call_refused_is_told_from_a_call_asked_for(text: str, refused: bool) -> None:
    assert signals.text_refuses_a_call(text) is refused
    assert signals.text_asks_for_person(text) is not refused


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("someone from your bank called me yesterday", True),
        ("your rep emailed me about a warranty extension, is that real?", True),
        ("you guys called me 3 times today. what's going on?", True),
        ("your agent called me earlier, I want to speak to him again", False),
        ("someone from your team called me, can they call me back?", False),
        ("I missed a call from you, please call me back", False),
        ("can you call me about my order", False),
    ],
)
def test_a_call_had_from_the_shop_is_told_from_wanting_that_person(text: str, told: bool) -> None:
    assert signals.text_tells_of_a_call(text) is told


@pytest.mark.parametrize("text", ["that worked, thanks!", "never mind", "it's working now", "ok, 10am then"])
def test_acknowledgements_after_an_answer_are_small_talk(text: str) -> None:
    assert signals.text_is_small_talk(text) or signals.REPLY_START.search(text)


@pytest.mark.parametrize(
    "text",
    ["sorry, can you repeat that?", "are you online", "I honestly don't know", "I'll measure it and get back to you"],
)
def test_repeat_requests_dont_know_and_come_back_later_are_small_talk(text: str) -> None:
    assert signals.text_is_small_talk(text)


@pytest.mark.parametrize(
    "text", ["I don't know why my card was declined", "I'm not sure where my phone is", "i didn't get the code"]
)
def test_a_problem_after_i_dont_know_is_not_small_talk(text: str) -> None:
    assert not signals.text_is_small_talk(text)


@pytest.mark.parametrize("text", ["I managed to sort it out, thanks", "i am clueless about routers"])
def test_the_customer_describing_themself_is_not_frustration(text: str) -> None:
    assert not signals.FRUSTRATION.search(text)


@pytest.mark.parametrize("text", ["it is not working", "still not working", "did it again?"])
def test_problems_are_not_small_talk(text: str) -> None:
    assert not signals.text_is_small_talk(text) or "?" in text


def test_quantities_count_amounts_sizes_durations_and_counted_things() -> None:
    busy = text_complexity_features("40 desks, 40 chairs and 6 tables delivered in 3 weeks, budget £12,000")
    plain = text_complexity_features("please cancel order 58213")
    assert "quantities:3+" in busy
    assert "quantities:0" in plain, "an order number identifies something; it is not a quantity"


def test_several_asks_are_counted_but_a_symptom_after_and_is_not_a_question() -> None:
    assert signals.text_asks("How much is the sofa? And do you deliver on Saturdays?") == 2
    assert signals.text_asks("thanks. also, what's the daily ATM limit?") == 1
    assert signals.text_asks("it beeps three times and does nothing") == 0


def test_terse_symptom_list_without_a_question() -> None:
    features = text_complexity_features("wifi dropping every 10 mins, red light, rebooted twice")
    assert "flag:terse_symptom_list" in features
    assert "flag:no_question" in features
    assert "flag:terse_symptom_list" not in text_complexity_features("Do you sell wifi extenders?")


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("Is 0% finance over 12 months cheaper than paying £1,800 up front?", "flag:comparison_with_amounts"),
        ("We need 30 laptops for our office, delivered to 3 sites by the 1st", "flag:business_with_quantities"),
        ("Swap the sofa to green, add two cushions and drop the footstool: new total?", "flag:changes_with_price"),
        ("I bought it 14 months ago and the seam split, is that covered by the warranty?", "flag:claim_with_details"),
        (
            "Side sleeper, bad hip, budget 900: which mattress would you recommend?",
            "flag:recommendation_with_constraints",
        ),
        ("I've been waiting since Friday for the transfer", "flag:overdue"),
    ],
)
def test_named_complexity_features(text: str, flag: str) -> None:
    assert flag in text_complexity_features(text)


def test_long_story_with_one_plain_ask_has_its_own_shape() -> None:
    story = (
        "Hello! We have just moved into our first house and we are slowly filling it with furniture, which is "
        "exciting and a little terrifying for our bank account, and my partner keeps measuring the living room. "
        "Does the Harlow corner sofa come in a left-hand version?"
    )
    assert "flag:story_then_one_ask" in text_complexity_features(story)


@pytest.mark.parametrize(
    "text",
    [
        "no luck",
        "I did that and it still doesn't connect",
        "the form only lets me add adults",
        "nothing happens",
        "the tracking number you gave me doesn't work",
        "that link asks me to log in and then goes round in a loop",
        "that's for android, I've got an iphone",
        "the code never arrives",
    ],
)
def test_reports_that_an_answer_failed(text: str) -> None:
    assert signals.text_reports_failure(text)


@pytest.mark.parametrize("text", ["fixed, thanks. do you sell pillows too?", "great, thanks!", "how much is delivery?"])
def test_thanks_and_new_questions_are_not_failures(text: str) -> None:
    assert not signals.text_reports_failure(text)


def test_a_question_after_thanks_asks_something_but_are_you_there_does_not() -> None:
    assert signals.text_asks_something("thanks. also, what's the daily ATM limit?")
    assert not signals.text_asks_something("hello?? are you there")


def test_a_relative_clause_after_a_comma_is_not_a_question() -> None:
    assert (
        signals.text_asks("We moved house, which was exciting, and now we need a sofa. Do you deliver to Leeds?") == 1
    )
    assert signals.text_asks("Hi, can you tell me the opening hours?") == 1


@pytest.mark.parametrize("text", ["how do I reset the smart speaker", "can I reset my PIN in the app?"])
def test_asking_how_to_reset_is_not_saying_it_was_tried(text: str) -> None:
    assert not signals.ALREADY_TRIED.search(text)
    assert signals.ALREADY_TRIED.search("I reset it twice and it still beeps")


def test_word_start_check_changes_no_match() -> None:
    """Each pattern behind the word-start check finds what it finds without it (a branch starting with
    punctuation inside the check would silently never match)."""
    import re
    from pathlib import Path

    from routing.classifier import labelled_messages_read

    data = Path(__file__).resolve().parents[2] / "routing" / "data"
    texts = {row.text for path in sorted(data.glob("written_*.csv")) for row in labelled_messages_read(path=path)}
    texts |= {"£5 and $10 each", "what??? really!!!", "  tried that", "ok, nothing", "robot. agent!!", " escalate "}
    from routing.prefilter import Prefiltered

    # A prefiltered pattern is checked whole here; tests/routing/test_prefilter.py checks the prefilter.
    patterns = [value.regex if isinstance(value, Prefiltered) else value for value in vars(signals).values()]
    guarded = [value for value in patterns if isinstance(value, re.Pattern)]
    guarded = [pattern for pattern in guarded if pattern.pattern.startswith(signals._WORD_START)]
    assert len(guarded) > 20
    for pattern in guarded:
        plain = re.compile(pattern.pattern.replace(signals._WORD_START, "", 1), pattern.flags)
        for text in texts:
            found = [match.group(0) for match in pattern.finditer(text)]
            assert found == [match.group(0) for match in plain.finditer(text)], (pattern.pattern[:60], text)


@pytest.mark.parametrize("text", ["tell me a joke", "do you know a joke?", "another joke please"])
def test_asking_for_a_joke_is_not_frustration(text):
    assert signals.FRUSTRATION.search(text) is None


@pytest.mark.parametrize("text", ["this is a joke", "your service is a joke!"])
def test_calling_the_service_a_joke_still_is(text):
    assert signals.FRUSTRATION.search(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "when are your agents available?",
        "what time does your support team work?",
        "do your chat agents work on weekends, and until what time?",
        "are your agents online late at night?",
        "how long will your team take to get back to me?",
        "how soon do you usually reply to emails?",
    ],
)
def test_asking_when_people_are_available_is_a_question(text):
    assert signals.text_asks_when_available(text) and not signals.text_asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "when is someone available to talk to me?",
        "agents available? connect me to one",
        "how soon can someone call me back",
        "how long before someone calls me? please call me asap",
    ],
)
def test_asking_for_a_person_now_is_not_a_question_about_hours(text):
    assert not signals.text_asks_when_available(text)


def test_a_story_ending_in_one_plain_ask_is_told_from_one_ending_in_a_recommendation() -> None:
    story = "Our daughter starts uni in Leeds next month and we're all very proud, she's the first of us to go. "
    assert signals.text_final_ask_is_plain(story + "Do you deliver single beds to Leeds?")
    assert not signals.text_final_ask_is_plain(story + "Which mattress would you recommend for her?")
    assert not signals.text_final_ask_is_plain("My parcel hasn't arrived since Friday. Where is it?")


def test_overdue_needs_a_time_after_since() -> None:
    assert signals.OVERDUE.search("waiting since Friday for the transfer")
    assert signals.OVERDUE.search("no signal since 6am")
    assert not signals.OVERDUE.search("our first holiday since the kids were born")


def test_recommendation_wordings_without_the_word_recommend() -> None:
    assert signals.RECOMMEND.search("he snores, I'm a light sleeper, king size, what mattress?")
    assert signals.RECOMMEND.search("Which fare should I book? I might need to change the date")
    assert not signals.RECOMMEND.search("Do you have the Harlow sofa in grey?")
    assert signals.RECOMMEND.search("what account should i open, im 17 and get paid weekly")
    assert signals.RECOMMEND.search("Which broadband deal should we switch to?")
    assert not signals.RECOMMEND.search("when should I open the box, on delivery or later")


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("what account should i open, im 17, get paid weekly", True),
        ("she's 8 and a light sleeper", True),
        ("I'm only 19 so no credit history", True),
        ("I'm 5 minutes from the store", False),
        ("im 2 payments behind", False),
    ],
)
def test_an_age_said_in_passing_is_a_personal_constraint(text: str, age: bool) -> None:
    found = {match.group(0).lower() for match in signals.PERSONAL_CONSTRAINT.finditer(text)}
    assert any(part[-1].isdigit() for part in found) is age, found


def test_chatter_with_a_laugh_is_not_a_report_that_the_answer_failed():
    assert not signals.text_reports_failure("so humid today, even my phone is sweating lol")
    assert signals.text_reports_failure("it still beeps")


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("What are your opening hours on Sunday?", True),
        ("We moved in last week and love the place. Does the Ellis bed come in white?", True),
        ("The base beeps and the light flashes red. Does the warranty cover it?", False),
        ("We need 40 chairs and 10 desks for the office. Do you deliver to Pune?", False),
        ("Can I change the colour and also the size, and what would it cost?", False),
    ],
)
def test_the_plain_final_ask_feature_agrees_with_the_public_check(text: str, plain: bool) -> None:
    # The features reuse counts they have already taken; the result must be the check's own.
    assert signals.text_final_ask_is_plain(text) is plain
    assert ("flag:plain_final_ask" in text_complexity_features(text)) is plain


def test_remembered_pattern_checks_answer_as_the_pattern_does() -> None:
    for text in ("that didn't help at all", "thanks, that worked", "this is ridiculous!!"):
        for pattern in (signals.NOT_HELPED, signals.FRUSTRATION):
            assert signals.text_has(pattern, text) is (pattern.search(text) is not None)
            assert signals.text_has(pattern, text) is (pattern.search(text) is not None)  # from the memo
    assert signals.text_has(signals.NOT_HELPED, "that didn't help at all")
