"""Pull a paged JSON API (as the court's dishonest-debtor list is served) into the inbox, page by page.

Transient failures (connection errors, timeouts, HTTP 429 and 5xx) are retried with exponential backoff; a page
is written atomically once it is complete, and a state file remembers where the pull stopped, so a pull that
dies half-way resumes at the first missing page instead of starting again.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from creditwh.errors import CreditwhError

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class PullFailed(CreditwhError):
    """The API could not be read even after retries (or answered with a permanent error)."""


@dataclass
class PullResult:
    pages_fetched: int = 0
    pages_skipped: int = 0  # already on disk from an earlier, interrupted pull
    records: int = 0
    retries: int = 0
    files: list[str] = field(default_factory=list)


def _get_json(url: str, timeout: float, max_retries: int, backoff: float, result: PullResult) -> dict:
    for attempt in range(max_retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRYABLE_STATUS or attempt == max_retries:
                raise PullFailed(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt == max_retries:
                raise PullFailed(f"{url}: {getattr(exc, 'reason', exc)} (after {max_retries} retries)") from None
        except json.JSONDecodeError as exc:
            raise PullFailed(f"{url}: the answer is not JSON ({exc.msg})") from None
        result.retries += 1
        time.sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")


def pull_pages(url: str, dest: Path, prefix: str, page_size: int = 500, records_path: str = "data",
               max_retries: int = 5, backoff: float = 0.5, timeout: float = 30.0,
               max_pages: int | None = None) -> PullResult:
    """Fetch `url?page=N&page_size=K` for N = 1..total_pages into dest/<prefix>page_NNNN.json."""
    dest.mkdir(parents=True, exist_ok=True)
    state_path = dest / f".{prefix}pull_state"
    state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    result = PullResult()
    page, total_pages = 1, state.get("total_pages")
    while total_pages is None or page <= total_pages:
        if max_pages is not None and result.pages_fetched >= max_pages:
            break
        target = dest / f"{prefix}page_{page:04d}.json"
        if target.exists():
            result.pages_skipped += 1
            page += 1
            continue
        sep = "&" if "?" in url else "?"
        body = _get_json(f"{url}{sep}{urllib.parse.urlencode({'page': page, 'page_size': page_size})}",
                         timeout, max_retries, backoff, result)
        records = body.get(records_path) if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise PullFailed(f"{url} page {page}: no '{records_path}' list in the answer")
        total_pages = int(body.get("total_pages", page if not records else page + 1))
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)
        state_path.write_text(json.dumps({"total_pages": total_pages, "last_page": page}), encoding="utf-8")
        result.pages_fetched += 1
        result.records += len(records)
        result.files.append(target.name)
        page += 1
    return result
