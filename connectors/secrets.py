"""Secrets (tokens, client secrets) live only in a keyring, keyed by connection id.

`SecretStore` is the one door. Behind it sits an OS keyring when the machine has a real one,
else `EncryptedFileKeyring`: one AES-256-GCM file, rewritten whole and atomically under a
cross-process lock. `MemoryKeyring` serves tests. None of these backends ever registers itself
as a candidate for `keyring.get_keyring()`: they are only used when passed explicitly.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import keyring
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.compat import properties
from keyring.errors import KeyringError, PasswordDeleteError

SERVICE = "reconciliation-workbench"
KEY_ENV = "WORKBENCH_SECRET_KEY"
KEYRING_ENV = "WORKBENCH_KEYRING"
KEY_FILE_NAME = "secret.key"
SECRETS_FILE_NAME = "secrets.bin"
_INDEX = ".index"
_MAGIC = b"RWSK1"
_SOURCE_PASSPHRASE = b"p"
_SOURCE_KEY_FILE = b"f"
_SALT_SIZE = 16
_NONCE_SIZE = 12
_HEADER_SIZE = len(_MAGIC) + 1 + _SALT_SIZE


class SecretsError(KeyringError):
    """A secret could not be read or written; the message says what to do."""


class SecretsUnavailable(SecretsError):
    """No usable keyring or no key for the encrypted secrets file."""


class WrongSecretKey(SecretsError):
    """The encrypted secrets file was written with a different key (or was tampered with)."""


class SecretStore:
    """Per-connection secrets in one keyring service; values never appear in messages."""

    def __init__(self, backend: KeyringBackend, service: str = SERVICE) -> None:
        self.backend = backend
        self.service = service
        self._index_lock = threading.Lock()

    def get(self, connection_id: str, name: str) -> str | None:
        """The stored value, or None when there is none."""
        value: str | None = self.backend.get_password(self.service, _key(connection_id, name))
        return value

    def set(self, connection_id: str, name: str, value: str) -> None:
        """Store `value`, recording `name` in the connection's index first."""
        key = _key(connection_id, name)
        with self._index_lock:
            names = self._names(connection_id)
            if name not in names:
                # index before value: a crash in between leaves a name to skip, never an orphan
                self._write_index(connection_id, [*names, name])
        self.backend.set_password(self.service, key, value)

    def delete(self, connection_id: str, name: str) -> None:
        """Remove one secret (no error when it is absent)."""
        with contextlib.suppress(PasswordDeleteError):
            self.backend.delete_password(self.service, _key(connection_id, name))

    def delete_connection(self, connection_id: str) -> None:
        """Remove every secret stored for the connection, then its index."""
        with self._index_lock:
            for name in self._names(connection_id):
                self.delete(connection_id, name)
            with contextlib.suppress(PasswordDeleteError):
                self.backend.delete_password(self.service, f"{connection_id}/{_INDEX}")

    def get_json(self, connection_id: str, name: str) -> Any:
        """The stored value decoded from JSON, or None when there is none."""
        raw = self.get(connection_id, name)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise SecretsError(f"secret {name!r} of {connection_id} is not valid JSON") from None

    def set_json(self, connection_id: str, name: str, value: Any) -> None:
        """Store `value` encoded as JSON."""
        self.set(connection_id, name, json.dumps(value, separators=(",", ":")))

    def names(self, connection_id: str) -> list[str]:
        """The names stored for a connection (from its index)."""
        return self._names(connection_id)

    def _names(self, connection_id: str) -> list[str]:
        raw = self.backend.get_password(self.service, f"{_check_id(connection_id)}/{_INDEX}")
        if raw is None:
            return []
        names = json.loads(raw)
        return [str(name) for name in names]

    def _write_index(self, connection_id: str, names: list[str]) -> None:
        self.backend.set_password(self.service, f"{connection_id}/{_INDEX}", json.dumps(names))


def _check_id(connection_id: str) -> str:
    if not connection_id or "/" in connection_id:
        raise ValueError("a connection id must be non-empty and contain no '/'")
    return connection_id


