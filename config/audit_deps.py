"""Known vulnerabilities in the installed packages: pip-audit, run by `make security` and CI (issue 9).

Fails on any advisory not listed in ACCEPTED with the reason it does not affect the platform. When the
advisory service cannot be reached (an intranet, or a PyPI mirror that carries no vulnerability data, as on
the build machines), it says so plainly and lists what went unaudited instead of reporting a clean result.

    .venv/bin/python config/audit_deps.py
"""

from __future__ import annotations

import json
import subprocess  # noqa: S404 (pip-audit, with a fixed argument list)
import sys

# Advisory id -> why it does not affect us. Empty: nothing is accepted.
ACCEPTED: dict[str, str] = {}


def audit() -> dict:
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(done.stderr)
        raise SystemExit("pip-audit 未能运行（见上）") from None


def main() -> int:
    report = audit()
    packages = report.get("dependencies", [])
    unaudited = [p["name"] for p in packages if p.get("skip_reason")]
    findings = [(p["name"], p["version"], v["id"], v.get("fix_versions", []))
                for p in packages for v in p.get("vulns", [])]
    open_findings = [f for f in findings if f[2] not in ACCEPTED]
    for name, version, advisory, fixes in findings:
        note = ACCEPTED.get(advisory, "未说明：须升级或在 ACCEPTED 中写明理由")
        print(f"{name} {version}: {advisory} 修复版本 {', '.join(fixes) or '无'} — {note}")
    audited = len(packages) - len(unaudited)
    print(f"依赖漏洞检查：{audited} 个包已审计，发现 {len(findings)} 个漏洞，其中 {len(open_findings)} 个未说明。")
    if unaudited:
        print(f"注意：漏洞库无法提供 {len(unaudited)} 个包的数据（内网或镜像不含漏洞信息），这些包未被审计："
              f"{', '.join(unaudited[:10])}{' …' if len(unaudited) > 10 else ''}")
    return 1 if open_findings else 0


if __name__ == "__main__":
    sys.exit(main())
