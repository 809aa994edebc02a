"""The watchlist: which topics fire on which texts, with the words and highlights they report."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import watchlist as watchlist_module
from core.entities import BUILTIN_TOPICS
from core.models import ArticleText, Topic
from core.normalize import fold
from core.query import QuerySyntaxError
from core.watchlist import Watchlist, compile_watchlist, expansions, explain, recompile

BUILTIN = compile_watchlist(BUILTIN_TOPICS)


def topics_of(text: str, body: str = "") -> set[str]:
    return {match.topic for match in BUILTIN.match(ArticleText(text, body))}


@pytest.mark.parametrize(
    ("topic", "text"),
    [
        ("SCO", "SCO summit opens in Astana"),
        ("SCO", "Саммит ШОС в Астане"),
        ("SCO", "ШЫҰ саммиті"),
        ("SCO", "the SCO's secretary-general"),
        ("SCO", "Shanghai Cooperation Organisation summit"),
        ("SCO", "the Shanghai Cooperation Organization"),
        ("SCO", "саммит Шанхайской организации сотрудничества"),
        ("SCO", "Шанхайская организация сотрудничества"),
        ("CSTO", "ОДКБ провела учения"),
        ("CSTO", "CSTO drills"),
        ("CSTO", "ҰҚШҰ"),
        ("CSTO", "the Collective Security Treaty Organization said"),
        ("CSTO", "Организация Договора о коллективной безопасности"),
        ("CSTO", "генсек Организации Договора о коллективной безопасности"),
        ("JICA", "JICA grant for Almaty"),
        ("JICA", "ДЖАЙКА выделит"),
        ("JICA", "Japan International Cooperation Agency"),
        ("JICA", "Японское агентство международного сотрудничества"),
        ("Tasmagambetov", "Тасмагамбетов назначен"),
        ("Tasmagambetov", "Imangali Tasmagambetov said"),
        ("Tokayev", "Tokayev signed"),
        ("Tokayev", "Токаев подписал"),
        ("Tokayev", "Тоқаевтың жарлығы"),
    ],
)
def test_builtin_topics_fire(topic: str, text: str) -> None:
    assert topic in topics_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "Scotland votes",
        "a night at the disco",
        "SCOTUS rules",
        "see https://example.com/sco/news for more",
        "see https://example.com/SCO/news for more",
        "HTTPS://EXAMPLE.COM/SCO",
        "http://SCO.int",
        "www.SCO.org/summit",
        "example.com/SCO/2025",
        "(https://example.com/news?org=SCO&lang=en)",
        "the sco was lowercase",
        "Шос",  # not all caps
    ],
)
def test_sco_never_fires_on_look_alikes(text: str) -> None:
    assert "SCO" not in topics_of(text)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("SCO summit, see https://example.com/SCO/news", 0),
        ("https://example.com/SCO/news: the SCO met", 34),
        ("SCO/CSTO joint drills", 0),  # a slash between acronyms is not a URL
        ("the SCO. Next: www.example.com", 4),
    ],
)
def test_acronym_outside_a_url_still_fires(text: str, at: int) -> None:
    match = explain("SCO", ArticleText(text))
    assert match is not None
    assert match.terms == ("SCO",)
    assert match.snippet.text == text
    assert match.snippet.highlights == ((at, at + 3),)


@pytest.mark.parametrize(
    ("query", "text", "term"),
    [
        ("Tasmagambetov", "Встреча с Тасмагамбетова", "Тасмагамбетова"),
        ("Tasmagambetov", "письмо Тасмагамбетову", "Тасмагамбетову"),
        ("Tasmagambetov", "Тасмағамбетов сказал", "Тасмағамбетов"),
        ("Tasmagambetov", "Imangali Tasmagambetov said", "Tasmagambetov"),
        ("Tasmagambetov", "с Тасмагамбетовым", "Тасмагамбетовым"),
        ("Tasmagambetov", "о Тасмагамбетове", "Тасмагамбетове"),
        ("Tokayev", "Tokaev met", "Tokaev"),
        ("Tokayev", "Tokaiev met", "Tokaiev"),
        ("Tokayev", "Токаев заявил", "Токаев"),
        ("Tokayev", "Тоқаевтың сөзі", "Тоқаевтың"),
        ("Токаев", "President Tokayev", "Tokayev"),
        ("Тасмагамбетов*", "Тасмагамбетовская улица", "Тасмагамбетовская"),
        ("все", "Всё хорошо", "Всё"),
        ("Токаев", "Тока\u00adева встретили", "Тока\u00adева"),
        ("Токаев", "Тoкаев (a Latin o)", "Тoкаев"),
        ("SCO", "«SCO» — summit", "SCO"),
        ('"Shanghai Cooperation Organisation"', "Shanghai  Cooperation,\nOrganisation", None),
        ("COVID-19", "COVID 19 cases", "COVID 19"),
    ],
)
def test_query_fires_with_original_words(query: str, text: str, term: str | None) -> None:
    match = explain(query, ArticleText(text))
    assert match is not None
    if term is not None:
        assert match.terms == (term,)
    for start, end in match.snippet.highlights:
        assert match.snippet.text[start:end] in match.terms


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Tokayev", "Tokayevsky Prospekt"),
        ("Tokayev", "Токаевская улица"),
        ("SCO", "Scotland"),
        ("sco", "Scotland"),
        ("Тасмагамбетов*", "Атасмагамбетов"),
        ("ОДКБ", "одкб"),
        ('"Shanghai Cooperation"', "Shanghai and Cooperation"),
        ("казах", "казахский"),
    ],
)
def test_query_does_not_fire(query: str, text: str) -> None:
    assert explain(query, ArticleText(text)) is None


@pytest.mark.parametrize(
    ("query", "article", "fires"),
    [
        ("Tokayev -sport", ArticleText("Tokayev visits"), True),
        ("Tokayev -sport", ArticleText("Tokayev at sport event"), False),
        ("Tokayev NOT sport", ArticleText("Tokayev", "sport news"), False),
        ("NOT sport", ArticleText("politics"), True),
        ("NOT sport", ArticleText("sport"), False),
        ("title:Tokayev", ArticleText("news", "Tokayev spoke"), False),
        ("title:Tokayev", ArticleText("Tokayev spoke"), True),
        ("body:Tokayev", ArticleText("Tokayev spoke"), False),
        ("body:Tokayev", ArticleText("news", "Tokayev spoke"), True),
        ("title:(SCO OR CSTO) summit", ArticleText("CSTO", "summit"), True),
        ("title:(SCO OR CSTO) summit", ArticleText("summit", "CSTO"), False),
        ("source:Reuters Tokayev", ArticleText("Tokayev", source="Reuters World"), True),
        ("source:Reuters Tokayev", ArticleText("Tokayev", source="TASS"), False),
        ('source:"Times of Central Asia"', ArticleText("x", source="The Times of Central Asia"), True),
        ("lang:ru Tokayev", ArticleText("Tokayev", lang="ru-RU"), True),
        ("lang:ru Tokayev", ArticleText("Tokayev", lang="kk"), False),
        ("lang:ru", ArticleText("anything", lang="ru"), True),
        ("lang:ru", ArticleText("anything", lang="rus"), False),
        ("Tokayev AND SCO", ArticleText("Tokayev", "at the SCO"), True),
        ("Tokayev SCO", ArticleText("Tokayev", "at the sco"), False),
        ("(Tokayev OR Putin) (SCO OR CSTO)", ArticleText("Putin at CSTO"), True),
    ],
)
def test_boolean_logic_and_scopes(query: str, article: ArticleText, fires: bool) -> None:
    assert (explain(query, article) is not None) is fires


def test_a_term_found_only_in_the_source_fires_only_source_scopes() -> None:
    watchlist = compile_watchlist([Topic("anywhere", "Reuters"), Topic("from", "source:Reuters")])
    matches = watchlist.match(ArticleText("Tokayev spoke", source="Reuters"))
    assert [(match.topic, match.terms, match.field) for match in matches] == [
        ("from", ("Reuters",), "source")
    ]


def test_terms_field_and_snippet() -> None:
    body = "x " * 150 + "Встреча Тасмагамбетова и Токаева. " + "y " * 150
    match = explain("Tasmagambetov OR Tokayev", ArticleText("Новости", body))
    assert match is not None
    assert match.field == "body"
    assert match.terms == ("Тасмагамбетова", "Токаева")
    assert len(match.snippet.text) <= 2 * 100 + len("Тасмагамбетова")
    marked = [match.snippet.text[start:end] for start, end in match.snippet.highlights]
    assert marked == ["Тасмагамбетова", "Токаева"]


def test_title_is_preferred_over_body() -> None:
    match = explain("Tokayev", ArticleText("Tokayev arrives", "Токаев прибыл"))
    assert match is not None
    assert match.field == "title"
    assert match.terms == ("Tokayev", "Токаев")


def test_negated_terms_are_not_reported() -> None:
    match = explain("Tokayev -sport", ArticleText("Tokayev"))
    assert match is not None
    assert match.terms == ("Tokayev",)


def test_highlight_maps_into_original_after_irregular_characters() -> None:
    title = "Straße ﬁnance: Тасмагам\u00adбетова met"
    match = explain("Tasmagambetov", ArticleText(title))
    assert match is not None
    ((start, end),) = match.snippet.highlights
    assert match.snippet.text[start:end] == "Тасмагам\u00adбетова"


# Words of three automaton paths: ASCII patterns (sco), patterns with other letters (café, résumé),
# and a name found in both scripts (Tokayev, Токаев); the rest move the offsets of what follows.
_MIXED_WORDS = ["café", "résumé", "sco", "SCO", "Tokayev", "Токаев", "naïve", "—", "…", "Москва", "x"]
_MIXED_TOPICS = {"accented": {"café", "résumé"}, "sco": {"sco"}, "Tokayev": {"tokayev", "токаев"}}
_MIXED_QUERIES = [Topic("accented", "café OR résumé"), Topic("sco", "sco"), Topic("Tokayev", "Tokayev")]
MIXED = compile_watchlist(_MIXED_QUERIES)


def _compiled_as_nfa(topics: list[Topic]) -> Watchlist:
    """The watchlist with NFAs, as for pattern sets too large for DFA tables."""
    limit = watchlist_module.DFA_MAX_PATTERN_BYTES
    watchlist_module.DFA_MAX_PATTERN_BYTES = 0
    try:
        return compile_watchlist(topics)
    finally:
        watchlist_module.DFA_MAX_PATTERN_BYTES = limit


@pytest.mark.parametrize("watchlist", [MIXED, _compiled_as_nfa(_MIXED_QUERIES)], ids=["dfa", "nfa"])
@given(
    st.lists(st.sampled_from(_MIXED_WORDS), max_size=30), st.lists(st.sampled_from(_MIXED_WORDS), max_size=30)
)
def test_matches_and_highlights_in_mixed_text(
    watchlist: Watchlist, title_words: list[str], body_words: list[str]
) -> None:
    article = ArticleText(" ".join(title_words), " ".join(body_words))
    matches = {match.topic: match for match in watchlist.match(article)}
    folded_words = {fold(word).strip() for word in title_words + body_words}
    assert set(matches) == {topic for topic, words in _MIXED_TOPICS.items() if words & folded_words}
    for topic, match in matches.items():
        marked = {match.snippet.text[start:end] for start, end in match.snippet.highlights}
        assert marked
        assert {fold(word).strip() for word in marked} <= _MIXED_TOPICS[topic]
        assert {fold(term).strip() for term in match.terms} <= _MIXED_TOPICS[topic]


def test_aliases_are_or_ed_with_the_query() -> None:
    watchlist = compile_watchlist([Topic("Akorda", "Akorda", aliases=("Ак Орда", "Aqorda"))])
    assert watchlist.match(ArticleText("в Ак Орде")) == ()  # a phrase alias is literal
    assert watchlist.match(ArticleText("в Ак Орда"))[0].terms == ("Ак Орда",)
    assert watchlist.match(ArticleText("Aqorda said"))[0].terms == ("Aqorda",)


def test_bad_query_names_the_topic() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        compile_watchlist([Topic("ok", "SCO"), Topic("Broken", "(CSTO OR ОДКБ")])
    assert raised.value.topic == "Broken"
    assert raised.value.position == 13
    assert "Broken" in str(raised.value)


def test_watchlist_keeps_topics_and_empty_watchlist_matches_nothing() -> None:
    assert compile_watchlist(BUILTIN_TOPICS).topics == BUILTIN_TOPICS
    assert compile_watchlist([]).match(ArticleText("SCO")) == ()


def test_builtin_topic_names() -> None:
    assert [topic.name for topic in BUILTIN_TOPICS] == [
        "Tasmagambetov",
        "Tokayev",
        "SCO",
        "CSTO",
        "JICA",
    ]


def test_expansions_list_name_spellings() -> None:
    found = expansions('Tokayev OR SCO OR "Shanghai Cooperation" OR Тасмагамбетов*')
    assert "токаевтын" in found["Tokayev"]
    assert "tokaev" in found["Tokayev"]
    assert found["SCO"] == ("SCO",)
    assert found["Shanghai"] == ("shanghai",)
    assert found["Тасмагамбетов*"] == ("тасмагамбетов*",)


def test_pathological_text_is_linear() -> None:
    watchlist = compile_watchlist([Topic("a", "a OR aaa* OR b")])
    assert watchlist.match(ArticleText("a" * 200_000))[0].terms == ("a" * 200_000,)
    assert watchlist.match(ArticleText("a " * 100_000))[0].terms == ("a",)


def test_recompile_follows_topic_changes_and_keeps_an_unchanged_watchlist() -> None:
    watchlist = compile_watchlist([Topic("SCO", "SCO")])
    assert recompile(watchlist, [Topic("SCO", "SCO")]) is watchlist
    changed = recompile(watchlist, [Topic("SCO", "SCO"), Topic("Akorda", "Akorda")])
    assert [match.topic for match in changed.match(ArticleText("SCO at Akorda"))] == ["SCO", "Akorda"]
    with pytest.raises(QuerySyntaxError):
        recompile(changed, [Topic("Broken", "(SCO")])
    assert recompile(changed, []).match(ArticleText("SCO")) == ()
