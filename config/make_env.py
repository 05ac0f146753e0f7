"""Write a local `.env` with fresh random keys (run by `make run` and `make test` when none exists).

Nothing secret is ever committed: each machine makes its own. Production sets these variables in the
service environment instead (docs/deploy.md).
"""

import base64
import os
import secrets
import sys
from pathlib import Path


def field_key(key_id: str = "k1") -> str:
    """An AES-256 key, or an SM4 key when the environment asks for 国密 mode (DANGJIAN_GM_MODE=true)."""
    if os.environ.get("DANGJIAN_GM_MODE", "").lower() in {"1", "true", "yes", "on"}:
        return f"{key_id}:sm4:{base64.b64encode(secrets.token_bytes(16)).decode()}"
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def main(path: str = ".env") -> None:
    target = Path(path)
    if target.exists():
        return
    lines = [
        "# Generated locally by `make`; never commit this file.",
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}",
        f"DANGJIAN_FIELD_KEYS={field_key()}",
        f"DANGJIAN_LOOKUP_KEY={secrets.token_urlsafe(32)}",
        "DJANGO_DEBUG=true",
        "DJANGO_SECURE_COOKIES=false",
    ]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target.chmod(0o600)


if __name__ == "__main__":
    main(*sys.argv[1:])
