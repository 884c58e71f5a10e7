"""`creditwh publication receive|status`: the ledger's side of publication (`creditwh publish` writes batches)."""
from __future__ import annotations


from creditwh.command_groups import command_group


def register(add) -> None:
    nested = command_group(add, "publication",
                           "Publication ledger: apply receipts, show what was sent and acknowledged.")

    q = nested("receive", cmd_receive, "Apply a receipt file (the receiver's answer to a batch) to the ledger.")
    q.add_argument("receipt", metavar="RECEIPT.json")
    q = nested("status", cmd_status, "Counts per status and operation, last batch and last acknowledged batch.")
    q.add_argument("--record", metavar="ID", help="the history of one record instead: every batch, operation, receipt")


def _print_json(obj) -> None:
    import json

    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def cmd_receive(args, home) -> int:
    from publication.receipts import apply_receipt

    result = apply_receipt(home.exports, args.receipt)
    if args.json:
        _print_json(result.to_json())
        return 0
    if result.already_applied:
        print(f"Receipt {result.receipt} was already applied: nothing changed.")
    else:
        print(f"Receipt for batch {result.batch_id}: {result.accepted} accepted, {result.rejected} rejected"
              + (f" ({', '.join(f'{c} {n}' for c, n in result.reasons.items())})" if result.reasons else "")
              + (f", {result.repeated} already known" if result.repeated else "")
              + (f", {result.superseded} about operations a later batch replaced" if result.superseded else "")
              + ".")
    print(f"Batch {result.batch_id}: {result.still_pending} records still without an answer; rejected records: "
          f"{result.resend_next_run} re-sent by the next run, {result.waiting_for_correction} waiting for a "
          "correction.")
    return 0


def cmd_status(args, home) -> int:
    from publication.status import record_history, summary

    if args.record:
        history = record_history(home.exports, args.record)
        if args.json:
            _print_json(history)
            return 0
        cur = history["current"]
        print(f"Record {args.record}: last {cur['last_operation']} in batch {cur['batch_id']}, {cur['status']}"
              + (f" ({cur['reason_code']}: {cur['reason_message']})" if cur["reason_code"] else "")
              + f"; the receiver {'shows' if cur['receiver_holds'] else 'does not show'} it.")
        for e in history["events"]:
            detail = e["withdraw_reason"] or (f"{e['reason_code']}: {e['message']}" if e["reason_code"] else "")
            source = f" [receipt {e['receipt_file']}]" if e["receipt_file"] else ""
            print(f"  {e['at']}  batch {e['batch_id']}  {e['event']:<8} {e['operation']:<8} {detail}{source}")
        return 0
    s = summary(home.exports)
    if args.json:
        _print_json(s)
        return 0
    if not s["batches"]:
        print(f"Nothing sent yet from {s['exports']}.")
        return 0
    print(f"{s['records']} records in the ledger; the receiver shows {s['receiver_shows']}.")
    print(f"{'status':<10}" + "".join(f"{op:>10}" for op in ("add", "update", "withdraw")) + f"{'total':>10}")
    for status, ops in s["by_status_and_operation"].items():
        print(f"{status:<10}" + "".join(f"{n:>10}" for n in ops.values()) + f"{s['by_status'][status]:>10}")
    rej = s["rejected"]
    if rej["resend_next_run"] or rej["waiting_for_correction"]:
        print(f"Rejected: {rej['resend_next_run']} re-sent by the next run, {rej['waiting_for_correction']} waiting "
              f"for a correction; by reason: {', '.join(f'{c} {n}' for c, n in rej['by_reason'].items())}.")
    acknowledged = s["last_acknowledged_batch"] or "none"
    print(f"Batches: {s['batches']}; last {s['last_batch']}; last acknowledged {acknowledged}.")
    if waiting := s["unacknowledged_batches"]:
        print("Waiting for receipts: " + ", ".join(f"{b} ({n} records)" for b, n in waiting.items()))
    if s["interrupted_run"]:
        print(s["interrupted_run"])
    return 0
