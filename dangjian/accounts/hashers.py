"""The 国密 password hasher: PBKDF2 with HMAC-SM3 (GB/T 32905), from `cryptography` (OpenSSL).

Used first in 国密 mode (DANGJIAN_GM_MODE); Argon2 otherwise. Django re-hashes a password with the first
hasher at the next successful login, so switching modes converts accounts as people sign in.
"""

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare


class PBKDF2SM3PasswordHasher(BasePasswordHasher):
    algorithm = "pbkdf2_sm3"
    iterations = 200_000  # ≈ 0.1 s here: SM3 in OpenSSL is slower than SHA-256, so fewer rounds than Django's

    def encode(self, password, salt, iterations=None):
        self._check_encode_args(password, salt)
        iterations = iterations or self.iterations
        kdf = PBKDF2HMAC(algorithm=hashes.SM3(), length=32, salt=salt.encode(), iterations=iterations)
        digest = base64.b64encode(kdf.derive(password.encode())).decode("ascii")
        return f"{self.algorithm}${iterations}${salt}${digest}"

    def decode(self, encoded):
        algorithm, iterations, salt, digest = encoded.split("$", 3)
        assert algorithm == self.algorithm  # noqa: S101  (Django's own hashers do the same)
        return {"algorithm": algorithm, "hash": digest, "iterations": int(iterations), "salt": salt}

    def verify(self, password, encoded):
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"], decoded["iterations"]))

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "iterations": decoded["iterations"],
                "salt": mask_hash(decoded["salt"]), "hash": mask_hash(decoded["hash"])}

    def must_update(self, encoded):
        return self.decode(encoded)["iterations"] != self.iterations

    def harden_runtime(self, password, encoded):
        pass
