"""Story clustering maths: word shingles, MinHash signatures, band keys and the join rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from core.models import Article
from core.stories import (
    BANDS,
    NUM_PERM,
    SIMILARITY_THRESHOLD,
    StoryAssignment,
    StoryCandidate,
    assign_stories,
    band_keys,
    closest_story,
    shingles,
    signature_of,
    similarity,
    story_words,
)

TITLE = "CSTO leaders agree to deploy joint peacekeeping force to Tajik-Afghan border"
LEAD = (
    "Leaders of the Collective Security Treaty Organization agreed on Thursday to send a joint "
    "peacekeeping contingent to the border between Tajikistan and Afghanistan, Kazakh President "
    "Kassym-Jomart Tokayev said after a summit in Almaty."
)


def signature(title: str, lead: str = "") -> tuple[int, ...]:
    found = signature_of(title, lead)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param(("a", "b", "c"), {"a b", "b c"}, id="pairs"),
        pytest.param(("a", "b"), {"a b"}, id="exactly-one-pair"),
        pytest.param(("a",), {"a"}, id="one-word"),
        pytest.param((), set(), id="nothing"),
        pytest.param(("a", "b", "a", "b"), {"a b", "b a"}, id="a-set"),
    ],
)
def test_shingles(words: tuple[str, ...], expected: set[str]) -> None:
    assert shingles(words) == expected


def test_story_words_fold_case_punctuation_and_letters() -> None:
    assert story_words("CSTO: Тоқаев!", "Ёлка, 2026.") == ("csto", "токаев", "елка", "2026")


def test_story_words_read_only_the_start_of_the_lead() -> None:
    lead = " ".join(f"w{n}" for n in range(200))
    assert story_words("T", lead) == ("t", *(f"w{n}" for n in range(60)))


@pytest.mark.parametrize("title", ["", "Breaking", "CSTO summit", "CSTO summit opens"])
def test_too_short_a_text_has_no_signature(title: str) -> None:
    assert signature_of(title, "") is None


def test_signatures_are_stable_and_sized() -> None:
    first = signature(TITLE, LEAD)
    assert first == signature(TITLE.upper(), f"  {LEAD}  ")
    assert len(first) == NUM_PERM
    assert all(0 <= value < 2**32 for value in first)


def test_band_keys_one_per_band_and_shared_by_equal_signatures() -> None:
    keys = band_keys(signature(TITLE, LEAD))
    assert len(keys) == len(set(keys)) == BANDS
    assert keys == band_keys(signature(TITLE, LEAD))
    assert [key[:2] for key in keys] == [f"{band:02d}" for band in range(BANDS)]


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        pytest.param(TITLE, f"By Aigerim Seitkali. {LEAD}", id="byline"),
        pytest.param(TITLE, f"ALMATY, May 1 (Reuters) - {LEAD} (Reporting by Olzhas Auyezov)", id="dateline"),
        pytest.param(f"UPDATE 1-{TITLE}", LEAD.replace("on Thursday", "Thursday"), id="light-edit"),
        pytest.param(
            TITLE.replace("to Tajik", "on Tajik"), LEAD.split(", Kazakh")[0] + ".", id="shorter-lead"
        ),
    ],
)
def test_syndicated_copies_are_similar_enough_to_join(title: str, lead: str) -> None:
    original = signature(TITLE, LEAD)
    copy = signature(title, lead)
    assert similarity(original, copy) >= SIMILARITY_THRESHOLD
    assert set(band_keys(original)) & set(band_keys(copy))


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        pytest.param(
            "CSTO to hold Rubezh-2026 command exercises in Kyrgyzstan in September",
            "The Collective Security Treaty Organization will hold its annual Rubezh exercises in "
            "Kyrgyzstan's Issyk-Kul region in September, its secretary general said on Monday.",
            id="same-topic-other-story",
        ),
        pytest.param(
            "CSTO leaders fail to agree on peacekeeping force for Tajik-Afghan border",
            "Leaders of the Collective Security Treaty Organization could not agree on Thursday on a "
            "mission to the border between Tajikistan and Afghanistan, Armenia's prime minister said.",
            id="same-event-other-report",
        ),
    ],
)
def test_other_stories_on_the_topic_stay_apart(title: str, lead: str) -> None:
    assert similarity(signature(TITLE, LEAD), signature(title, lead)) < SIMILARITY_THRESHOLD


def test_similarity_of_mismatched_signatures_is_zero() -> None:
    assert similarity((1, 2, 3), (1, 2)) == 0.0
    assert similarity((), ()) == 0.0
    assert similarity((1, 2, 3, 4), (1, 2, 0, 0)) == 0.5


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        pytest.param([], None, id="none"),
        pytest.param([StoryCandidate(1, 10, (1, 2, 0, 0), 1)], 10, id="at-threshold-joins"),
        pytest.param([StoryCandidate(1, 10, (1, 0, 0, 0), 1)], None, id="below-threshold-is-new"),
        pytest.param(
            [StoryCandidate(1, 10, (1, 2, 0, 0), 1), StoryCandidate(2, 20, (1, 2, 3, 0), 1)],
            20,
            id="most-similar",
        ),
        pytest.param(
            [StoryCandidate(2, 20, (1, 2, 3, 0), 1), StoryCandidate(1, 10, (1, 2, 3, 0), 1)],
            10,
            id="tie-older-story",
        ),
    ],
)
def test_closest_story(candidates: list[StoryCandidate], expected: int | None) -> None:
    assert closest_story((1, 2, 3, 4), candidates, threshold=0.5) == expected


def article(article_id: int, title: str, lead: str = "", outlet_id: int = 1) -> Article:
    return Article(article_id, outlet_id, "Outlet", title, None, lead, None, datetime(2026, 5, 1, tzinfo=UTC))


def test_assign_stories_joins_candidates_and_earlier_articles_of_the_batch() -> None:
    old = StoryCandidate(3, 2, signature(TITLE, LEAD), 2)
    copy = article(10, TITLE, f"By Aigerim Seitkali. {LEAD}")
    other = article(11, "Rail timetable changes for the winter season in Kazakhstan", "Trains run later.")
    other_copy = article(
        12, "Rail timetable changes for the winter season in Kazakhstan", "Trains run later!", outlet_id=2
    )
    short = article(13, "Breaking")
    signed = [(a, signature_of(a.title, a.summary)) for a in (copy, other, other_copy, short)]

    assigned = assign_stories(signed, [old])

    assert [(a.article.id, a.story_id, a.founds_story) for a in assigned] == [
        (10, 2, False),  # joins the archived story of another outlet
        (11, 11, True),  # founds a story of its own, named after itself
        (12, 11, False),  # from another outlet: joins the story founded earlier in the same batch
        (13, 13, True),  # too short to compare: always its own story
    ]
    assert assigned[0].band_keys == band_keys(signature(copy.title, copy.summary))
    assert assigned[3] == StoryAssignment(short, 13)


TENGRI_FOOTER = (
    "Подписывайтесь на наш канал в Telegram, чтобы первыми узнавать главные новости Казахстана и "
    "мира. Читайте также наши материалы в Instagram и на YouTube, присылайте свои новости в WhatsApp."
)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            ("В Алматы открыли новую станцию метро", f"Станция приняла первых пассажиров. {TENGRI_FOOTER}"),
            ("В Астане ограничат движение на проспекте", f"Ремонт продлится неделю. {TENGRI_FOOTER}"),
            id="shared-footer",
        ),
        pytest.param(
            ("Курс валют на 27 ноября", "Национальный банк установил официальный курс доллара 472 тенге."),
            ("Курс валют на 28 ноября", "Национальный банк установил официальный курс доллара 475 тенге."),
            id="daily-item",
        ),
    ],
)
def test_unrelated_articles_of_one_outlet_found_stories_of_their_own(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    earlier = signature(*first)
    later = article(20, *second)
    assert similarity(earlier, signature(*second)) >= SIMILARITY_THRESHOLD  # boilerplate scores like a copy

    assigned = assign_stories(
        [(later, signature_of(later.title, later.summary))], [StoryCandidate(3, 2, earlier, 1)]
    )

    assert [(a.story_id, a.founds_story) for a in assigned] == [(20, True)]


def test_an_outlet_joins_its_own_story_only_with_a_near_identical_copy() -> None:
    original = StoryCandidate(3, 2, signature(TITLE, LEAD), 1)
    correction = article(20, TITLE, LEAD.replace("Thursday", "Friday"))  # 0.91
    shortened = article(21, f"{TITLE} - Tokayev", LEAD[:150])  # 0.66
    syndicated = replace(shortened, outlet_id=2)

    signed = [(a, signature_of(a.title, a.summary)) for a in (correction, shortened)]

    assert [a.story_id for a in assign_stories(signed, [original])] == [
        2,  # the outlet's own correction of one word: the same story
        21,  # the outlet's own shorter item scores no higher than items sharing boilerplate
    ]
    (copy,) = assign_stories([(syndicated, signature_of(syndicated.title, syndicated.summary))], [original])
    assert copy.story_id == 2  # the same shorter copy from another outlet is syndication


@pytest.mark.parametrize(
    ("outlet_id", "expected"),
    [
        pytest.param(2, 10, id="other-outlet-at-0.75-joins"),
        pytest.param(1, None, id="same-outlet-at-0.75-is-new"),
    ],
)
def test_closest_story_holds_the_own_outlet_to_the_stricter_threshold(
    outlet_id: int, expected: int | None
) -> None:
    candidates = [StoryCandidate(1, 10, (1, 2, 3, 0), 1)]
    assert closest_story((1, 2, 3, 4), candidates, 0.5, outlet_id, same_outlet_threshold=0.9) == expected
