"""Transparent text signals the router reads: each is a named regex or count with a reason.

Two uses. The high-precision ones (a request for a person, an error code, "I already
tried", small talk) decide on their own, before the learned classifier. The rest are
:func:`text_complexity_features`: named measures of how much a message asks for
(quantities, several asks, comparisons, conditions, symptom lists, business orders)
that the classifier weighs beside word and character n-grams, because a message can be
complex in few words and simple in many.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from routing.prefilter import Pattern, prefiltered

_WORD = re.compile(r"[a-z0-9']+")

# Python's re tries every alternative at every position of a text. Patterns whose alternatives all begin at a
# word start are compiled behind a check for one, which turns most positions away at once (two to three times
# faster on long messages); alternatives that begin elsewhere are passed separately and kept outside it.
_WORD_START = r"(?<!\w)(?=\w)"


def _at_word_starts(pattern: str, *, elsewhere: str = "") -> Pattern:
    return prefiltered(prefix=_WORD_START, pattern=pattern, elsewhere=elsewhere, flags=re.IGNORECASE)


_PERSON = (
    r"human|humans|person|people|agent|agents|someone|somebody|anyone|anybody|whoever|representative|rep|operator|"
    r"manager|supervisor|boss|staff|member of (your |the )?(staff|team)|team member|executive|adviser|advisor|advisers|"
    r"advisors|consultant|"
    r"employee|employees|colleague|specialist|designers?|engineers?|experts?|department|reception|billing|"
    r"sales team|accounts team|"
    r"support team|c[ou]st[aou]?m[eo]r (care|service|support|caee)( team)?|repr?[ae]?s[ae]?n?t[ai]t?[iy]ves?|officers?|"
    # Hotel desks and bank staff by their role, and the typos of "someone" and "agent" people type.
    r"front desk|concierge|housekeeping|room service|switchboard|receptionists?|bankers?|tellers?|clerks?|"
    r"some1|somone|someon|agnt|agrnt|"
    # "put me on with the front office", "transfer to concerned team", "a fraud investigator".
    r"front office|help ?desk|service desk|concerned (team|dept|department|authority|officials?|persons?)|"
    r"investigators?"
)
_PERSON_ROLE = r"human|agent|operator|representative|manager|supervisor|boss|person|someone|somebody"
# Who a customer reaches, contacts or gets hold of when they want a person ("the person who sent it" is not one).
_REACH_PERSON = (
    r"humans?|agents?|someone|somebody|anyone|anybody|person|representatives?|rep|operators?|executives?|"
    r"advis[eo]rs?|consultants?|specialists?|experts?|staff|employees?|managers?|supervisors?|reception|front desk|"
    r"concierge|customer (care|service|support) (executive|agent|representative|person|team)|support team|some1|agrnt"
)
_HOTEL_DESK = (
    r"restaurant|spa|concierge|housekeeping|room service|laundry( service)?|front office|switchboard|bar|kitchen|"
    r"maintenance|bell ?desk|porter|valet|pool|gym"
)
_CURT_PERSON = (
    r"human|humans|agent|agents|operator|representative|rep|person|manager|supervisor|reception|front desk|"
    r"executive|customer care executive|cust(omer)? (care|service|support)( team)?"
)
# A request for a person, in the ways people ask for one: with a verb of talking or being called, by naming a
# real person or a manager, or curtly as a single word. Asking for a phone number is not one (that is a fact).
# "Call me" asks for a person unless it asks whether someone will ("will the driver call me first?").
# The driver or engineer calling ahead is part of a delivery, not a person taking the conversation over.
_CALLED = r"((call|ring|phone) me|(get|be) in touch with (me|us))\b"
CALL_ME = re.compile(rf"\b{_CALLED}", re.IGNORECASE)
CALL_QUESTION = re.compile(
    rf"\b(will|would|do|does|did|should|is|are|when)\b[^.?!,]{{0,25}}\b{_CALLED}[^.!]*\?"
    rf"|\b(the|your|my) (driver|courier|engineer|technician|installer|fitter|delivery \w+)s?\b[^.?!,]{{0,25}}"
    rf"\b{_CALLED}",
    re.IGNORECASE,
)
# "will someone call me before dispatch?", "is someone going to phone me to confirm?": how the shop works, a
# fact, however the caller is named; "would someone call me back please?" and "can someone ring me?" ask for one.
# "how does the callback thing work?", "if I ask for a callback, how soon does someone ring?": how callbacks
# work, asked as a question; neither the rules nor a classifier's vote for "human" make it a request for one.
CALLBACK_HOW_QUESTION = re.compile(
    r"^\W*how (does|do|would|will|can)\b[^.?!,]{0,25}\b(call ?backs?|callbacks?)\b[^.?!,]{0,20}\bwork\w*\b[^.!?]*\??$"
    r"|^\W*(if|once|after|when) [^.!?]{0,40}\b(call ?backs?|callbacks?)\b[^.!?]*"
    r"\bhow (soon|long|quickly|fast)\b[^.!]*\?",
    re.IGNORECASE,
)
CALL_PROCESS_QUESTION = re.compile(
    # "what details do you need from me to arrange a call from a sleep consultant?": how callbacks work.
    r"^\W*what (details|information|info|documents|do you need)\b[^.!?]{0,40}\b(a|the) (call|callback|call back)\b"
    r"[^.!]*\?"
    r"|^\W*(when )?(will|does|do|is|are|did|should)\b[^.?!,]{0,30}\b(call|ring|phone|contact)(ing)? (me|us)\b"
    r"(?![^.?!]*\b(back|please|pls|plz|asap|now|urgently|immediately)\b)[^.!?]*\?"
    rf"|{CALLBACK_HOW_QUESTION.pattern}",
    re.IGNORECASE,
)
LAUGHTER = re.compile(r"\b(lol|lmao|rofl|haha\w*|hehe\w*)\b|[\U0001F602\U0001F923\U0001F606]", re.IGNORECASE)
HANDOFF = _at_word_starts(
    rf"\b(talk|tlk|speak|speek|spek|chat|conn?ect|transfer|put|pass(?! on (my|our) (thanks|compliments|regards))|hand"
    rf"|discuss|deal|converse)\w*\b[^.?!]{{0,40}}?\b(to|with) "
    rf"(a |an |the |your |my |some |any |one of (your|the) )?(real |actual |live )?(\w+ )?({_PERSON})\b(?!'s)"
    # Not "your chat agents work weekends?": "chat" naming the agents is a question about them.
    rf"|(?<!your )(?<!the )(?<!our )\b(talk|tlk|speak|speek|chat)\w* (an? |the |your |some |one )?({_PERSON})\b"
    rf"|\b(talk|tlk|speak|speek|chat)\w* 2 (an? |the |your |some |one )?({_PERSON})\b"
    r"|\bcustomer (care|service|support) (executive|agent|representative|person|officer)\b"
    rf"|\b(is there|are there|any) (a |an |any )?(real |actual )?({_PERSON})\b[^.?!]{{0,30}}?"
    rf"\b(talk|speak|chat|call|phone|ring|contact)\b"
    r"|\b(someone|somebody|anyone|anybody|a person|a human|an agent)\b[^.?!]{0,20}\bto (talk|speak|chat)\b"
    r"|\b(anyone|anybody|someone|somebody|a person|a human|an agent) (available|free|around) to\b"
    # "is anyone from the hotel around to help me"; not "is anyone from the hotel available to pick us up".
    r"|\b(anyone|anybody|someone|somebody) (from|at|in) (the |your )?\w+ (available|free|around|there|here) to "
    r"(help|assist|talk|speak|chat|answer)\b"
    # "could a colleague of yours help me instead"; not "your colleague couldn't help me", "a colleague of mine".
    r"|\b(can|could|would|will|may) (a |one of your |another |your )?(colleague|co-?worker|team ?mate|employee"
    r"|staff member|member of (your |the )?(staff|team))s?( of yours)? (please )?(help|assist|take (this |it )?over"
    r"|look (into|at)|handle|deal with|sort)\b"
    r"|\b(talk|speak|chat)\w* (directly )?(to|with) (the|your|some of your|one of your) "
    # A device talking to another ("what does the app use to talk to the base?") is not a person.
    r"(?!(base|app|bed|remote|phone|router|modem|device|motor|box|controller|hub|network|wi-?fi|bluetooth)\b)\w+"
    r"|\b(get|find|send) (me )?(someone|somebody|a person|a human|an agent|a manager)\b"
    r"|\b(need|want|wanna) (to (speak|talk|chat) (to |with )?)?(the |your )?customer (support|service|care|caee)\b"
    r"(?!'s| number| phone| email| hours)"
    # "I need to contact customer care", not "do I need to contact customer care to close it?" nor "... by email".
    r"|(?<!do i )(?<!do we )(?<!will i )(?<!would i )\b(need|want|wanna) to "
    r"(contact|reach|get in touch with|get hold of) "
    r"(the |your )?customer (support|service|care|caee)\b(?!'s| no\b)"
    r"(?![^.?!]{0,20}\b(number|phone|email|e-?mail|mail|hours|line|address|post|letter|website|whatsapp)\b)"
    r"|(?<!are you a )(?<!are you an )(?<!you're a )(?<!like a )\b(real|live|actual|proper) (person|human|agent|people"
    r"|someone|being|voice|banker|staff|staff member|member of staff|employee|advis[eo]r|operator|representative)\b"
    # Not a thing named after one: "the real staff discount", "a real voice assistant".
    r"(?!'s| (discounts?|assistants?|rates?|prices?|cards?|accounts?|recordings?|messages?|mail|mode)\b)"
    r"|(?<!are you a )(?<!you're a )\bhumans?\b(?! error)(?![ -](resources|rights|readable|touch)\b)"
    r"|\b(please |pls |plz |kindly |can you |could you |can u |someone |somebody |to |then )contact me\b"
    r"|\bcal{1,2} ?back\b|\bgive (me|us) an? (quick |short )?(call|ring|bell)\b"
    r"|\bgive (a )?(call|ring) (on|at) (my|this|\+?\d)"
    rf"|\b(get|give|find) me (an? |the |your |some |a real |a proper )?({_PERSON_ROLE})\b"
    r"|\b(need|want|demand)( to speak to| to talk to)? (an? |the |your |a real |a proper )?"
    r"(human|agent|operator|representative|manager|supervisor)\b"
    # "my order never arrived, I need a person"; not "do I need a person at home?" nor "a person to sign for it".
    r"|(?<!do i )(?<!do we )(?<!will i )(?<!would i )(?<!does it )(?<!should i )\b(need|want|demand) "
    r"(an? |a real |a proper )?(person|human being)\b(?![^.?!]{0,30}\b(to (sign|receive|collect|accept|be|deliver"
    r"|install|assemble|carry|lift|move|help (me |us )?(carry|lift|move))|at home|there|present|in)\b)"
    # Hindi: "talk to a human / someone / an agent" ("मुझे किसी इंसान से बात करनी है").
    r"|(इंसान|व्यक्ति|आदमी|एजेंट|मैनेजर|कर्मचारी|किसी) से बात"
    # The same in Latin letters, as Hindi is often typed ("kisi insaan se baat karni hai", "agent se baat karwao").
    r"|\b(insaan|insan|aadmi|admi|vyakti|agent|manager|karmchari|kisi|kisi aur|banda|bande|person|human) se baat\b"
    r"(?! (ki|kiya|kari|hui|huyi|hua|ho gayi|ho gai)\b)"
    # Someone who is not a machine: "is there anyone there who isn't a robot", "something that's not a bot".
    r"|\b(who|that|which)( is|'s)? (isn'?t|not|aren'?t|are not|ain'?t) an? (bot|robot|machine|computer|chatbot|ai)\b"
    r"|\b(your|a|the|ur|duty) (manager|supervisor|boss|superior)\b(?! app| role| account| tool| view|'s)"
    r"|\b(manager|supervisor|agent|operator|rep|person)\W*(now|please|pls|plz|asap|immediately|today)\b"
    r"|\b(someone|somebody|anyone|person) (senior|in charge|with authority)\b|\bwho('s| is) in charge\b"
    r"|\b(someone|somebody|a person|a member of (your |the )?(staff|team)|one of your (team|staff|agents|advisers)"
    r"|(an?|your) (staff member|agent|advis[eo]r|representative|manager|supervisor))"
    r"\b(?:(?!\b(said|says|promised|supposed|meant|never|was|were|did|didn'?t|would)\b)[^.?!]){0,40}"
    r"\b((call|ring|phone|contact)( me| us| back)|take over|(get back|reach out) to (me|us)|follow up with (me|us)"
    r"|take (ownership|charge|responsibility)|give (me|us) an? (quick |short )?(call|ring|bell))\b"
    r"|\b(appointment|meeting|call|session) with (someone|somebody|a person|an? (\w+ )?(adviser|advisor|engineer|"
    r"consultant|specialist|agent))\b"
    r"|\b(not|stop|don'?t want to (be|keep)?) ?(talking|chatting|speaking|dealing) (to|with) (a |the |this |these )?"
    r"(bots?|robots?|machines?|chatbots?|computers?)\b"
    r"|\b(no more|enough( of)?( this| the| you| these)?) (bots?|robots?|chatbots?|automated (replies|answers))\b"
    r"|\b(pass|hand) me (on|over)\b|\bescalate\W+(this|it|me|my)\b"
    # "I want this escalated", "please get my complaint escalated"; not "has my complaint been escalated?".
    r"|\b(want|need|like|please|pls|get|have)\b[^.?!]{0,12}?\b(this|it|that|my (complaint|case|issue|claim|ticket"
    r"|problem|query))\b (escalated|escalating)\b"
    r"|\b(have|get) a (quick )?word with\b|\bwho (can|could) (i|we) (speak|talk|chat)( to| with)?\b"
    r"|\b(an? |one )?(actual |real )?(person|member|someone|somebody) (from|of|on|in) (your|the) "
    r"(team|staff|company)\b"
    r"[^.?!]{0,30}\b(help|on this|deal|look|handle|sort|call|contact)"
    r"|\barrange (a |the |an? )?(call|callback|call back|phone call|ring)\b"
    # "I need an executive to look into my account", "please let an employee handle this".
    r"|(?<!\bi )(?<!\bwe )(?<!\byou )(?<!\bthey )\b(need|want|get|let|have) (an? |your |one of your |some )?"
    r"(executive|employee|agent|representative|person"
    r"|human|manager|supervisor|staff member|member of staff|expert|specialist|advis[eo]r|consultant)\b[^.?!]{0,15}?"
    r"\b(look|handle|check|help|deal|sort"
    r"|review|take over)"
    r"|\b(anybody|anyone|someone|somebody) (there |here )?who (can|could) (help|assist)\b"
    # "I need someone to sort it out now"; not "do I need someone at home", "someone to help me carry it".
    r"|(?<!do i )(?<!do we )(?<!will i )(?<!would i )(?<!should i )\b(need|want) (someone|somebody) (from (your|the) "
    r"\w+ )?to (sort|look into|handle|deal with|fix (this|it)|take over|check my|call me|ring me)\b"
    r"|(^\W*|\b(need|want|like|prefer|request|require|get|please|pls)\b[^.?!]{0,15}?)(assistance|help|support) "
    r"(from|of) "
    rf"(a |an |the |your |one of your )?(real |actual |live )?({_PERSON}|(?<=your )team\b"
    r"(?![ -](leader|page|app|name|plan|account|settings?|details|dashboard|workspace|site)\b))\b"
    r"|\bsenior (person|manager|member|staff|someone)\b"
    r"|\b(someone|somebody|anyone) else (to )?(take|look|help|deal|handle|check)\b"
    r"|\b(put|transfer) me (through|to)\b|\b(other|another|different) (agent|adviser|advisor|"
    r"operator|representative)\b|\b(don'?t|do not) want to (talk|speak|chat) (to|with) (you|a bot|this|a machine)\b"
    r"|\b(is there|are there|any) (a |an |any )?(real |actual )?(person|human|someone|adviser|advisor|agent)\b"
    r"[^.?!]{0,30}\b(discuss|go through|deal with|sort|help)\b"
    # "who do I see about opening a business account", "who should I speak to about my refund".
    r"|\bwho (do|should|would|can|could|shall) (i|we) (see|speak|talk|chat|go and see)( to| with)? about\b"
    # "can I get on the phone with you guys", "speak to you over the phone".
    r"|\b(get|be) on the (phone|line|call) with (you|u|your|someone|somebody|a person|an? \w+)\b"
    # "could you get me the laundry service on the line", "put the billing team on the phone".
    r"|\b(get|put) (me )?(the |your )?(\w+ ){0,2}?(service|team|department|dept|desk) on the (phone|line)\b"
    r"|\b(speak|talk|chat)\w* (to|with) (you|u)( guys)? (over|on|by) (the )?(phone|telephone)\b",
    elsewhere=r"^\W*((can|could|will|would) (you|u) (please )?|(please|pls) )?escalate\W*(please|pls|now)?\W*$"
    r"|^\W*(please )?contact me\W*$|^\W*(agent|human|person) to (chat|talk)\W*$"
    r"|^\W*(talk|speak|live (chat|support|help))\W*(please|pls|plz|now)?\W*$"
    # A chat or a call asked for and nothing else ("i want to chat", "can i chat", "need a call", "i want call"), as
    # customers of a bot ask for its people; not a bare "call", which asks for the number as often.
    r"|^\W*((i |we )?(want|wanna|need|would like|'?d like)( to)? |(can|could|may) (i|we) |(please|pls|plz) )chat"
    r"\W*(please|pls|plz|now)?\W*$|^\W*chat\W*(please|pls|plz|now)\W*$"
    r"|^\W*(i |we )?(want|need|require|request|would like|'?d like)( an?)? (phone )?(call|callback|call back)"
    r"\W*(please|pls|plz|now|asap|urgently|today)?\W*$"
    r"|(^|[.!?,]\s*)\W*(then |just |now |please |pls )?(connect|transfer) me\W*(please|pls|plz|now)?\W*$"
    rf"|(^|[.!?]\s*)\W*(({_CURT_PERSON})\W*)+(please|pls|now)?\W*$"
    # A hotel desk asked for in so many words, as on a switchboard: "room service please", "the restaurant please";
    # not "room service?" (whether there is one) nor "the restaurant menu please".
    rf"|^\W*(the |your )?({_HOTEL_DESK})( team| desk| staff| department)?\W*(please|pls|plz)\W*$",
)

# Requests that name whom they want reached, called, consulted or put through to: searched only in a message that
# names a person, a desk or a team (PERSON_NAMED), which keeps these patterns off most messages.
PERSON_NAMED = _at_word_starts(
    rf"({_PERSON}|{_REACH_PERSON}|colleagues|team|department|dept|desk)\b",
)
HANDOFF_NAMED = _at_word_starts(
    # Reaching a person: "how do I get hold of someone", "how can I contact an agent", "reach one of your advisors".
    # Not "should I contact an agent if...?" (whether to), nor "contact someone who sent me money".
    rf"(?<!should i )(?<!should we )(?<!do i need to )(?<!do i have to )(?<!do we need to )(?<!must i )"
    # A bare "contact" or "reach" only as asked for ("how can I reach", "need to contact"), not "didn't reach anyone".
    rf"(((?<=\bto )|(?<=\bi )|(?<=\bwe )|(?<=\bcan )|(?<=\bcould )|(?<=\bplease )|(?<=\bpls )|(?<=\bjust )|(?<=\bthen )"
    rf"|(?<=\band )|^)(contact|reach)|reach out to|get hold of|get ahold of|get in touch with|get through to) (a |an |"
    rf"one of your |your "
    rf"|some |any )?(real |actual |live |human )?({_REACH_PERSON})\b"
    rf"(?!\s+(who|that|whom)\b(?!\s+(can|could|will)\b))"
    # A call from a person, asked for: "request a call from an executive", "schedule a call with customer service".
    rf"|\b(request|want|need|like|arrange|schedule|book|set up|organi[sz]e|(can|could|may) (i|we) (get|have)|please)\b"
    rf"[^.?!]{{0,12}}?\b(phone |quick )?(call|callback|call back|ring)s? (from|with) "
    rf"(a |an |the |your |one of your |some )?(\w+ )?({_PERSON})\b"
    # "I want to be called by an agent", "could I be contacted by a representative".
    # "I want to be called by an agent", "I'd rather be assisted by an employee".
    rf"|(?<!n't )(?<!dont )(?<!not )\b(want|like|prefer|rather|need|request|can i|could i|please)\b[^.?!]{{0,15}}?"
    rf"\bbe (called|contacted|phoned|rung|helped|assisted|served|attended to|dealt with|looked after)"
    rf"( back)? by (a |an |the |your |one of your |some )?(\w+ )?({_PERSON})\b"
    rf"|\b(forward|redirect|route|reroute) (me|us|my call|this call|the call)( back)? (through |over |on )?to "
    rf"(a |an |the |your |one of your |some )?(real |actual |live |human )?({_PERSON})\b"
    # "I need to have a conversation with someone"; not "my last conversation with an agent".
    rf"|\b(have|having|start|open|need|want|like|hold) (a |an )?(quick |short |proper |private )?"
    rf"(conversation|discussion) (with|to) (a |an |the |your |some |one of your )?(real |actual |live )?(\w+ )?"
    rf"({_PERSON})\b"
    rf"|\b(get|put) (me )?(an? |the |your |one of your |some )?(\w+ )?({_PERSON}) on the (phone|line|call)\b"
    # "tell the concierge to ring my room", "ask the fraud team to call me back".
    rf"|\b(tell|ask|get|have) (the |your |one of (the|your) )?({_PERSON}|(\w+ )?(team|department|dept|desk)) to "
    r"(call|ring|phone|contact|get back to|get in touch with) (me|us|my room|my phone|my mobile)\b"
    # "I want to take this up with one of your people", "raise this with somebody at the bank", "go over this with a
    # person", "sort this out face to face with someone at reception", "sit down with someone from the bank".
    rf"|\b(take (this|it|that|the matter|this matter|my case|my complaint) up|raise (this|it|that|the matter|my case"
    rf"|my complaint|the issue)|go (over|through) (this|it|that|everything|my \w+)|sort (this|it|that|things) out"
    rf"|have it out|sit down|run (this|it|that) (by|past)|talk (this|it|that) (through|over))\b[^.?!]{{0,30}}?"
    rf"\b(with|by|past) (a |an |the |your |some |one of (your|the) )?(real |actual |live )?(\w+ )?({_PERSON})\b(?!'s)"
    # "I want it handled by a member of your staff"; not "it was handled by an agent".
    rf"|\b(want|like|need|prefer|rather|have)\b[^.?!]{{0,20}}?\b(handled|dealt with|looked at|looked into|reviewed"
    rf"|checked|sorted( out)?|taken care of) by (a |an |the |your |some |one of (your|the) )?(real |actual |live )?"
    rf"(\w+ )?({_PERSON})\b(?!'s)"
    # "I need to see someone in person", "can i visit your office and meet someone", "to see a mortgage advisor";
    # not "I can see someone used my card".
    r"|\b(need|want|like|wish|(can|could|may) (i|we)|to|and) (to )?(see|meet|visit) (someone|somebody|a person"
    r"|a member of (your |the )?staff|an? (\w+ )?(advis[eo]r|banker|manager|consultant|specialist|agent|expert)"
    r"|(the|your|my) (\w+ )?(manager|advis[eo]r|banker))\b(?!'s)"
    # "can I book some time with my mortgage adviser", "arrange a meeting with my relationship manager",
    # "book me in with a financial adviser"; not "I had a meeting with my relationship manager", nor how to book one.
    r"|(?<!how do i )(?<!how can i )(?<!how would i )(?<!how do we )(?<!how can we )"
    r"\b(book|arrange|schedule|set up|organi[sz]e|make|have|get|request|want|like|need)\b[^.?!]{0,12}?"
    r"\b(appointment|meeting|consultation|session|time|slot|video call|chat) with (a |an |the |my |your "
    r"|one of (your|the) )?(\w+ ){0,2}?(advis[eo]rs?|bankers?|managers?|consultants?|specialists?|agents?|experts?"
    r"|someone|somebody)\b(?!'s)"
    r"|\bbook (me|us) in with\b"
    # "I'd like a fraud investigator to handle my claim", "I want a bank officer to go through it with me".
    r"|(?<!do i )(?<!do we )(?<!would i )(?<!will i )\b(need|want|like|get|let) (an? |your |one of your |some )?(\w+ )?"
    r"(investigator|officer|banker|executive|employee|agent|representative|manager|supervisor|advis[eo]r)\b"
    r" to (handle|help|assist|look|check|review|deal|sort|go (through|over)|take over|call|ring|phone|contact"
    r"|follow up)\b"
    # "require a call from customer care".
    rf"|\brequire\b[^.?!]{{0,12}}?\b(phone |quick )?(call|callback|call back|ring)s? (from|with) "
    rf"(a |an |the |your |one of your |some )?(\w+ )?({_PERSON})\b"
    # "can one of your colleagues assist me", "can a member of staff help me with my reservation".
    r"|\b(can|could|would|will|may) (one of your (colleagues|agents|staff|team|advisers|advisors)|an agent"
    r"|a colleague|a member of (your )?(staff|team)|a staff member|a human|a real person|an advis[eo]r|an employee"
    r"|a representative)"
    r" (please )?(assist|help|serve|attend to)\b"
    # "I need an expert", "can I consult a specialist"; not "I need expert advice" nor "an expert opinion".
    r"|\b(need|want|consult|consult with|speak to an?|talk to an?)( an?| your| some| one of your)?"
    r"( sleep| mattress| product| technical| financial| mortgage| banking)? (experts?|specialists?|advis[eo]rs?"
    r"|consultants?)\b(?!'s| (advice|opinion|review|tips?|guide|recommend\w*|says?|said|reviews?|view|fees?|costs?"
    r"|charges?|prices?|rates?|commission))"
    # "need a customer care call", "I want an agent call back".
    r"|\b(need|want|request|get|like)\b[^.?!]{0,10}?\b(an? |the )?(customer (care|service|support)|agent|executive"
    r"|advis[eo]r|manager) (call|call back|callback)\b(?! (cent|charg|cost|fee|time|hour|log|record))"
    # "can someone from the bank help me with that?", "I need somebody at reception to call me".
    r"|\b(can|could|would|will|please|need|want|like|let|get|have)\b (someone|somebody|a person|a human) "
    r"(from|at|in|on) (the |your )?(bank|hotel|branch|office|shop|store|reception|front desk"
    r"|(\w+ )?(team|department|desk))"
    r"\b[^.?!]{0,30}?\b(help|assist|look|handle|sort|deal|call|ring|phone|contact|get back)\b"
    # "can the reception call my room please", "have the fraud department contact me".
    rf"|\b(can|could|would|please|have|get) (the |your |one of (the|your) )?({_PERSON}|(\w+ )?(team|department|desk))"
    r" (please )?(call|ring|phone|contact|get back to) (me|us|my room|my phone|my mobile)\b(?! an? (taxi|cab|car|uber))"
    # "i need the card department", "I want the fraud team".
    r"|\b(need|want|wanna|like|have)( to (speak|talk|chat) (to|with))? (the |your )?(\w+ )?(department|dept)"
    r"(?=\W*$|\W*(please|pls|now|asap|to|for|about|regarding)\b)"
    # A desk or team asked for and nothing else: "billing department please", "the fraud team please".
    r"|^\W*(the |your )?(\w+ ){1,2}(department|dept|team|desk)\W*(please|pls|plz|now)\W*$"
    r"|\b(need|want|wanna)( to (speak|talk|chat) (to|with))? (the |your )?(fraud|mortgages?|loans?|cards?|sales|billing"
    r"|accounts|complaints|support|customer service|lost cards?) team"
    r"(?=\W*$|\W*(please|pls|now|asap|to|for|about|regarding)\b)"
    # "are any of your agents available", "is a human available now"; not "are agents available on Sunday?" (hours).
    r"|\b(any|an|a)( of your| of the)? (real |live |human )?(agents?|advis[eo]rs?|humans?"
    r"|representatives?|operators?|executives?) (available|free|online)\b(?! (on|at|in|during|until|till|from|after"
    r"|before|between|over|every|each|24|weekends?|sundays?|saturdays?|tomorrow|tonight|today)\b)"
)

ERROR_CODE = _at_word_starts(
    r"\b(e|err)[ -]?\d{2,4}\b|\b0x[0-9a-f]{1,8}\b|\b(error|fault)( code)?[ :#-]*[a-z]?\d+\b",
)
# Not after "do", "can", "how"...: "how do I reset it?" asks how, it does not say what was tried.
ALREADY_TRIED = _at_word_starts(
    r"(?<!do )(?<!can )(?<!could )(?<!should )(?<!would )(?<!will )(?<!shall )(?<!how )(?<!to )(?<!if )"
    r"\b(already|i've|i have|i|we've|we have|we) (already )?(tried|checked|reset|restarted|rebooted|replaced|"
    r"reinstalled|unplugged|swapped|followed|re-?paired|cleared|updated)\b",
)
PROBLEM = _at_word_starts(
    r"\b(not working|doesn'?t work|does not work|won'?t|will not|can'?t|cannot|can not|isn'?t|not showing|"
    r"stopped|stuck|broken|error|fault|wrong|missing|never arrived|not arrived|hasn'?t arrived|not received|"
    r"damaged|noise|leak|flicker\w*|beep\w*|charged twice|declined|failed|lost|stolen)\b",
)
NOT_HELPED = _at_word_starts(
    r"\b(didn'?t|did not|doesn'?t|does not|hasn'?t|has not|haven'?t|wasn'?t|not|won'?t) (help|work|fix|solve|change|"
    r"answer|explain|make)\w*\b"
    r"|\bstill (not|no|doesn'?t|won'?t|isn'?t|can'?t|the same|broken|nothing|dead|slow|declined|waiting)\b"
    r"|\bnot helpful\b|\bsame (problem|issue|error|thing|as before)\b|\bnot what I (asked|meant|need)\w*\b"
    r"|\b(like|as) you (said|told me|suggested)\b|\byou (said|told me) that\b|\b(isn'?t|is not|wasn'?t) there\b"
    r"|\bdoesn'?t (exist|match)\b|\bno such (option|button|setting|menu)\b|\bgr[ae]yed out\b"
    r"|\b(i'?ve|i have|i|we'?ve|we) (already )?(done|did|tried) (that|all (of )?that|this|it|those|everything)\b"
    r"|\b(done|tried) (that|all (of )?that) already\b"
    r"|\bno difference\b|\bnope\b|\bno (luck|joy|change|good)\b|\bnothing (changed|happen\w*|works?)\b"
    r"|\b(didn'?t|doesn'?t|does not|did not) (do|change) anything\b|\b(that'?s|it'?s) not (it|the (issue|problem))\b"
    r"|\b(you|that) (didn'?t|did not|doesn'?t|does not) answer\b|\bi (already )?(know|did) that\b"
    r"|\b(won'?t|doesn'?t|didn'?t) let me\b|\b(same thing|it) (happens|keeps happening)\b|\bkeeps happening\b"
    r"|\bstill (getting|showing|says|saying|happening|having|stuck|there|can'?t|doesn'?t|won'?t|isn'?t)\b"
    r"|\b(makes|made) no (difference|sense)\b|\bdoesn'?t make sense\b|\b(but|and) (it|that) (still|didn'?t)\b"
    r"|\b(don'?t|doesn'?t|do not|does not) (match|exist)\b|\bno \w+ (option|button|setting|menu|link|tab)\b"
    r"|\bthat'?s not what\b|\bi did,? but\b|\bbut what about\b|\bdid all (this|that)\b"
    r"|\b(asked|told you|said) (this |that )?(twice|before|already|again|\w+ times)\b"
    r"|\bonly (lets|let|allows|gives|shows|has|offers) (me|us|an?|the|one)\b|\b(takes|sends|brings) me back\b"
    r"|\b(goes|going|sends? me|takes? me) (round |around )?in (a )?(loop|circles?)\b"
    r"|\b(was|were|am|i'?m|we'?re) already (on|in|using|doing)\b|\byou('ve| have)? (just )?(repeated|copied)\b"
    r"|\b(that'?s|this is|it'?s|those are|these are) (only )?(for|about) (an? )?(android|iphone|ios|windows|mac|"
    r"different|another|the other|old|the old)\b|\b(looks|is) nothing like\b",
    elsewhere=r"^\W*(tried|done|did) (that|this|it|all that)\b|(^|, )nothing\b",
)
# What a follow-up points at when it says the answer fell short ("that link", "the code you sent").
ANSWER_REFERENCE = _at_word_starts(
    r"\b(that|this|the|those|these|your) (link|page|option|button|setting|menu|code|guide|steps?|instructions?|"
    r"article|form|email|method|fix|tip|answer|screen|tab|tracking number|video|manual|number you)s?\b"
    r"|\byou (gave|sent|mentioned|suggested|said|told|linked|showed)\b",
)
NEGATIVE = _at_word_starts(
    r"\b(no|not|never|nothing|nowhere|none|same|still|cannot|invalid|expired|broken|wrong|fails?|failed|error\w*|"
    r"\w+n't|dont|doesnt|didnt|cant|wont|isnt|hasnt|havent|wasnt|arent)\b",
)
FRUSTRATION = _at_word_starts(
    r"\b(useless|ridiculous|terrible|awful|worst|pathetic|frustrat\w*|"
    r"(?<!which is )(?<!which was )(?<!a bit )(?<!bit )(?<!slightly )annoy\w*|fed up|sick of|sick and tired|"
    r"unacceptable|waste of (my )?time|fraud|wtf|ffs|damn|hell|shambles|disgrace\w*|disgusting|outrage\w*|"
    # "this is a joke" is angry; "tell me a joke" is small talk.
    r"(?<!tell me a )(?<!tell us a )(?<!know a )(?<!know any )(?<!another )joke|"
    r"shocking|appalling|hopeless|nightmare|furious|livid|unbelievable|can'?t believe|rip ?off|robbery|rubbish|"
    r"seriously\W*\?|are you (kidding|joking|serious)|you'?re (joking|kidding)|for god'?s sake|losing (my )?patience|"
    r"had enough|a mess|beyond a joke|lied|costing (us|me)|seriously|come on(?= *[.!,]| *$)|not happy|unhappy|"
    r"(very |so )?(bad|poor) service|every time I|getting (silly|ridiculous|stupid|worse)|"
    r"how many times (do|have|must) I|still waiting|disaster|impossible|incompetent|"
    r"(?<!i am )(?<!i'm )(?<!im )clueless|unreal|disgusted|disappointed|let down|fuming|gutted|"
    r"not good enough|(?<!which )(it'?s|this is|that'?s|you'?re|you are|is|are|been) taking forever|what is going on|"
    r"(?<!managed to )(?<!i'll )(?<!i will )(?<!we'll )sort it out|you people|"
    r"(second|third|fourth|fifth|\d+(st|nd|rd|th)) time (i'?m |i am |i have |i'?ve )?(asking|asked|contacting|"
    r"chasing|calling|writing)|"
    # Sarcasm after an answer: "wow. great. so I'm just supposed to wait?" ("I'm supposed to get a refund" is not).
    r"(i'?m|im|i am|we'?re|we are|so) just supposed to|supposed to just (wait|sit|accept|put up|live)|"
    r"thanks for nothing)\b",
    elsewhere=r"[!?]{3,}",
)

# The bot itself blamed, with no angry word: "you don't understand anything I say", "you're not helping at all",
# "going round in circles with this bot", "this assistant is pointless", "you keep misunderstanding me". Frustration
# for escalation and the satisfaction estimate (:func:`text_sounds_frustrated`); not among the classifier's features,
# which it was trained without.
BOT_BLAMED = _at_word_starts(
    r"\byou (don'?t|do not|never) (understand|get it|listen)\b|\b(you'?re|you are) (not|no) help(ing)?\b(?![^.!?,]*\?)"
    r"|\b(going|go|went|running|run) (a)?round in circles\b"
    r"|\byou keep (misunderstanding|getting (it|this|that|everything) wrong|giving me the same|sending me the same"
    r"|repeating)\b"
    r"|\b(this|the|your|stupid|dumb) (bot|chatbot|chat bot|assistant|robot)( is| are|'s)? (pointless|stupid|dumb"
    r"|hopeless|no help|not helping|not helpful|crap)\b"
    r"|\byou (clearly |obviously |just )?(can'?t|cannot|aren'?t able to) help( me)?\b(?![^.!?]*\?)",
)


def text_sounds_frustrated(text: str) -> bool:
    """Frustration (:data:`FRUSTRATION`) or the bot itself blamed (:data:`BOT_BLAMED`)."""
    return text_has(FRUSTRATION, text) or text_has(BOT_BLAMED, text)


SMALL_TALK_WORDS = frozenset(
    """hi hello hey hiya heya yo good morning afternoon evening night day gudnt goodnight thanks thank you thx ty tysm
    tnx thanx cheers ok okay k kk alright great perfect cool nice lovely wonderful awesome super fine sure sounds got it
    understood noted yes yeah yep yup ya no nope bye goodbye see later soon appreciate appreciated much so a lot very
    that's that is all for now again sir madam team there anyone anybody you're welcome will do that's it the
    help helped helpful have day too never mind nvm forget sorry pardon later laters definitely absolutely indeed
    exactly correct right true maybe perhaps hmm hm um uh oh ah ahh lol haha wow oops talk ttyl to obliged fair
    enough worries was are still u""".split()
)
# Words of "it worked, thanks" after an answer: an acknowledgement, not a new request.
RESOLVED_WORDS = frozenset(
    """worked works working fixed sorted solved did trick done back now it its it's all good found booked loaded
    brilliant fab fantastic excellent amazing ta cheers pal mate what needed just everything thanks thank that
    this one sec minute moment hold on wait brb""".split()
)
# Replies with nothing to look up that the word list cannot see: asking the bot to repeat itself, "are you
# online?", "I don't know", "let me think about it and come back". Anchored at both ends, so "I don't know why
# my card was declined" is not one.
SMALL_TALK_PHRASE = re.compile(
    r"^\W*((sorry|ok|okay|hmm|oh|ah|right|thanks)\W+)*("
    r"(can|could|would) (you|u) (please )?(repeat|say)( (that|it|this|what you said))?( again)?( please)?"
    r"|what did (you|u) (just )?say|come again|say (that|it) again|repeat (that|please)"
    r"|(are|r) (you|u) (still )?(online|there|awake|around|alive)( still)?"
    r"|i (didn'?t|did not) (catch|get|hear|understand) (that|you|what you said)"
    r"|(i|we) (really |honestly )?(don'?t|do not|dont) (really )?know( yet| sorry)?|dunno|no idea"
    r"|((i'?m|i am|we'?re|we are) )?(still )?not (really )?sure( yet| about that| sorry)?"
    r"|(i'?m|i am|we'?re|we are) still (deciding|undecided|thinking( about it)?)\b[^?]{0,50}"
    r"|(i'?ll|i will|let me|we'?ll|we will) (have a )?(check|think|look|ask|talk it over|discuss|measure|sleep on it)"
    r"\b[^?]{0,40}\b(come back|get back|let you know|back to you|later|tomorrow)"
    r")\W*$",
    re.IGNORECASE,
)
# Being called, refused or meant otherwise: "please don't call me", "no need to ring me back", "ask them not
# to phone me", "stop calling me", "can reception call me a cab?". Not a request for a person by itself;
# what else the message says may be one ("don't call me, let me chat with an agent").
NOT_CALLED = re.compile(
    r"(?<!\bwhy )\b(don'?t|do not|does not|doesn'?t|never|no need to|not to|stop|quit)\b[^.?!,;]{0,20}?"
    r"\b(call|ring|phone|contact)(ing)? (me|us)( back| again| anymore| any more)?\b"
    r"|\b(call|ring|phone|get) (me|us) an? (taxi|cab|car|uber|ola|ride|ambulance)\b",
    re.IGNORECASE,
)
# A call or message the customer had from the shop, told as what happened: "someone from your bank called me
# yesterday", "your rep emailed me about a warranty extension, is that real?". A question about it is a fact or a
# problem to look into, not a request for a person; wanting that person again ("I want to speak to him again",
# "can they call me back?") is one, so :data:`CALL_RECEIVED_WANTS_MORE` keeps the classifier's vote then.
CALL_RECEIVED = re.compile(
    r"\b(someone|somebody|some ?one|a (guy|man|woman|lady|person|girl|caller|gentleman)|an? (agent|rep|representative"
    r"|executive|advis[eo]r)|your (\w+ )?(agent|rep|representative|executive|team|staff|people|colleague|guy|person"
    r"|manager|advis[eo]r|call cent(er|re))|(the|your) (delivery|courier) (guy|man|person|team|boy|partner)"
    r"|you( guys)?)"
    r"( (from|at|with) [^.!?,]{1,30})? (just |already |also |have |had |has )?(called|phoned|rang|texted|messaged"
    r"|emailed|contacted|whatsapped|dialled|dialed) (me|us)\b",
    re.IGNORECASE,
)
CALL_RECEIVED_WANTS_MORE = re.compile(
    r"\b(speak|talk|chat|connect|transfer|put me through|reach|get hold|back|again|return (the|their|his|her) call)\b",
    re.IGNORECASE,
)
SMALL_TALK_MAX_WORDS = 10
FAILURE_REPORT_MAX_WORDS = 12
LONG_MESSAGE_WORDS = 60


def text_asks_for_person(text: str) -> bool:
    """A request for a person: :data:`HANDOFF` or :data:`HANDOFF_NAMED`, or "call me" that is not a question about
    being called.

    A question about whether the shop calls (:data:`CALL_PROCESS_QUESTION`) is not one; what follows it may be.
    """
    text = NOT_CALLED.sub(" ", text)
    process = CALL_PROCESS_QUESTION.search(text)
    rest = text[process.end() :] if process else text
    if HANDOFF.search(rest) or (PERSON_NAMED.search(rest) and HANDOFF_NAMED.search(rest)):
        return True
    # "call me" outside every question about being called ("what do you need to call me back? … call me now").
    asked = [match.span() for match in CALL_QUESTION.finditer(text)]
    return any(not any(start <= call.start() < end for start, end in asked) for call in CALL_ME.finditer(text))


def text_refuses_a_call(text: str) -> bool:
    """Being called refused or meant otherwise (:data:`NOT_CALLED`), and no request for a person besides."""
    return NOT_CALLED.search(text) is not None and not text_asks_for_person(text)


def text_tells_of_a_call(text: str) -> bool:
    """A call or message had from the shop, told or asked about (:data:`CALL_RECEIVED`), with no wish to reach
    that person again and no request for a person besides."""
    return (
        CALL_RECEIVED.search(text) is not None
        and CALL_RECEIVED_WANTS_MORE.search(text) is None
        and not text_asks_for_person(text)
    )


def text_asks_how_calls_work(text: str) -> bool:
    """A question how callbacks work (:data:`CALLBACK_HOW_QUESTION`): a fact, not a handoff."""
    return CALLBACK_HOW_QUESTION.search(text) is not None and not text_asks_for_person(text)


def text_reports_failure(text: str) -> bool:
    """After an answer: "that didn't help" in words, or a short problem report with no new question.

    Short, because that is how the outcome of an answer is reported ("it beeps and does nothing"); a long
    message or one with a new error code describes a new problem, which is routed on its own content.
    """
    if text_has(NOT_HELPED, text):
        return True
    # "the link you sent says expired", "that page is not there": the answer itself named, and it fell short.
    names_answer = ANSWER_REFERENCE.search(text) is not None
    if names_answer and NEGATIVE.search(text) and len(text_words(text)) <= 2 * FAILURE_REPORT_MAX_WORDS:
        return True
    if len(text_words(text)) > FAILURE_REPORT_MAX_WORDS or text_has(ERROR_CODE, text) or "?" in text:
        return False
    if LAUGHTER.search(text):
        return False  # "so humid today, even my phone is sweating lol": chatter, not how the answer went
    return _distinct(SYMPTOM, text) >= 1 and not text_is_small_talk(text) and not text_asks(text)


def text_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def text_is_small_talk(text: str) -> bool:
    """Greetings, thanks and acknowledgements (including "that worked, thanks") with nothing else in them."""
    words = text_words(text)
    if not 0 < len(words) <= SMALL_TALK_MAX_WORDS + 4:
        return False
    if SMALL_TALK_PHRASE.match(text):
        return True
    return len(words) <= SMALL_TALK_MAX_WORDS and all(
        word in SMALL_TALK_WORDS or word in RESOLVED_WORDS for word in words
    )


def text_problem_count(text: str) -> int:
    """Distinct problem phrases; two or more in one message means several problems or steps."""
    return len({match.group(0).lower() for match in PROBLEM.finditer(text)})


def text_question_count(text: str) -> int:
    return len(re.findall(r"\?+", text))


def text_complexity_signals(text: str) -> list[tuple[str, str]]:
    """(signal, reason) pairs precise enough to make a message Thinking on their own."""
    signals = []
    if match := ERROR_CODE.search(text):
        signals.append(("error_code", f"mentions error code {match.group(0)!r}"))
    if text_has(ALREADY_TRIED, text):
        signals.append(("already_tried", "says what was already tried"))
    return signals


def text_rule_signals(text: str) -> list[tuple[str, str]]:
    """The coarser signals the router falls back on when it has no classifier: several problems or questions."""
    signals = []
    if (problems := text_problem_count(text)) >= 2:
        signals.append(("several_problems", f"describes {problems} problems"))
    if (questions := text_question_count(text)) >= 2:
        signals.append(("several_questions", f"asks {questions} questions"))
    if (words := len(text_words(text))) > LONG_MESSAGE_WORDS:
        signals.append(("long_message", f"long detailed message ({words} words)"))
    return signals


def text_overlap(left: str, right: str) -> float:
    """Jaccard overlap of the word sets; a cheap stand-in for 'the same question again'."""
    left_words, right_words = set(text_words(left)), set(text_words(right))
    if not left_words or not right_words:
        return 0.0
    return len(left_words & right_words) / len(left_words | right_words)


def text_repeats(text: str, *, earlier: Iterable[str], threshold: float = 0.6) -> bool:
    # Small talk ("thanks", "ok") repeats all the time without being the same problem.
    if text_is_small_talk(text) or len(text_words(text)) < 3:
        return False
    return any(text_overlap(text, previous) >= threshold for previous in earlier)


# --- Complexity features ---------------------------------------------------------------
# Each family is one regex; what counts is how many distinct matches a message has, so a
# family reads "how many constraints / symptoms / changes", not "is the word there".

_NUMBER = r"\d+(?:[.,]\d+)*"
_COUNTED = (
    r"people|persons|adults|kids|children|users|seats|licen[cs]es|staff|employees|rooms|units|pieces|items|boxes|"
    r"parcels|sims?|lines|laptops|desks|chairs|beds|mattresses|tablets|phones|devices|pupils|students|delegates|"
    r"guests|sites|offices|stores|shops|volunteers|riders|players|drivers|workers|nights|bedrooms|cushions|pillows|"
    r"stools|tables|trips|journeys|calls|washes|pages|tickets|passengers|travellers|cards|accounts|payments"
)
_UNIT = (
    r"mm|cm|m|km|kg|g|lbs?|stone|st|inch(?:es)?|in|ft|feet|foot|gb|tb|mb|mbps|gbps|mb/s|mins?|minutes?|hrs?|hours?|"
    r"h|days?|nights?|weeks?|wks?|months?|mths?|years?|yrs?|yo|sq ?m|degrees|watts?|w|k|p|pounds?|quid|euros?|"
    r"dollars?|usd|gbp|eur|%|percent|am|pm"
)
QUANTITY = _at_word_starts(
    rf"\b{_NUMBER}\s?(?:{_UNIT})(?![a-z])"
    rf"|\b{_NUMBER}\s?(?:x|by)\s?{_NUMBER}"
    rf"|\b{_NUMBER}\s(?:\w+\s)?(?:{_COUNTED})\b|\b\d+\s(?:\w+\s)?[a-z]{{3,}}s\b"
    r"|\b(?:family|group|party|team|household|class) of \d+|\b\d+ of (?:us|them)\b"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    rf"a couple of|a few|several|half a|half)\s(?:\w+\s)?(?:months?|years?|weeks?|days?|nights?|hours?|{_COUNTED})\b"
    r"|\b(?:aged|age|i'?m|he'?s|she'?s|is|are) \d{1,2}\b(?! ?(?:am|pm|th|st|nd|rd))"
    r"|\b\d(?:'|ft ?)\d{1,2}\b",
    elsewhere=rf"[£$€]\s?{_NUMBER}(?:\s?[km]\b)?",
)
ASK_MARKER = _at_word_starts(
    r"\b(also|as well|another (question|thing)|one more thing|plus|secondly|and then|on top of that|"
    r"and (what|how|when|where|which|can|could|do|does|is|are|will|would|should|if|whether))\b",
)
_QUESTION_START = re.compile(
    r"^(?:(?:and|also|so|but|ok|okay|hi|hello|thanks|then|plus|or)\W+)*"
    r"(how|what|what's|whats|which|when|where|why|who|can|could|do|does|did|is|are|will|would|should|shall|may|"
    r"am|have|has|any|whether)\b",
    re.IGNORECASE,
)
# "and how much is it" starts a new question; "and does nothing" or "and when I log in" does not.
_SENTENCE_SPLIT = re.compile(r"[.?!;\n]+|\s+(?:and|also|plus|or)\s+(?=(?:how|what|why)\b)|\s+-\s+")
# After a comma these usually open a relative clause ("..., which is exciting"), not a question.
_RELATIVE_START = re.compile(r"^(which|who|whom|whose|where|when|whether)\b", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"[,;:\n+/]|\.\s|\.$|\s-\s|\s–\s|\s—\s")
COMPARISON = _at_word_starts(
    r"\b(vs\.?|versus|compar\w*|cheaper|cheapest|better|best value|worth (it|switching|paying|the)|works? out|"
    r"costs? (me )?less|difference between|rather than|instead of|saves? (me )?more|more expensive|overall|"
    r"or (should|would|just|is it|do i|buy|pay|keep|get|use|take|wait|switch|stay|book|go)|"
    r"which (is|one|option|plan|works|would|costs|gets|saves|should|comes))\b",
)
CONDITIONAL = _at_word_starts(
    r"\b(if|unless|otherwise|in case|assuming|provided|depending on|whether|would i|will i still|do i still|"
    r"can i still|am i still|given (that|the)|even though|considering)\b",
)
BUDGET = _at_word_starts(
    r"\b(budget|under|max|maximum|no more than|up to|around|about|less than|spend|afford|cap)\b[^.?!\d]{0,12}"
    r"[£$€]?\d",
)
RECOMMEND = _at_word_starts(
    r"\b(recommend\w*|suggest\w*|advice|advise|ideas|which (one|plan|tier|option|model|mattress|sofa|bed|laptop|tv|"
    r"phone|package|account|card|tariff|hotel|flight|fridge|vacuum)|what (would|should|do) (you|i|we) (suggest|"
    r"recommend|need|get|pick|choose)|best (for|option|plan|phone|laptop|tv|mattress|account|card)|looking for|"
    r"what (are )?my options|should i (get|buy|choose|pick|go for)|would suit|suits? me|what would work|"
    r"(what|which) \w+( \w+)? (do|would|should|will) (i|we) (need|get|choose|pick|go for|want)|"
    r"which \w+( \w+)? (is best|suits|fits|works)|(what|which) \w+( \w+)? (should|would|do|could) (i|we) (book|"
    r"buy|take|order|open|sign up for|go for|go with|switch to)|what (\w+ )?(do|would|can) you (have|offer|do) for|"
    r"what (do|would|can) you (have|offer)\b"
    r"(?=[^.!]*\?)|(what|which) (mattress|sofa|bed|chair|laptop|tv|phone|plan|tariff|account|card|fare|hotel|"
    r"package|deal|option|tier|one)(?=\W*$)|(what|which) (mattress|sofa|bed|chair|laptop|tv|phone|plan|tariff|account|"
    r"card|fare|hotel|package|deal|tier) for\b)\b",
)
PERSONAL_CONSTRAINT = _at_word_starts(
    r"\b((side|back|stomach) sleeper|sleeps? hot|back pain|bad back|neck pain|hip|knee|arthritis|asthma|allerg\w*|"
    r"eczema|scoliosis|wheelchair|walker|disab\w*|hard of hearing|eyesight|toddler|baby|infant|kids?|children|"
    r"teen\w*|elderly|grand\w*|mum|dad|parents|pregnan\w*|dogs?|cats?|pets?|tall|short|heavy|small (room|flat|space)|"
    r"narrow|stairs|lift|sloped|vegan|vegetarian|coeliac|gluten|halal|self-employed|freelanc\w*|student|retired|"
    r"must|needs? to|has to|have to|can'?t be|cannot|only|ideally|prefer\w*|don'?t want|doesn'?t want|hates?|"
    r"quiet|light|portable|frost free|wipe\w*|step-free|near|rural|village|abroad|travel\w*|snor\w*|light sleeper|"
    r"(i'?m|im|i am|she'?s|he'?s|they'?re) (only |just )?\d{1,2}(?=\s*[,.;]|\s*$|\s+(and|but|so|with|now))|"
    r"\d+ ?(year|yr)s? old|aged|sciatica|glasses|hard of|wants?|might|need(s)? (it|one|something)|i have|we have|"
    r"we'?re|partner|husband|wife|son|daughter|nan|flatmates?|work from home|commut\w*|emergency|irregular\w*|"
    r"weekly|shifts?|beginners?|first time)\b",
)
SYMPTOM = _at_word_starts(
    r"\b(no (internet|signal|service|sound|picture|power|dial tone|data|wifi|hot water|heating|light|cash|tracking)|"
    r"keeps? \w+ing|stopped|won'?t|doesn'?t|isn'?t|aren'?t|can'?t|not (working|charging|connecting|loading|cold|"
    r"drying|draining|spinning|syncing|sending|arriving|showing|moving|accepted|coming)|drops?|dropping|dropped|slow|"
    r"flash\w*|blink\w*|red|orange|beep\w*|nois\w*|loud|crash\w*|freez\w*|overheat\w*|hot|loose|crack\w*|broke\w*|"
    r"stuck|sag\w*|dip|leak\w*|smell\w*|squeak\w*|creak\w*|wobbl\w*|buzz\w*|hum\w*|fail\w*|error|declined|missing|"
    r"pending|twice|dead|faded|split|snapped|scratch\w*|dent\w*|wrong|lost|disappeared|locked|frozen|bounced|"
    r"cut(s|ting)? out|buffer\w*|lag\w*|jam\w*|rattl\w*|grind\w*|click\w*|spark\w*|burnt|damp|blank|black|dies|"
    r"died|unknown|delayed|late|cancelled|sinking|poking|crackl\w*|muffled|swallowed|charged|less than|more than|"
    r"errors?|erroring|expired|empty|loop\w*|spins?|spinning|404|timed out|times out|"
    r"(logs?|kicks?|throws?) (me|us) out|never (arrives?|comes?|shows?|loads?|works?)|"
    r"didn'?t (get|receive|come|arrive)|never (got|came|arrived)|"
    r"not received)\b",
)
TRIED = _at_word_starts(
    r"\b(tried|already|restart\w*|reboot\w*|reset|reinstall\w*|re-?install\w*|cleared|cleaned|checked|unplugged|"
    r"re-?paired|replaced|swapped|updated|power cycled|reseated|rolled back|followed|still|even after|"
    r"same (error|problem|issue|thing)|done (that|all)|did that|again|twice|\d+ times|x\d)\b",
)
BUSINESS = _at_word_starts(
    r"\b(office|company|business|corporate|staff|employees|team of|our team|bulk|wholesale|trade|quote|invoic\w*|"
    r"terms|branded|logo|custom|bespoke|school|hotel|care home|charity|nonprofit|university|restaurant|chain|sites|"
    r"per seat|seats|licen[cs]es|sla|sso|saml|delegates|fit(ting)? out|refurb\w*|procurement|cost cent\w*|"
    r"account manager|trust|agency|contractors|resale|install\w*|deliver\w*|set up|same day|by the|before the|firm|"
    r"fleet|club|practice|salon|clinic|branches|venue|event|conference)\b",
)
ORDER_PARTS = _at_word_starts(
    r"\b(only (one|two|three|\d+|half|part|the)|\d+ of (the |my )?\d+|(one|two|three|\d) of the|the rest|rest of|"
    r"remaining|missing|didn'?t (come|arrive)|hasn'?t (come|arrived)|never (came|arrived)|not (here|there|arrived|"
    r"included|delivered)|wasn'?t (there|included|on the van|in the box)|same (order|package|checkout)|"
    r"(from|in|with) the same|separately|separate|other (items?|parts?|parcels?|half|one)|half (my|the|of)|"
    r"partial\w*|split|part of|arrived but|came but|but (not|no)|boxes|parcels|bundle|package|both|together)\b",
)
CHANGE = _at_word_starts(
    r"\b(swap\w*|switch\w*|add\w*|remov\w*|drop\w*|upgrad\w*|downgrad\w*|instead|extend\w*|reduc\w*|increas\w*|"
    r"cancel\w*|keep (the|my)|take off|bump|cut|lower|raise|put|make it|go(ing)? from|move (the|my|delivery|billing|"
    r"renewal|half|from)|change (the|my|delivery|both|it|to))\b",
)
PRICE_QUESTION = _at_word_starts(
    r"\b(new total|total|how much (more|extra|will|would|do)|what (would|do|will|does) (i|we) (owe|pay)|difference|"
    r"diff|prorat\w*|new (price|monthly|bill)|monthly cost|cost|costs|price|fees?|owe|charge|bill (look|be)|discount|"
    r"lose|credit|refund)\b",
)
CLAIM = _at_word_starts(
    r"\b(covered|cover it|warranty|guarantee|claim\w*|refund\w*|return\w*|compensation|entitled|owed|chargeback|"
    r"money back|reimburs\w*|appeal|fair|defect\w*|wear and tear|get (that|it|this) back|send it back|exchange)\b",
)
CLAIM_DETAIL = _at_word_starts(
    r"\b(\d+ ?(months?|weeks?|days?|years?|nights?|hours?|h)( old| ago| after| later)?|after \d+|bought|paid|used|"
    r"dropped|ordered|cancelled|booked|had it|i've had|we've had|signed|threw|lost|broke|snapped|split|"
    r"delivered|arrived|renewed|billed|charged|missed)\b",
)
POLICY_GENERAL = _at_word_starts(
    r"\b(your (policy|return|refund|warranty|guarantee|cancellation|terms|rules?)|"
    r"what('s| is| are) (the|your) (policy|rules?|fee|charge|limit|warranty|guarantee|return)|"
    r"do you (offer|charge|allow|have|refund|do|accept|keep|take|price)|is there a (fee|charge|limit|minimum)|"
    r"how (long|late|much notice)|policy)\b",
)
# Something that should have happened by now: a status question becomes a problem once it is overdue.
OVERDUE = _at_word_starts(
    r"\b(since (last |this )?(mon|tues|wednes|thurs|fri|satur|sun)day|since (last|this|yesterday|the \d+|\d+\w*|"
    r"jan\w*|feb\w*|march|april|may|june|july|aug\w*|sept?\w*|oct\w*|nov\w*|dec\w*|morning|then|before|ages)\b|"
    r"\d+ (days?|weeks?|months?|hours?) (ago|now|later)|ages|long ago|(was|were) "
    r"(supposed|meant|due|promised|expected) to|still (not|no|hasn'?t|haven'?t|waiting|nothing)|not (yet|arrived|"
    r"received|here|come)|hasn'?t (arrived|come|shown|appeared|gone through)|never (arrived|came|received|showed)|"
    r"overdue|late|delayed|waiting (for|since)|where('s| is| are) (my|the) (money|refund|transfer|payment|order|"
    r"parcel|card|package|delivery|item|deposit|cash|salary))\b",
)
# A reply that starts with yes/no/ok: often a confirmation carrying a time or number, not a request.
REPLY_START = re.compile(
    r"^\W*(yes|yeah|yep|yup|no|nope|nah|ok|okay|sure|fine|alright|right|correct|exactly|of course|that'?s (right|"
    r"correct|it|fine))\b",
    re.IGNORECASE,
)
FIRST_PERSON = re.compile(r"\b(i|i'm|im|i've|i'd|my|me|we|we're|we've|our|us)\b", re.IGNORECASE)


def _bucket(count: int, *, edges: tuple[int, ...]) -> str:
    """The largest edge that ``count`` reaches, e.g. edges (1, 2, 3) read 0, 1, 2 or 3+."""
    reached = [edge for edge in edges if count >= edge]
    if not reached:
        return "0"
    return f"{reached[-1]}+" if reached[-1] == edges[-1] else str(reached[-1])


# One routing decision asks several of its checks whether the same pattern is in the same message (the rules, the
# escalation and the classifier's features all look for "didn't help" or frustration); the answers are remembered
# for the last few messages, so each long pattern runs once per message.
_RECENT = 256


@lru_cache(maxsize=_RECENT)
def text_has(pattern: Pattern, text: str) -> bool:
    """Whether ``pattern`` occurs in ``text``: ``pattern.search(text) is not None``, remembered."""
    return pattern.search(text) is not None


@lru_cache(maxsize=_RECENT)
def _distinct(pattern: Pattern, text: str) -> int:
    return len({match.group(0).lower() for match in pattern.finditer(text)})


def text_asks(text: str) -> int:
    """How many separate asks a message carries: question clauses, or question marks, whichever is more."""
    questions = 0
    for sentence in _SENTENCE_SPLIT.split(text):
        parts = [part.strip() for part in sentence.split(",") if part.strip()]
        for position, part in enumerate(parts):
            if _QUESTION_START.match(part) and not (position and _RELATIVE_START.match(part)):
                questions += 1
    return max(questions, text_question_count(text))


# "When are your agents available?", "what hours does support work?": a fact to answer, not a request.
WHEN_AVAILABLE = re.compile(
    r"^\W*(when|what (time|times|hours|days)|which (days|hours))\b[^.!?]{0,40}\b(available|open|work|working|online"
    r"|reachable)\b[^.!]*\??\W*$"
    # "do your chat agents work on weekends, and until what time?": their hours, asked yes-or-no, with or without
    # the question mark ("is your support team available on sundays").
    r"|^\W*(do|does|are|is|will)\b[^.!?]{0,30}\b(agents?|team|staff|people|support|someone|anyone)\b[^.!?]{0,20}"
    r"\b(work|working|available|open|online|around)\b[^.!]*\b(weekends?|sundays?|saturdays?|holidays?|nights?"
    r"|evenings?|late|what time|hours)\b[^.!]*\??\W*$",
    re.IGNORECASE,
)


# "How long will your team take to get back to me?", "how soon do you reply to a complaint": how long the shop
# takes to answer, a fact; "when will someone get back to me?" is left to the request rule (:data:`HANDOFF`).
RESPONSE_TIME_QUESTION = re.compile(
    r"^\W*(how (long|soon|quickly|fast)|in how many (minutes|hours|days))\b[^.!?]{0,60}"
    r"\b(get(ting)? back|repl(y|ies|ying)|respond\w*|response|contact\w*|call\w*|hear\w*|answer\w*|reads?"
    r"|look(ed)? at)\b[^.!]*\??\W*$",
    re.IGNORECASE,
)


def text_asks_when_available(text: str) -> bool:
    """Asks when people are available (their hours) or how long they take to answer, without asking for one now."""
    return (
        WHEN_AVAILABLE.search(text) is not None or RESPONSE_TIME_QUESTION.search(text) is not None
    ) and not text_asks_for_person(text)


# "Has my complaint been escalated?", "how long does it take once a claim is escalated?": where a case stands or
# how escalation goes, a fact to answer; "I want this escalated" asks for it (:data:`HANDOFF`).
ESCALATION_QUESTION = re.compile(
    r"^\W*(has|have|was|were|is|are|did|does|will|how long|when|what happens|what)\b[^.!?]{0,50}"
    r"\b(escalated|escalation)\b[^.!]*\?\W*$",
    re.IGNORECASE,
)


def text_asks_about_escalation(text: str) -> bool:
    """Asks whether a case was escalated or how escalation goes (:data:`ESCALATION_QUESTION`), no request besides."""
    return ESCALATION_QUESTION.search(text) is not None and not text_asks_for_person(text)


# "Do your agents speak Spanish?", "what languages do your staff speak?", "does the team know about the recall?": a fact
# about the shop's people, asked as one question; "can your agents help me?" asks for one (no modal verb here).
STAFF_QUESTION = re.compile(
    r"^\W*(do|does|did|are|is|how many|what|which)\b([^.!?]{0,25}\b(do|does|are|is))? (of )?"
    r"(your|the|all (of )?your|any of your) (\w+ )?"
    r"(agents|staff|team|advis[eo]rs|reps|representatives|people|employees|operators|engineers|technicians)\b"
    r"(?! (call|ring|phone|contact|help|assist|take|handle|available|free|online|able|there|around|here)\b)"
    r"[^.!?]*\??\W*$",
    re.IGNORECASE,
)


def text_asks_about_staff(text: str) -> bool:
    """A question about the shop's people (:data:`STAFF_QUESTION`), no request for one besides."""
    return STAFF_QUESTION.search(text) is not None and not text_asks_for_person(text)


