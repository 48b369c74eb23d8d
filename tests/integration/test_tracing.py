"""Traces never carry secrets or personal data (X-Ray keeps them 30 days, out of reach of erasure)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loyalty_local.motoserver import MotoServer


def test_no_key_secret_email_or_phone_ever_reaches_the_xray_daemon(tables: MotoServer) -> None:
    # Given the handlers traced as on Lambda, sending to a fake X-Ray daemon
    probe = Path(__file__).with_name("xray_probe.py")

    # When a member enrolls, a partner is onboarded (its API key shown once), a webhook is registered
    # (its secret shown once), and an enrollment fails on a taken email
    result = subprocess.run([sys.executable, str(probe), tables.url], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    # Then the daemon received trace segments, and none of them holds any of those values
    assert report["datagrams"], "no trace segment was sent: the probe did not trace"
    everything = "\n".join(report["datagrams"])
    for secret in report["secrets"]:
        assert secret not in everything, secret
