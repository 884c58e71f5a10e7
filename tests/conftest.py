"""Test-wide settings. Airflow reads its configuration at import, so its home is set before anything imports it."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from creditwh.settings import DAGS_DIR

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="creditwh-test-airflow-"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
})