def text_asks_something(text: str) -> bool:
    """A question that is not small talk: "thanks! also, what's the ATM limit?" asks something, "you there?" not."""
    for clause in re.split(r"(?<=[.?!;,:\n])|\s[-\u2013\u2014]+\s", text):  # "ok. other thing - what are your hours"
        words = text_words(clause)
        is_question = clause.rstrip().endswith("?") or bool(_QUESTION_START.match(clause.strip()))
        if is_question and words and not all(word in SMALL_TALK_WORDS or word in RESOLVED_WORDS for word in words):
            return True
    return False


def text_list_shape(text: str) -> tuple[int, float]:
    """(segments, mean words per segment) when the text is cut at commas, full stops, dashes and slashes."""
    segments = [segment for segment in _LIST_SPLIT.split(text) if text_words(segment)]
    if not segments:
        return 0, 0.0
    return len(segments), sum(len(text_words(segment)) for segment in segments) / len(segments)


def text_final_ask_is_plain(text: str) -> bool:
    """The message ends in one plain ask (a fact, a policy, one action) and nothing before it reports a problem.

    The shape of a long friendly message that asks one thing ("...we've just moved in and the kids are thrilled.
    Does the Ellis bed come in white?"): the story may carry ages, dates and family, but the ask itself weighs
    nothing, compares nothing and claims nothing.
    """
    # Symptoms, several changes, or a business order with quantities are worked out whatever the last sentence asks.
    if _distinct(SYMPTOM, text) or _distinct(CHANGE, text) > 1:
        return False
    if text_has(BUSINESS, text) and _distinct(QUANTITY, text) >= 2:
        return False
    sentences = [sentence for sentence in re.split(r"(?<=[.?!])\s+|\n+", text.strip()) if text_words(sentence)]
    if not sentences:
        return False
    final = sentences[-1]
    if text_asks(final) != 1 or any(text_asks(sentence) for sentence in sentences[:-1]):
        return False
    weighing = (RECOMMEND, COMPARISON, CLAIM, CONDITIONAL, ORDER_PARTS)
    problem = (OVERDUE, NOT_HELPED, ALREADY_TRIED, ERROR_CODE)
    return not any(pattern.search(final) for pattern in weighing) and not any(
        text_has(pattern, text) for pattern in problem
    )


