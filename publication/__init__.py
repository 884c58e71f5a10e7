"""Publication to the national disclosure system: contract-validated batches written atomically."""
from publication.export import PublicationBlocked, PublishResult, publish_penalties

__all__ = ["PublicationBlocked", "PublishResult", "publish_penalties"]
