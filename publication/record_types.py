"""The record types a batch carries: for each, where it comes from, its contract, its schema, its files, and how the
publisher decides what may be shown and why a shown record is withdrawn.

The windows themselves are dated data of the warehouse, not of this module: a penalty's publicity window comes from
the seed publicity_rules (fct_penalty.publicity_start/end), the other types' from the event ledger
(fct_credit_event.in_force_from/until, through the marts of dbt_project/models/marts/publication/): a licence's
validity, a listing until its removal, an inspection result for event_taxonomy.in_force_months. Each mart also says
why its window ends (publicity_end_reason) and why a row is never shown (not_published_reason).
"""
from __future__ import annotations

from dataclasses import dataclass

# Why a shown record is withdrawn, common to every type: outside its window on either side, its subject no longer
# identified, it fails the schema, it is gone from the warehouse.
COMMON_WITHDRAW_REASONS = ("publicity_period_ended", "publicity_not_started", "outside_publicity_period",
                           "subject_not_identified", "fails_publication_schema", "removed_from_warehouse")


@dataclass(frozen=True)
class RecordType:
    name: str                    # record_type in the ledger and the manifest; the schema is <name>.schema.json
    relation: str                # the warehouse table publication reads
    id_column: str               # its grain, published as record_id
    contract: str                # the feed contract whose field codes (`source`) the published record uses
    file_stem: str               # <stem>.jsonl and <stem>.csv in the batch
    withdraw_reasons: tuple[str, ...]
    long_term_column: str | None = None   # a date column whose NULL is published as 2099/12/31 (长期)
    publicity_end_field: str | None = None  # the standard's field for publicity_end, where it has one

    @property
    def schema_file(self) -> str:
        return f"{self.name}.schema.json"

    @property
    def jsonl(self) -> str:
        return f"{self.file_stem}.jsonl"

    @property
    def csv(self) -> str:
        return f"{self.file_stem}.csv"


PENALTY = RecordType(
    name="administrative_penalty", relation="fct_penalty", id_column="penalty_id", contract="samr_penalties",
    file_stem="penalties", long_term_column="valid_until", publicity_end_field="CF_GSJZQ",
    # the order is the schema's code list; credit_repair_granted: a repair granted ended the period early
    withdraw_reasons=("publicity_period_ended", "publicity_not_started", "outside_publicity_period",
                      "held_back_by_quality_gate", "warning_only_not_published", "subject_not_identified",
                      "fails_publication_schema", "removed_from_warehouse", "credit_repair_granted"))

LICENCE = RecordType(
    name="administrative_licence", relation="fct_licence", id_column="licence_id", contract="samr_licences",
    file_stem="licences", long_term_column="valid_to",
    withdraw_reasons=COMMON_WITHDRAW_REASONS + ("licence_expired", "licence_status_invalid",
                                                "subject_uscc_fails_check"))

ABNORMAL_LIST_EVENT = RecordType(
    name="abnormal_list_event", relation="fct_abnormal_list_event", id_column="abnormal_list_event_id",
    contract="samr_abnormal_list", file_stem="abnormal_list_events",
    withdraw_reasons=COMMON_WITHDRAW_REASONS + ("listing_removed", "subject_uscc_fails_check"))

SERIOUS_DISHONEST_EVENT = RecordType(
    name="serious_dishonest_event", relation="fct_serious_dishonest_event", id_column="serious_dishonest_event_id",
    contract="samr_serious_dishonest", file_stem="serious_dishonest_events",
    withdraw_reasons=COMMON_WITHDRAW_REASONS + ("listing_removed", "subject_uscc_fails_check"))

INSPECTION_RESULT = RecordType(
    name="inspection_result", relation="fct_inspection_result", id_column="inspection_result_id",
    contract="samr_inspection_results", file_stem="inspection_results",
    withdraw_reasons=COMMON_WITHDRAW_REASONS + ("subject_uscc_fails_check",))

# In batch order; penalties first, as before other types were published.
RECORD_TYPES: tuple[RecordType, ...] = (PENALTY, LICENCE, ABNORMAL_LIST_EVENT, SERIOUS_DISHONEST_EVENT,
                                        INSPECTION_RESULT)
BY_NAME = {t.name: t for t in RECORD_TYPES}