def _key(connection_id: str, name: str) -> str:
    if not name or name == _INDEX:
        raise ValueError(f"{name!r} is not a usable secret name")
    return f"{_check_id(connection_id)}/{name}"


def _not_auto_selected() -> NoReturn:
    raise RuntimeError("workbench keyrings are only used when passed explicitly")


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict, for tests."""

    @properties.classproperty
    def priority(cls) -> float:
        _not_auto_selected()

    def __init__(self) -> None:
        # no super().__init__(): it would copy KEYRING_PROPERTY_* variables onto the instance
        self._values: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def __str__(self) -> str:
        return "MemoryKeyring"

    def __len__(self) -> int:
        """How many secrets it holds (tests check that nothing was left behind)."""
        with self._lock:
            return len(self._values)

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self._values.pop((service, username), None) is None:
                raise PasswordDeleteError("no such secret")


class EncryptedFileKeyring(KeyringBackend):
    """One AES-256-GCM file. Key: a passphrase (scrypt) or a random key file (HKDF).

    File layout: magic, key-source byte, per-file salt (kept across rewrites), nonce (fresh
    on every write), ciphertext of a JSON object; the header is authenticated data.
    """

    @properties.classproperty
    def priority(cls) -> float:
        _not_auto_selected()

    def __init__(
        self, path: Path, *, passphrase: str | None = None, key_file: Path | None = None
    ) -> None:
        if (passphrase is None) == (key_file is None):
            raise ValueError("give exactly one of passphrase and key_file")
        self.path = path
        self._passphrase = passphrase
        self._key_file = key_file
        self._keys: dict[bytes, bytes] = {}
        self._lock_path = path.with_name(path.name + ".lock")

    @classmethod
    def for_home(cls, home: Path, environ: Mapping[str, str]) -> EncryptedFileKeyring:
        """The secrets file under `home`, keyed by WORKBENCH_SECRET_KEY or `home/secret.key`."""
        path = home / SECRETS_FILE_NAME
        passphrase = environ.get(KEY_ENV)
        if passphrase:
            return cls(path, passphrase=passphrase)
        key_file = home / KEY_FILE_NAME
        if key_file.exists():
            return cls(path, key_file=key_file)
        raise SecretsUnavailable(
            f"no key for the encrypted secrets file {path}: run `workbench init` "
            f"(creates {key_file}) or set {KEY_ENV}"
        )

    def __str__(self) -> str:
        return f"EncryptedFileKeyring({self.path})"

    def get_password(self, service: str, username: str) -> str | None:
        with self._locked(fcntl.LOCK_SH):
            entries = self._read()[1]
        return entries.get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked(fcntl.LOCK_EX):
            salt, entries = self._read()
            entries.setdefault(service, {})[username] = password
            self._write(salt, entries)

    def delete_password(self, service: str, username: str) -> None:
        with self._locked(fcntl.LOCK_EX):
            salt, entries = self._read()
            if entries.get(service, {}).pop(username, None) is None:
                raise PasswordDeleteError("no such secret")
            self._write(salt, entries)

    @contextlib.contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _read(self) -> tuple[bytes, dict[str, dict[str, str]]]:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return os.urandom(_SALT_SIZE), {}
        if len(blob) < _HEADER_SIZE + _NONCE_SIZE or not blob.startswith(_MAGIC):
            raise SecretsError(f"cannot read {self.path}: not a workbench secrets file")
        header, nonce = blob[:_HEADER_SIZE], blob[_HEADER_SIZE : _HEADER_SIZE + _NONCE_SIZE]
        salt = header[len(_MAGIC) + 1 :]
        try:
            plain = AESGCM(self._key(salt)).decrypt(nonce, blob[len(header) + len(nonce) :], header)
        except InvalidTag:
            raise WrongSecretKey(self._mismatch_message(header)) from None
        entries: dict[str, dict[str, str]] = json.loads(plain)["entries"]
        return salt, entries

    def _write(self, salt: bytes, entries: dict[str, dict[str, str]]) -> None:
        source = _SOURCE_PASSPHRASE if self._passphrase is not None else _SOURCE_KEY_FILE
        header = _MAGIC + source + salt
        nonce = os.urandom(_NONCE_SIZE)
        plain = json.dumps({"v": 1, "entries": entries}).encode()
        blob = header + nonce + AESGCM(self._key(salt)).encrypt(nonce, plain, header)
        _atomic_write(self.path, blob)

    def _key(self, salt: bytes) -> bytes:
        if salt not in self._keys:
            self._keys[salt] = self._derive(salt)
        return self._keys[salt]

    def _derive(self, salt: bytes) -> bytes:
        if self._passphrase is not None:
            kdf = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1)
            return kdf.derive(self._passphrase.encode("utf-8"))
        assert self._key_file is not None
        material = read_key_file(self._key_file)
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"workbench secrets")
        return hkdf.derive(material)

    def _mismatch_message(self, header: bytes) -> str:
        written_with = header[len(_MAGIC) : len(_MAGIC) + 1]
        if self._passphrase is not None:
            used = f"{KEY_ENV} does not match the key it was written with"
        else:
            used = f"the key file {self._key_file} does not match the key it was written with"
        if written_with == _SOURCE_KEY_FILE and self._passphrase is not None:
            used += f" (it was written with the key file; unset {KEY_ENV})"
        elif written_with == _SOURCE_PASSPHRASE and self._passphrase is None:
            used += f" (it was written with {KEY_ENV}; set it)"
        return f"cannot decrypt {self.path}: {used}"


def _atomic_write(path: Path, blob: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretsUnavailable(
            f"{path} is accessible to other users (mode {mode:03o}): run `chmod 600 {path}`"
        )


def read_key_file(path: Path) -> bytes:
    """The 32 key bytes of a private key file; refuses group/world-accessible files."""
    _check_private(path)
    try:
        material = base64.b64decode(path.read_text().strip(), validate=True)
    except (binascii.Error, ValueError):
        material = b""
    if len(material) != 32:
        raise SecretsUnavailable(f"{path} is not a workbench key file (32 bytes, base64)")
    return material


def ensure_key_file(home: Path) -> Path:
    """Create `home/secret.key` (32 random bytes, base64, mode 0600) unless it exists."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / KEY_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        read_key_file(path)
        return path
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(os.urandom(32)).decode("ascii") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


