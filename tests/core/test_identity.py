"""Article identity: canonical URLs and the outlet-scoped key of a feed entry."""

from __future__ import annotations

import hashlib

import pytest

from core.identity import article_key, canonical_url, content_fingerprint
from core.models import FeedItem


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://News.Example.KZ/a/b", "https://news.example.kz/a/b", id="host-lowercased"),
        pytest.param("HTTPS://news.example/a", "https://news.example/a", id="scheme-lowercased"),
        pytest.param("https://news.example/Path/Case", "https://news.example/Path/Case", id="path-case-kept"),
        pytest.param("https://news.example:443/a", "https://news.example/a", id="https-default-port"),
        pytest.param("http://news.example:80/a", "http://news.example/a", id="http-default-port"),
        pytest.param("http://news.example:8080/a", "http://news.example:8080/a", id="other-port-kept"),
        pytest.param("https://news.example:80/a", "https://news.example:80/a", id="http-port-on-https-kept"),
        pytest.param("https://news.example/a#comments", "https://news.example/a", id="fragment-dropped"),
        pytest.param("https://news.example", "https://news.example/", id="empty-path-is-root"),
        pytest.param("  https://news.example/a \n", "https://news.example/a", id="whitespace-stripped"),
        pytest.param(
            "https://news.example/a?utm_source=tg&utm_medium=social&UTM_Campaign=x",
            "https://news.example/a",
            id="utm-dropped",
        ),
        pytest.param(
            "https://news.example/a?fbclid=1&gclid=2&yclid=3",
            "https://news.example/a",
            id="click-ids-dropped",
        ),
        pytest.param(
            "https://news.example/news.php?id=42&utm_source=rss&lang=ru",
            "https://news.example/news.php?id=42&lang=ru",
            id="other-params-kept-in-order",
        ),
        pytest.param(
            "https://news.example/a?page=&utm_term=x",
            "https://news.example/a?page=",
            id="blank-param-kept",
        ),
        pytest.param(
            "https://news.example/a?utmost=1",
            "https://news.example/a?utmost=1",
            id="utm-prefix-needs-underscore",
        ),
        pytest.param(
            "https://news.example/a?msclkid=1&_ga=2&igshid=3&mc_cid=4",
            "https://news.example/a",
            id="more-click-ids-dropped",
        ),
        pytest.param("https://news.example/a/", "https://news.example/a", id="trailing-slash-dropped"),
        pytest.param("https://news.example/a//", "https://news.example/a", id="trailing-slashes-dropped"),
        pytest.param("https://news.example/", "https://news.example/", id="root-slash-kept"),
        pytest.param("https://m.news.example/a", "https://news.example/a", id="mobile-host"),
        pytest.param("https://mobile.news.example/a", "https://news.example/a", id="mobile-word-host"),
        pytest.param("https://amp.news.example/a", "https://news.example/a", id="amp-host"),
        pytest.param("https://m.example/a", "https://m.example/a", id="bare-m-domain-kept"),
        pytest.param("https://mnews.example/a", "https://mnews.example/a", id="m-without-dot-kept"),
        pytest.param("https://news.example/a/amp", "https://news.example/a", id="amp-path-suffix"),
        pytest.param("https://news.example/a/amp/", "https://news.example/a", id="amp-path-suffix-slash"),
        pytest.param("https://news.example/a.amp", "https://news.example/a", id="amp-extension"),
        pytest.param("https://news.example/amplifier", "https://news.example/amplifier", id="amp-word-kept"),
        pytest.param("https://news.example/a?amp", "https://news.example/a", id="amp-flag"),
        pytest.param("https://news.example/a?amp=1&id=2", "https://news.example/a?id=2", id="amp-param"),
        pytest.param("https://news.example/a?outputType=amp", "https://news.example/a", id="output-type-amp"),
        pytest.param(
            "https://news.example/a?outputType=print",
            "https://news.example/a?outputType=print",
            id="other-output-type-kept",
        ),
        pytest.param(
            "https://news.example/a?lang=ru&id=42", "https://news.example/a?id=42&lang=ru", id="params-sorted"
        ),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "variant",
    [
        "https://NEWS.example:443/2024/05/csto?utm_source=telegram#top",
        "https://news.example/2024/05/csto?fbclid=IwAR0",
        "https://news.example/2024/05/csto",
        "https://m.news.example/2024/05/csto/amp/?utm_medium=social",
        "https://amp.news.example/2024/05/csto?outputType=amp&gclid=x",
        "https://news.example/2024/05/csto/?amp=1&yclid=7",
    ],
)
def test_tracking_variants_of_one_link_have_one_canonical_form(variant: str) -> None:
    assert canonical_url(variant) == "https://news.example/2024/05/csto"


