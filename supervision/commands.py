"""`creditwh credit-code`: issue, verify and key the enterprise credit codes (一企一码)."""
from __future__ import annotations

import json
from pathlib import Path


def register(add) -> None:
    from supervision import inspections_cli

    inspections_cli.register(add)
    from supervision import joint_cli

    joint_cli.register(add)
    from supervision import repair_cli

    repair_cli.register(add)
    from supervision import parks_cli

    parks_cli.register(add)
    p = add("credit-code", cmd_credit_code,
            "Issue an enterprise's signed credit code and its QR image (or --verify a scanned code, --keygen keys).")
    p.add_argument("uscc", nargs="?", help="the enterprise's unified social credit code")
    p.add_argument("--out", type=Path, help="QR image to write (.png or .svg)")
    p.add_argument("--key", help="private key file (default: $CREDITWH_CREDIT_CODE_KEY)")
    p.add_argument("--verify", metavar="TEXT", help="check a scanned code's text instead (needs --public-key)")
    p.add_argument("--public-key", type=Path, help="the office's published public key (PEM)")
    p.add_argument("--keygen", type=Path, metavar="DIR", help="write a new signing key pair into DIR")
    p.add_argument("--json", action="store_true")


def cmd_credit_code(args, home) -> int:
    from supervision import credit_code as cc

    if args.keygen:
        private, public = cc.generate_keys(args.keygen)
        print(f"Signing key: {private} (keep secret; set {cc.KEY_ENV} to it)\nPublic key: {public} (publish it)")
        return 0
    if args.verify:
        if not args.public_key:
            raise cc.CreditCodeError("--verify needs --public-key FILE (the office's published key)")
        result = cc.verify(args.verify, args.public_key.read_bytes())
        print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else
              f"{result['status'].upper()}: {result['entity_name']} ({result['uscc']}) class {result['risk_class']} "
              f"as of {result['as_of']}, valid until {result['valid_until']}")
        return 0 if result["status"] == "valid" else 1
    if not args.uscc:
        raise cc.CreditCodeError("give a USCC (or --verify TEXT, or --keygen DIR)")
    entity = cc.read_entity(home.warehouse, args.uscc)
    code, text = cc.issue(entity, cc.load_private_key(args.key))
    if args.out:
        cc.write_qr(text, code.colour, args.out)
    if args.json:
        print(json.dumps({"code": code.__dict__, "text": text, "image": str(args.out) if args.out else None},
                         ensure_ascii=False, indent=2))
    else:
        print(f"{code.entity_name} ({code.uscc}): class {code.risk_class} ({code.colour}, score {code.score_band}) "
              f"as of {code.as_of}, valid until {code.valid_until}"
              + (f"; QR image {args.out}" if args.out else f"\n{text}"))
    return 0
