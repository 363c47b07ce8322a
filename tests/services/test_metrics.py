"""Metrics go through Airflow only inside Airflow: the ``earshot`` command never imports it
(importing Airflow reconfigures logging, bypassing the log redaction, and writes an
``airflow.cfg``)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_metrics_outside_airflow_never_import_it() -> None:
    code = (
        "import sys\n"
        "from services import metrics\n"
        "metrics.record_collection('x', fetched=3, new_gaps=1, rate_limited=True)\n"
        "print([m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