def text_complexity_features(text: str) -> dict[str, float]:
    """Named features of how much a message asks for; the classifier learns a weight for each.

    A request for a person, small talk and error codes are left out: the router's rules decide those
    messages before the classifier is asked, so at decision time such a feature would always be off.
    """
    words = text_words(text)
    quantities = _distinct(QUANTITY, text)
    asks = text_asks(text)
    symptoms = _distinct(SYMPTOM, text)
    budget = _distinct(BUDGET, text)
    constraints = _distinct(PERSONAL_CONSTRAINT, text) + budget
    changes = _distinct(CHANGE, text)
    business = _distinct(BUSINESS, text)
    order_parts = _distinct(ORDER_PARTS, text)
    segments, words_per_segment = text_list_shape(text)
    has_question = "?" in text or asks > 0
    personal = len(FIRST_PERSON.findall(text))
    comparison = COMPARISON.search(text) is not None
    conditional = CONDITIONAL.search(text) is not None
    recommend = RECOMMEND.search(text) is not None
    price_question = PRICE_QUESTION.search(text) is not None
    claim = CLAIM.search(text) is not None
    policy_general = POLICY_GENERAL.search(text) is not None
    reply_start = REPLY_START.search(text) is not None
    plain_final_ask = text_final_ask_is_plain(text)
    found = {
        f"quantities:{_bucket(quantities, edges=(1, 2, 3))}": 1.0,
        f"asks:{_bucket(asks, edges=(1, 2, 3))}": 1.0,
        f"symptoms:{_bucket(symptoms, edges=(1, 2, 3))}": 1.0,
        f"constraints:{_bucket(constraints, edges=(1, 2, 3, 4))}": 1.0,
        f"changes:{_bucket(changes, edges=(1, 2, 3))}": 1.0,
        f"tried:{_bucket(_distinct(TRIED, text), edges=(1, 2))}": 1.0,
        f"business:{_bucket(business, edges=(1, 2, 3))}": 1.0,
        f"order_parts:{_bucket(order_parts, edges=(1, 2))}": 1.0,
        f"personal:{_bucket(personal, edges=(1, 3, 6))}": 1.0,
        f"words:{_bucket(len(words), edges=(4, 8, 16, 30, 60))}": 1.0,
        f"segments:{_bucket(segments, edges=(2, 3, 5))}": 1.0,
    }
    flags = {
        "comparison": comparison,
        "conditional": conditional,
        "budget": budget > 0,
        "recommend": recommend,
        "ask_marker": ASK_MARKER.search(text) is not None,
        "price_question": price_question,
        "claim": claim,
        "policy_general": policy_general,
        "no_question": not has_question,
        "frustration": text_has(FRUSTRATION, text),
        "not_helped": text_has(NOT_HELPED, text),
        "overdue": OVERDUE.search(text) is not None,
        "several_asks": asks >= 2,
        "reply_start": reply_start,
        "short_reply": reply_start and len(words) <= 8 and not has_question,
        # Interactions a linear model cannot form itself: most name a kind of case in RULES.md.
        "terse_symptom_list": segments >= 2 and words_per_segment <= 6 and symptoms >= 2,
        "symptoms_without_question": symptoms >= 2 and not has_question,
        "comparison_with_amounts": comparison and quantities >= 1,
        "comparison_personal": comparison and personal >= 1,
        "recommendation_with_constraints": recommend and constraints >= 2,
        "constraints_with_amounts": constraints >= 2 and quantities >= 1,
        "changes_with_price": changes >= 2 and price_question,
        "business_with_quantities": business >= 1 and quantities >= 1,
        "claim_with_details": claim and personal >= 1 and CLAIM_DETAIL.search(text) is not None,
        "order_parts_personal": order_parts >= 1 and personal >= 1,
        "general_policy_question": policy_general and personal <= 1 and quantities == 0,
        "conditional_personal": conditional and personal >= 1,
        # The long-but-simple shape: a story, then one plain ask.
        "story_then_one_ask": len(words) >= 30 and asks <= 1 and symptoms <= 1 and changes <= 1 and quantities <= 1,
        "story_then_plain_final_ask": len(words) >= 25 and plain_final_ask,
        "plain_final_ask": plain_final_ask,
    }
    found.update({f"flag:{name}": 1.0 for name, present in flags.items() if present})
    return found
