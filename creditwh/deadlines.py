"""Is a department feed late against its contract?

A contract's `schedule` is the cron (in the city's time zone, FEED_TIMEZONE) by which the department's file is
due. At a due time T the feed is on time if a new file (content never loaded) is waiting in the
inbox, or if one was landed after the previous due time; otherwise it is late. Landing times come from the run folders (`run=<UTC timestamp>-<hex>`),
so the check needs no extra state and gives the same answer when re-run for the same T.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from creditwh.settings import Home

FEED_TIMEZONE = "Asia/Shanghai"  # departments deliver by the city's clock
_RUN_FOLDER = re.compile(r"^run=(\d{8}T\d{6})-[0-9a-f]+$")


@dataclass(frozen=True)
class FeedArrival:
    feed: str
    due_at: str             # the due time checked (ISO, city time)
    previous_due_at: str    # the one before: a file landed after it counts for this period
    waiting_files: int
    last_landed_at: str | None
    late: bool

    @property
    def message(self) -> str:
        if not self.late:
            return f"{self.feed}: on time"
        seen = f"last landed {self.last_landed_at}" if self.last_landed_at else "never landed"
        return (f"feed {self.feed} is late: no file arrived between {self.previous_due_at} and its due time "
                f"{self.due_at} ({seen})")

    def to_json(self) -> dict:
        return asdict(self) | {"message": self.message}


def previous_due(schedule: str, due_at: datetime) -> datetime:
    from croniter import croniter

    local = due_at.astimezone(ZoneInfo(FEED_TIMEZONE))
    return croniter(schedule, local).get_prev(datetime)


def last_landed(home: Home, feed: str) -> datetime | None:
    folder = home.landing / feed
    stamps = [datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
              for p in (folder.iterdir() if folder.is_dir() else []) if (m := _RUN_FOLDER.match(p.name))]
    return max(stamps, default=None)


def check_arrival(home: Home, feed: str, schedule: str, due_at: datetime, waiting_files: int) -> FeedArrival:
    if due_at.tzinfo is None:
        raise ValueError("due_at must carry its time zone")
    before = previous_due(schedule, due_at)
    landed = last_landed(home, feed)
    on_time = waiting_files > 0 or (landed is not None and landed > before)
    city = ZoneInfo(FEED_TIMEZONE)
    return FeedArrival(feed=feed, due_at=due_at.astimezone(city).isoformat(), previous_due_at=before.isoformat(),
                       waiting_files=waiting_files,
                       last_landed_at=landed.astimezone(city).isoformat() if landed else None, late=not on_time)
