"""Paged JSON pulls against a local HTTP server that fails now and then: retries, resume, clear failures."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from ingestion.http_pull import PullFailed, pull_pages

RECORDS = [{"iname": f"公司{i}", "caseCode": f"(2024)鲁0902执{i}号"} for i in range(1, 8)]


class CourtApi(BaseHTTPRequestHandler):
    fail_first_hit_of = {2}  # page numbers that answer 503 once
    hits: dict[int, int] = {}
    broken = False

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        page, size = int(query["page"][0]), int(query["page_size"][0])
        CourtApi.hits[page] = CourtApi.hits.get(page, 0) + 1
        if CourtApi.broken or (page in CourtApi.fail_first_hit_of and CourtApi.hits[page] == 1):
            self.send_response(503)
            self.end_headers()
            return
        total_pages = -(-len(RECORDS) // size)
        body = {"page": page, "page_size": size, "total": len(RECORDS), "total_pages": total_pages,
                "data": RECORDS[(page - 1) * size: page * size]}
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def api():
    CourtApi.hits, CourtApi.broken = {}, False
    server = ThreadingHTTPServer(("127.0.0.1", 0), CourtApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/shixin"
    server.shutdown()


def test_pull_retries_a_transient_failure_and_fetches_every_page(api, tmp_path):
    result = pull_pages(api, tmp_path, prefix="20261125-", page_size=3, backoff=0.01)
    assert (result.pages_fetched, result.records, result.retries) == (3, 7, 1)
    pages = sorted(p.name for p in tmp_path.glob("*.json"))
    assert pages == ["20261125-page_0001.json", "20261125-page_0002.json", "20261125-page_0003.json"]


def test_an_interrupted_pull_resumes_at_the_first_missing_page(api, tmp_path):
    first = pull_pages(api, tmp_path, prefix="p-", page_size=3, backoff=0.01, max_pages=1)
    assert first.pages_fetched == 1
    CourtApi.hits.clear()
    second = pull_pages(api, tmp_path, prefix="p-", page_size=3, backoff=0.01)
    assert (second.pages_skipped, second.pages_fetched) == (1, 2)
    assert 1 not in CourtApi.hits  # page 1 was not asked for again


def test_a_server_that_stays_down_fails_with_a_clear_message(api, tmp_path):
    CourtApi.broken = True
    with pytest.raises(PullFailed, match=r"HTTP 503"):
        pull_pages(api, tmp_path, prefix="x-", page_size=3, backoff=0.001, max_retries=2)
    assert not list(tmp_path.glob("*.json"))
