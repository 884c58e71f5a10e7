"""Credit codes: issued from the real warehouse, verified offline, and a forged or altered code is refused."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from supervision import credit_code as cc
from tests.fixtures.landing import write_landing


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from creditwh.warehouse import build

    root = tmp_path_factory.mktemp("credit-code")
    landing = write_landing(root / "landing")
    build(landing, root / "warehouse.duckdb", as_of=date(2026, 11, 25))
    return root / "warehouse.duckdb"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return cc.generate_keys(tmp_path_factory.mktemp("keys"))


def some_entity(warehouse, risk_class=None):
    import duckdb

    where = f"where risk_class = '{risk_class}'" if risk_class else ""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.sql(f"select entity_uscc from fct_entity_credit_index {where} order by entity_uscc limit 1").fetchall()
    return rows[0][0] if rows else None


def test_a_code_carries_the_class_band_and_expiry_of_the_dated_rule(warehouse, keys):
    private, public = keys
    uscc = some_entity(warehouse)
    entity = cc.read_entity(warehouse, uscc)
    code, text = cc.issue(entity, cc.load_private_key(private))
    rule = cc.rule_for(date(2026, 11, 25))
    assert code.uscc == uscc and code.risk_class in "ABCD" and code.colour in cc.COLOURS_RGB
    assert (date.fromisoformat(code.valid_until) - date(2026, 11, 25)).days == rule["valid_days"][code.risk_class]
    low, high = code.score_band.split("-")
    assert float(low) < float(high)
    verified = cc.verify(text, public.read_bytes(), today=date(2026, 11, 26))
    assert verified["status"] == "valid" and verified["uscc"] == uscc
    assert cc.verify(text, public.read_bytes(), today=date(2027, 6, 1))["status"] == "expired"


def test_an_altered_or_foreign_code_does_not_verify(warehouse, keys, tmp_path):
    private, public = keys
    entity = cc.read_entity(warehouse, some_entity(warehouse))
    _, text = cc.issue(entity, cc.load_private_key(private))
    prefix, payload, signature = text.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["risk_class"] = "A" if data["risk_class"] != "A" else "D"  # e.g. a D-class enterprise printing itself an A
    forged = base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False, sort_keys=True,
                                                 separators=(",", ":")).encode()).rstrip(b"=").decode()
    with pytest.raises(cc.CreditCodeError, match="signature does not match"):
        cc.verify(f"{prefix}.{forged}.{signature}", public.read_bytes())
    other_private, other_public = cc.generate_keys(tmp_path / "other")
    _, foreign = cc.issue(entity, cc.load_private_key(other_private))
    with pytest.raises(cc.CreditCodeError, match="signature does not match"):
        cc.verify(foreign, public.read_bytes())
    with pytest.raises(cc.CreditCodeError, match="not a credit code"):
        cc.verify("https://example.com/qr", public.read_bytes())


def test_bad_identifiers_and_missing_keys_are_clear_errors(warehouse, keys, monkeypatch):
    with pytest.raises(cc.CreditCodeError, match="not a valid unified social credit code"):
        cc.read_entity(warehouse, "91110000XXXXXXXXX0")
    monkeypatch.delenv(cc.KEY_ENV, raising=False)
    with pytest.raises(cc.CreditCodeError, match=cc.KEY_ENV):
        cc.load_private_key()
    with pytest.raises(cc.CreditCodeError, match="refusing to replace"):
        cc.generate_keys(keys[0].parent)


def test_the_command_writes_a_qr_image_in_the_class_colour(warehouse, keys, tmp_path):
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    (home / "warehouse" / "warehouse.duckdb").write_bytes(warehouse.read_bytes())
    uscc = some_entity(warehouse, "D") or some_entity(warehouse)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {cc.KEY_ENV: str(keys[0])}
    out = tmp_path / "code.png"
    proc = subprocess.run([sys.executable, "-m", "creditwh.cli", "credit-code", uscc, "--out", str(out), "--json",
                           "--home", str(home)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    pixels = set(Image.open(out).convert("RGB").getdata())
    colour = cc.COLOURS_RGB[result["code"]["colour"]].lstrip("#")
    assert pixels == {(255, 255, 255), tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))}
    check = subprocess.run([sys.executable, "-m", "creditwh.cli", "credit-code", "--verify", result["text"],
                            "--public-key", str(keys[1])], capture_output=True, text=True, env=env)
    assert check.returncode == 0 and check.stdout.startswith("VALID"), check.stderr
    bad = subprocess.run([sys.executable, "-m", "creditwh.cli", "credit-code", "not-a-code", "--home", str(home)],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "not a valid" in bad.stderr