@pytest.mark.parametrize("url", ["https://news.example:abc/a", "https://news.example:99999/a"])
def test_canonical_url_of_a_malformed_port_does_not_raise(url: str) -> None:
    assert canonical_url(url).startswith("https://news.example")


def test_canonical_url_keeps_ipv6_brackets() -> None:
    assert canonical_url("http://[2001:db8::1]:8080/a") == "http://[2001:db8::1]:8080/a"


def title_hash(title: str) -> str:
    return "title:" + hashlib.sha256(title.encode()).hexdigest()


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            FeedItem("CSTO drills", url="https://news.example/a", guid="  tag:news.example,2024:1 "),
            "tag:news.example,2024:1",
            id="guid-first-stripped",
        ),
        pytest.param(
            FeedItem("CSTO drills", url="https://NEWS.example/a?utm_source=x#c"),
            "https://news.example/a",
            id="else-canonical-link",
        ),
        pytest.param(
            FeedItem("CSTO drills", url="https://news.example/a", guid=""),
            "https://news.example/a",
            id="empty-guid-ignored",
        ),
        pytest.param(FeedItem("CSTO drills"), title_hash("csto drills"), id="else-title-hash"),
        pytest.param(
            FeedItem("CSTO drills", url="", guid=""), title_hash("csto drills"), id="empty-link-ignored"
        ),
    ],
)
def test_article_key(item: FeedItem, expected: str) -> None:
    assert article_key(item) == expected


@pytest.mark.parametrize("title", ["CSTO drills", "csto DRILLS", "  CSTO drills\n", "Csto Drills\t"])
def test_title_key_is_stable_across_case_and_surrounding_whitespace(title: str) -> None:
    assert article_key(FeedItem(title)) == article_key(FeedItem("CSTO drills"))


def test_different_titles_have_different_keys() -> None:
    assert article_key(FeedItem("CSTO drills")) != article_key(FeedItem("CSTO drills end"))


@pytest.mark.parametrize("title", ["CSTO  drills", "CSTO\ndrills", "CSTO\u00a0drills"])
def test_title_key_is_stable_across_inner_whitespace(title: str) -> None:
    assert article_key(FeedItem(title)) == article_key(FeedItem("CSTO drills"))


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        pytest.param("CSTO drills begin", "Troops gather near Almaty.", id="same"),
        pytest.param("CSTO  drills BEGIN!", "Troops gather near Almaty", id="case-space-punctuation"),
        pytest.param("CSTO drills begin", "Troops  gather\nnear Almaty. ", id="lead-spacing"),
    ],
)
def test_fingerprint_ignores_case_spacing_and_punctuation(title: str, summary: str) -> None:
    assert content_fingerprint(title, summary) == content_fingerprint(
        "CSTO drills begin", "Troops gather near Almaty."
    )


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        pytest.param("CSTO drills end", "Troops gather near Almaty.", id="title-edited"),
        pytest.param("CSTO drills begin", "Troops gather near Astana.", id="lead-edited"),
        pytest.param("CSTO drills begin", "", id="lead-removed"),
    ],
)
def test_fingerprint_changes_with_the_words(title: str, summary: str) -> None:
    assert content_fingerprint(title, summary) != content_fingerprint(
        "CSTO drills begin", "Troops gather near Almaty."
    )


def test_fingerprint_reads_only_the_lead() -> None:
    lead = " ".join(f"word{n}" for n in range(40))
    assert content_fingerprint("T", lead + " tail one") == content_fingerprint("T", lead + " tail two")
