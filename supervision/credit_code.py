"""Credit codes (一企一码): one per enterprise, coloured by its risk class, signed so a scanned code cannot be forged.

The payload is compact JSON (uscc, name, class, colour, score band, as-of, valid-until, methodology and rule
versions, key id) signed with Ed25519: the office keeps the private key, and anyone holding the published public
key can verify a scanned code offline — a forged or edited code fails. The QR image carries
`CWH1.<payload, base64url>.<signature, base64url>`, drawn with segno in the class colour.

Keys come from the environment (never from the repository): CREDITWH_CREDIT_CODE_KEY is a file holding the
PEM private key; `creditwh credit-code keygen` writes a new pair.
"""
from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from creditwh.errors import CreditwhError

PREFIX = "CWH1"
KEY_ENV = "CREDITWH_CREDIT_CODE_KEY"
RULES_FILE = Path(__file__).with_name("rules") / "credit_code.yaml"
COLOURS_RGB = {"green": "#1a7f37", "blue": "#0b5cad", "yellow": "#b58a00", "red": "#c0262d"}


class CreditCodeError(CreditwhError):
    """A credit code cannot be issued or does not verify."""


@dataclass(frozen=True)
class CreditCode:
    uscc: str
    entity_name: str
    risk_class: str
    colour: str
    score_band: str           # the class's score range, e.g. "85-100": the exact score is not printed on a code
    as_of: str                # the index date the class comes from
    valid_until: str
    methodology_version: str
    rule_version: str
    key_id: str

    def payload(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rule_for(day: date, rules_file: Path = RULES_FILE) -> dict:
    versions = yaml.safe_load(rules_file.read_text(encoding="utf-8"))["versions"]
    for v in versions:
        start, end = v["effective_from"], v.get("effective_to")
        if start <= day and (end is None or day < end):
            return v
    raise CreditCodeError(f"{rules_file}: no credit-code rule is in force on {day.isoformat()}")


# ---------------------------------------------------------------------------------------------------- keys
def generate_keys(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / "credit_code_private.pem", directory / "credit_code_public.pem"
    if private.exists():
        raise CreditCodeError(f"{private} exists: refusing to replace a signing key (codes signed with it would "
                              "stop verifying)")
    key = Ed25519PrivateKey.generate()
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    os.chmod(private, 0o600)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def load_private_key(path: str | os.PathLike | None = None):
    from cryptography.hazmat.primitives import serialization

    location = path or os.environ.get(KEY_ENV)
    if not location:
        raise CreditCodeError(f"no signing key: set {KEY_ENV} to the private key file "
                              "(`creditwh credit-code keygen --out DIR` makes a pair)")
    try:
        return serialization.load_pem_private_key(Path(location).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CreditCodeError(f"{location}: not a readable PEM private key ({exc})") from None


def key_id(public_key) -> str:
    """A short fingerprint naming the key, so a verifier knows which published key to use."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ issue/verify
def read_entity(warehouse: Path, uscc: str) -> dict:
    from creditwh.warehouse import open_read_only
    from ingestion.identifiers import is_valid_uscc

    if not is_valid_uscc(uscc):
        raise CreditCodeError(f"{uscc!r} is not a valid unified social credit code (GB 32100 check digit)")
    if not Path(warehouse).exists():
        raise CreditCodeError(f"no warehouse at {warehouse}: run `creditwh build` first")
    query = """
        select i.entity_uscc, e.entity_name, i.risk_class, i.credit_code_colour, i.as_of_date,
               i.methodology_version, t.score_min, t.score_max
        from fct_entity_credit_index i
        join dim_entity e on e.uscc = i.entity_uscc
        left join risk_class_thresholds t
          on t.methodology_version = i.methodology_version and t.risk_class = i.risk_class
        where i.entity_uscc = $uscc"""
    with open_read_only(warehouse) as con:
        rows = con.sql(query, params={"uscc": uscc.strip().upper()}).fetchall()
    if not rows:
        raise CreditCodeError(f"{uscc}: no credit index for this entity (unknown, or not active)")
    names = ["uscc", "entity_name", "risk_class", "colour", "as_of", "methodology_version", "low", "high"]
    return dict(zip(names, rows[0]))


def issue(entity: dict, private_key, day: date | None = None) -> tuple[CreditCode, str]:
    """The credit code of an entity row (read_entity) and its signed text for the QR image."""
    as_of = entity["as_of"]
    rule = rule_for(day or as_of)
    low, high = entity["low"], entity["high"]
    band = f"{low:g}-{high:g}" if high is not None else f"{low:g}-100"
    code = CreditCode(uscc=entity["uscc"], entity_name=entity["entity_name"], risk_class=entity["risk_class"],
                      colour=entity["colour"], score_band=band, as_of=as_of.isoformat(),
                      valid_until=(as_of + timedelta(days=rule["valid_days"][entity["risk_class"]])).isoformat(),
                      methodology_version=entity["methodology_version"], rule_version=rule["version"],
                      key_id=key_id(private_key.public_key()))
    payload = code.payload()
    return code, f"{PREFIX}.{_b64(payload)}.{_b64(private_key.sign(payload))}"


def verify(text: str, public_key_pem: bytes, today: date | None = None) -> dict:
    """Check a scanned code: signature, key, expiry. Returns the payload with `status` valid/expired; raises
    CreditCodeError for a forged, altered or malformed code."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise CreditCodeError(f"not a credit code (expected {PREFIX}.<payload>.<signature>)")
    try:
        payload, signature = _unb64(parts[1]), _unb64(parts[2])
    except ValueError:
        raise CreditCodeError("not a credit code: the payload or signature is not base64url") from None
    public_key = serialization.load_pem_public_key(public_key_pem)
    try:
        public_key.verify(signature, payload)
    except InvalidSignature:
        raise CreditCodeError("the signature does not match: this code was not issued by the office, "
                              "or it was altered") from None
    data = json.loads(payload)
    if data.get("key_id") != key_id(public_key):
        raise CreditCodeError("the code names another signing key than the one given")
    expired = date.fromisoformat(data["valid_until"]) < (today or date.today())
    return data | {"status": "expired" if expired else "valid"}


def write_qr(text: str, colour: str, out: Path, scale: int = 8) -> Path:
    import segno

    qr = segno.make(text, error="m", micro=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    qr.save(str(out), scale=scale, border=4, dark=COLOURS_RGB.get(colour, "#000000"), light="#ffffff")
    return out
