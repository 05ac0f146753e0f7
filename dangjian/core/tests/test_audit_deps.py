"""config/audit_deps.py: a vulnerability fails the check unless it is accepted with a reason; packages the
advisory service could not answer for are reported as unaudited, never as clean."""

import pytest

from config import audit_deps

REPORT = {"dependencies": [
    {"name": "django", "version": "5.2.1", "vulns": [{"id": "GHSA-test-0001", "fix_versions": ["5.2.2"]}]},
    {"name": "huey", "version": "2.5.0", "vulns": []},
    {"name": "xlwt", "skip_reason": "Dependency not found on PyPI and could not be audited: xlwt (1.3.0)"},
]}


@pytest.fixture
def report(monkeypatch):
    monkeypatch.setattr(audit_deps, "audit", lambda: REPORT)


def test_an_unexplained_vulnerability_fails(report, capsys):
    assert audit_deps.main() == 1
    out = capsys.readouterr().out
    assert "django 5.2.1: GHSA-test-0001 修复版本 5.2.2 — 未说明" in out
    assert "2 个包已审计，发现 1 个漏洞，其中 1 个未说明" in out
    assert "1 个包的数据" in out and "xlwt" in out


def test_an_accepted_vulnerability_passes_with_its_reason(report, monkeypatch, capsys):
    monkeypatch.setitem(audit_deps.ACCEPTED, "GHSA-test-0001", "只影响 Oracle 后端")
    assert audit_deps.main() == 0
    assert "GHSA-test-0001 修复版本 5.2.2 — 只影响 Oracle 后端" in capsys.readouterr().out


def test_no_vulnerability_passes(monkeypatch, capsys):
    monkeypatch.setattr(audit_deps, "audit", lambda: {"dependencies": [REPORT["dependencies"][1]]})
    assert audit_deps.main() == 0
    out = capsys.readouterr().out
    assert "1 个包已审计，发现 0 个漏洞" in out and "未被审计" not in out
