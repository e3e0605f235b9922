"""deploy/prometheus/ and deploy/grafana/ as the tools that read them would: promtool checks the
alert rules, runs their unit tests and checks the scrape config; the Grafana dashboard is a
dashboard model whose every query is valid PromQL; and every metric an alert or a panel uses is
one /metrics really exposes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import factories
from tests.support.metrics import AUTH, TOKEN, names

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "lastmile-dashboard.json"
METRIC = re.compile(r"\blastmile_[a-z_]+\b")
# Prometheus's own series, which the rules and panels may use besides ours.
BUILTIN = {"up"}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool") or str(ROOT / ".venv" / "bin" / "promtool")
    if not Path(found).exists():
        pytest.fail("promtool is missing: `make promtool` takes it from Debian's package")
    return found


def run(promtool: str, *args: str, cwd: Path = PROMETHEUS) -> str:
    done = subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_alert_rules_pass_promtool_check(promtool):
    out = run(promtool, "check", "rules", "lastmile-alerts.yml")
    assert "SUCCESS: 8 rules found" in out


def test_alert_rules_unit_tests_pass(promtool):
    """The outbox-stuck alert among them: not before 10 minutes, not for quiet-hour holds."""
    assert "SUCCESS" in run(promtool, "test", "rules", "lastmile-alerts.test.yml")


def test_scrape_config_passes_promtool_check(promtool, tmp_path):
    # As installed: the token file and the rules beside it (promtool opens both).
    token = tmp_path / "lastmile-metrics-token"
    token.write_text(TOKEN)
    config = (PROMETHEUS / "prometheus.yml").read_text()
    assert config.count("credentials_file: /etc/prometheus/lastmile-metrics-token") == 2
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/etc/prometheus/lastmile-metrics-token", str(token))
    )
    shutil.copy(PROMETHEUS / "lastmile-alerts.yml", tmp_path)
    out = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert "SUCCESS: 8 rules found" in out


def panels(dashboard: dict) -> list[dict]:
    flat = []
    for panel in dashboard["panels"]:
        flat.append(panel)
        flat.extend(panel.get("panels", []))
    return flat


def test_dashboard_is_a_grafana_model_with_a_query_per_panel():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] == "Lastmile"
    assert isinstance(dashboard["schemaVersion"], int)
    [variable] = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard):
        box = panel["gridPos"]
        assert box["x"] >= 0 and box["x"] + box["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(box["x"], box["x"] + box["w"])
            for y in range(box["y"], box["y"] + box["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat", "bargauge", "gauge", "table"}
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)) and all(t["expr"] for t in panel["targets"])


def test_every_dashboard_query_is_valid_promql(promtool, tmp_path):
    """promtool parses rule expressions: each panel's query as a recording rule."""
    exprs = [
        t["expr"] for p in panels(json.loads(DASHBOARD.read_text())) for t in p.get("targets", [])
    ]
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    assert f"SUCCESS: {len(exprs)} rules found" in run(
        promtool, "check", "rules", "queries.yml", cwd=tmp_path
    )


def test_every_metric_in_alerts_and_dashboard_is_exposed(app, client, redis_queue):
    factories.make_delivery_zone()
    app.config["METRICS_TOKEN"] = TOKEN
    try:
        client.get("/healthz")
        text = client.get("/metrics", headers=AUTH).get_data(as_text=True)
    finally:
        app.config["METRICS_TOKEN"] = None
    exposed = names(text) | BUILTIN
    rules = yaml.safe_load((PROMETHEUS / "lastmile-alerts.yml").read_text())
    used = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in METRIC.findall(rule["expr"])
    }
    used |= set(METRIC.findall(DASHBOARD.read_text()))
    assert len(used) >= 9
    assert used <= exposed, sorted(used - exposed)
