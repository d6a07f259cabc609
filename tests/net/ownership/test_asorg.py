"""CAIDA as2org in both published formats, written by hand in the real layout."""

from __future__ import annotations

import gzip
import json

from hostwatch.net.asnames import AsRegistry
from hostwatch.net.asorg import AsOrgTable

PIPE = """\
# name: AS Org
# some header comment
# format:org_id|changed|org_name|country|source
LVLT-ARIN|20120130|Level 3 Communications, Inc.|US|ARIN
HETZNER-RIPE|20170110|Hetzner Online GmbH|de|RIPE
broken organisation line
# format:aut|changed|aut_name|org_id|opaque_id|source
1|20120224|LVLT-1|LVLT-ARIN|e5e3b9c13678dfc483fb1f819d70883c_ARIN|ARIN
3356|20170123|LEVEL3|LVLT-ARIN|e5e3b9c13678dfc483fb1f819d70883c_ARIN|ARIN
3549|20170123|LVLT-3549|LVLT-ARIN|e5e3b9c13678dfc483fb1f819d70883c_ARIN|ARIN
24940|20170110|HETZNER-AS|HETZNER-RIPE|6d0e-RIPE|RIPE
notanumber|20170110|X|HETZNER-RIPE||RIPE
64512|20170110|ORPHAN|NO-SUCH-ORG||RIPE
"""


def test_pipe_format_organisations_and_siblings(tmp_path):
    path = tmp_path / "20240101.as-org2info.txt.gz"
    path.write_bytes(gzip.compress(PIPE.encode()))
    table = AsOrgTable.load(path)
    assert len(table) == 5
    org = table.organisation(3356)
    assert org is not None
    assert (org.org_id, org.name, org.country) == (
        "LVLT-ARIN",
        "Level 3 Communications, Inc.",
        "US",
    )
    assert table.siblings(3356) == (1, 3549)
    assert table.siblings(24940) == ()
    assert table.organisation(24940).country == "DE"
    assert table.entries[1].opaque_id == "e5e3b9c13678dfc483fb1f819d70883c_ARIN"
    assert table.organisation(99999) is None and table.siblings(99999) == ()
    reasons = [(w.line, w.reason) for w in table.warnings]
    assert (6, "organisation line has 1 fields") in reasons
    assert (12, "not an AS number: 'notanumber'") in reasons
    assert any("AS64512: unknown org 'NO-SUCH-ORG'" in r for _, r in reasons)


def test_jsonl_format(tmp_path):
    rows = [
        {
            "type": "Organization",
            "organizationId": "CF-ARIN",
            "name": "Cloudflare, Inc.",
            "country": "US",
            "source": "ARIN",
            "changed": "20230101",
        },
        {
            "type": "ASN",
            "asn": "13335",
            "name": "CLOUDFLARENET",
            "organizationId": "CF-ARIN",
            "opaqueId": "abc_ARIN",
            "source": "ARIN",
            "changed": "20230101",
        },
        {
            "type": "ASN",
            "asn": "209242",
            "name": "CLOUDFLARESPECTRUM",
            "organizationId": "CF-ARIN",
            "opaqueId": "abc_ARIN",
            "source": "ARIN",
            "changed": "20230101",
        },
    ]
    text = "\n".join(json.dumps(r) for r in rows) + "\n{broken json\n"
    path = tmp_path / "20240401.as-org2info.jsonl"
    path.write_text(text)
    table = AsOrgTable.load(path)
    assert table.organisation(13335).name == "Cloudflare, Inc."
    assert table.siblings(13335) == (209242,)
    assert [(w.line, w.reason[:8]) for w in table.warnings] == [(4, "not JSON")]


def test_registry_adds_organisation_and_siblings(tmp_path):
    path = tmp_path / "20240101.as-org2info.txt"
    path.write_text(PIPE)
    registry = AsRegistry.load([path])
    info = registry[3549]
    assert info.org_id == "LVLT-ARIN"
    assert info.org_name == "Level 3 Communications, Inc."
    assert info.siblings == (1, 3356)
    assert info.name == "Level 3 Communications, Inc."
    assert info.name_source == "caida-as2org"
    assert info.handle == "LVLT-3549"
    assert info.country == "US"