def default_backend(
    home: Path,
    environ: Mapping[str, str],
    *,
    system: Callable[[], KeyringBackend] = keyring.get_keyring,
) -> KeyringBackend:
    """The keyring to use: WORKBENCH_KEYRING=file|system, else a real OS keyring or the file."""
    choice = environ.get(KEYRING_ENV, "").strip().lower()
    if choice == "file":
        return EncryptedFileKeyring.for_home(home, environ)
    if choice == "system":
        found = system()
        if not _is_secure(found):
            raise SecretsUnavailable(
                f"{KEYRING_ENV}=system but the OS keyring is {_describe(found)}, which does not "
                f"keep secrets safely: install a keyring service or set {KEYRING_ENV}=file"
            )
        return found
    if choice:
        raise SecretsUnavailable(f"{KEYRING_ENV} must be 'file' or 'system', not {choice!r}")
    found = system()
    if _is_secure(found) and _priority(found) >= 1:
        return found
    return EncryptedFileKeyring.for_home(home, environ)


def _is_secure(backend: KeyringBackend) -> bool:
    if isinstance(backend, chainer.ChainerBackend):
        chained = list(backend.backends)
        return bool(chained) and all(_is_secure(each) for each in chained)
    if isinstance(backend, fail.Keyring | null.Keyring | MemoryKeyring):
        return False
    return "plaintext" not in type(backend).__name__.lower()


def _priority(backend: KeyringBackend) -> float:
    try:
        return float(type(backend).priority)
    except Exception:  # a backend's priority raises when it is not viable here
        return 0.0


def _describe(backend: KeyringBackend) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__name__}"
