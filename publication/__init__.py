"""Publication to the national disclosure system: incremental, contract-validated batches written atomically, a
ledger of what was sent and the receiver's receipts (docs/publication.md)."""
from publication.export import PublicationBlocked, PublishResult, publish, publish_penalties

__all__ = ["PublicationBlocked", "PublishResult", "publish", "publish_penalties"]
