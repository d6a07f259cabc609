"""Hostile URL text becomes a plain request target or a clear refusal, never an injection."""

from __future__ import annotations

import pytest

from hostwatch.takedown.checker.target import InvalidTarget, RefusedTarget, parse_target


def test_crlf_and_tabs_are_removed_the_way_browsers_do() -> None:
    target = parse_target("http://example.com/a\r\nX-Injected: 1\r\n\r\nGET /b\t")
    assert "\r" not in target.path_qs and "\n" not in target.path_qs
    assert target.path_qs == "/aX-Injected:%201GET%20/b"
    assert target.host_header == "example.com"


def test_crlf_in_host_cannot_reach_the_host_header() -> None:
    target = parse_target("http://exam\r\nple.com/")
    assert target.host == "example.com"
    with pytest.raises(InvalidTarget):
        parse_target("http://exa mple.com/")


def test_very_long_url_is_refused_with_its_length() -> None:
    with pytest.raises(InvalidTarget, match="102413 characters"):
        parse_target("http://example.com/" + "a" * 102_394)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://127.000.000.001/",
        "http://1.2.3.4.5/",
    ],
)
def test_non_canonical_numeric_hosts_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget, match="numeric"):
        parse_target(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://x/",
        "data:text/html,hi",
    ],
)
def test_only_http_and_https_are_requested(url: str) -> None:
    with pytest.raises(RefusedTarget, match="scheme"):
        parse_target(url)


def test_fullwidth_dots_normalise_to_the_address_they_spell() -> None:
    target = parse_target("http://127。0。0。1/x")
    assert str(target.literal) == "127.0.0.1"


def test_unicode_hosts_are_idna_encoded_and_invisible_characters_refused() -> None:
    assert parse_target("http://bücher.example/").host == "xn--bcher-kva.example"
    assert parse_target("http://ＥＸＡＭＰＬＥ.com/").host == "example.com"
    with pytest.raises(InvalidTarget):
        parse_target("http://exa\u200bmple.com/")
    with pytest.raises(InvalidTarget):
        parse_target("http://exa\u202emple.com/")


def test_user_info_is_dropped_and_ports_kept() -> None:
    target = parse_target("https://user:secret@Example.com:8443/p?q=1#frag")
    assert target.url == "https://example.com:8443/p?q=1"
    assert target.host_header == "example.com:8443"
    assert target.server_hostname == "example.com"
    assert str(target.request_url("203.0.113.5")) == "https://203.0.113.5:8443/p?q=1"


def test_only_tls_names_a_server_the_connection_belongs_to() -> None:
    assert parse_target("https://Example.com./p").server_hostname == "example.com"
    assert parse_target("http://example.com/p").server_hostname is None
    assert parse_target("https://203.0.113.5/p").server_hostname is None


def test_ipv6_literals_are_bracketed() -> None:
    target = parse_target("http://[2001:db8::1]:8080/")
    assert target.host_header == "[2001:db8::1]:8080"
    assert target.server_hostname is None
    assert str(target.request_url("2001:db8::1")) == "http://[2001:db8::1]:8080/"


def test_redirect_locations_are_judged_like_reported_urls() -> None:
    base = parse_target("http://example.com/a/b")
    assert base.join("../c").url == "http://example.com/c"
    assert base.join("//other.example/x").host == "other.example"
    with pytest.raises(RefusedTarget):
        base.join("file:///etc/passwd")
    with pytest.raises(InvalidTarget):
        base.join("http://[::1")


@pytest.mark.parametrize("text", ["", "   ", "http://", "http://:80/", "not a url", "\x00\x01"])
def test_garbage_is_an_invalid_target_not_a_crash(text: str) -> None:
    with pytest.raises(InvalidTarget):
        parse_target(text)
