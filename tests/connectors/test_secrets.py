"""Secrets: the per-connection store, the encrypted file keyring and the backend choice."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend, get_all_keyring
from keyring.backends import chainer, fail

from connectors.secrets import (
    EncryptedFileKeyring,
    MemoryKeyring,
    SecretsError,
    SecretStore,
    SecretsUnavailable,
    WrongSecretKey,
    default_backend,
    ensure_key_file,
)

SECRET = "Atzr|very-secret-refresh-token-value"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- SecretStore ----------------------------------------------------------------------------


def test_store_round_trips_text_and_json_per_connection() -> None:
    store = SecretStore(MemoryKeyring())
    assert store.get("c1", "client_secret") is None
    store.set("c1", "client_secret", "s3cret")
    store.set_json("c1", "token", {"refresh_token": SECRET, "n": 1})
    store.set("c2", "client_secret", "other")
    assert store.get("c1", "client_secret") == "s3cret"
    assert store.get_json("c1", "token") == {"refresh_token": SECRET, "n": 1}
    assert store.get_json("c1", "missing") is None
    assert store.get("c2", "client_secret") == "other"
    assert store.backend.get_password(store.service, "c1/client_secret") == "s3cret"


def test_delete_connection_removes_every_name_it_stored_and_nothing_else() -> None:
    store = SecretStore(MemoryKeyring())
    for name in ("client_secret", "token", "api_key"):
        store.set("c1", name, f"value-{name}")
    store.set("c1", "token", "replaced")
    store.set("c2", "token", "keep")
    assert store.names("c1") == ["client_secret", "token", "api_key"]
    store.delete_connection("c1")
    assert [store.get("c1", name) for name in ("client_secret", "token", "api_key")] == [None] * 3
    assert store.names("c1") == []
    assert store.get("c2", "token") == "keep"
    store.delete_connection("c1")


def test_store_rejects_ids_and_names_that_would_collide() -> None:
    store = SecretStore(MemoryKeyring())
    for connection_id, name in [("a/b", "token"), ("", "token"), ("c1", ""), ("c1", ".index")]:
        with pytest.raises(ValueError, match=r"connection id|secret name"):
            store.set(connection_id, name, "x")


def test_non_json_value_gives_an_error_without_the_value() -> None:
    store = SecretStore(MemoryKeyring())
    store.set("c1", "token", SECRET)
    with pytest.raises(SecretsError) as raised:
        store.get_json("c1", "token")
    assert SECRET not in str(raised.value)


def test_workbench_keyrings_are_never_picked_by_keyring_autodetection() -> None:
    kinds = {type(ring) for ring in get_all_keyring()}
    assert MemoryKeyring not in kinds
    assert EncryptedFileKeyring not in kinds


# ---- EncryptedFileKeyring ---------------------------------------------------------------------


def test_encrypted_file_round_trips_across_instances_and_holds_no_plaintext(
    tmp_path: Path,
) -> None:
    path = tmp_path / "home" / "secrets.bin"
    SecretStore(EncryptedFileKeyring(path, passphrase="correct horse")).set("c1", "token", SECRET)
    again = SecretStore(EncryptedFileKeyring(path, passphrase="correct horse"))
    assert again.get("c1", "token") == SECRET
    blob = path.read_bytes()
    for plain in (SECRET, "very-secret", "c1/token", "reconciliation-workbench"):
        assert plain.encode() not in blob
    assert base64.b64encode(SECRET.encode()) not in blob


def test_encrypted_file_uses_a_fresh_nonce_on_every_write(tmp_path: Path) -> None:
    ring = EncryptedFileKeyring(tmp_path / "secrets.bin", passphrase="k")
    ring.set_password("svc", "user", SECRET)
    first = ring.path.read_bytes()
    ring.set_password("svc", "user", SECRET)
    second = ring.path.read_bytes()
    assert first[:22] == second[:22]  # header and salt are kept
    assert first[22:34] != second[22:34]
    assert first != second


def test_wrong_passphrase_is_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "secrets.bin"
    EncryptedFileKeyring(path, passphrase="right").set_password("svc", "user", SECRET)
    before = path.read_bytes()
    wrong = EncryptedFileKeyring(path, passphrase="wrong")
    with pytest.raises(WrongSecretKey) as raised:
        wrong.get_password("svc", "user")
    assert str(raised.value) == (
        f"cannot decrypt {path}: WORKBENCH_SECRET_KEY does not match the key it was written with"
    )
    with pytest.raises(WrongSecretKey):
        wrong.set_password("svc", "other", "x")
    assert path.read_bytes() == before


def test_switching_from_key_file_to_passphrase_says_which_key_wrote_the_file(
    tmp_path: Path,
) -> None:
    key_file = ensure_key_file(tmp_path)
    path = tmp_path / "secrets.bin"
    EncryptedFileKeyring(path, key_file=key_file).set_password("svc", "user", SECRET)
    with pytest.raises(WrongSecretKey, match="written with the key file"):
        EncryptedFileKeyring(path, passphrase="anything").get_password("svc", "user")


def test_tampered_or_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.bin"
    ring = EncryptedFileKeyring(path, passphrase="k")
    ring.set_password("svc", "user", SECRET)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(WrongSecretKey):
        ring.get_password("svc", "user")
    path.write_bytes(b"hello")
    with pytest.raises(SecretsError, match="not a workbench secrets file"):
        ring.get_password("svc", "user")


def test_secret_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key_file = ensure_key_file(home)
    ring = EncryptedFileKeyring(home / "secrets.bin", key_file=key_file)
    ring.set_password("svc", "user", SECRET)
    ring.delete_password("svc", "user")
    assert ring.get_password("svc", "user") is None
    assert mode_of(home) == 0o700
    assert mode_of(key_file) == 0o600
    assert mode_of(ring.path) == 0o600
    assert mode_of(home / "secrets.bin.lock") == 0o600
    assert sorted(p.name for p in home.iterdir()) == [
        "secret.key",
        "secrets.bin",
        "secrets.bin.lock",
    ]


def test_ensure_key_file_keeps_an_existing_key(tmp_path: Path) -> None:
    path = ensure_key_file(tmp_path)
    content = path.read_text()
    assert len(base64.b64decode(content)) == 32
    assert ensure_key_file(tmp_path) == path
    assert path.read_text() == content


def test_group_readable_key_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = ensure_key_file(tmp_path)
    path.chmod(0o644)
    with pytest.raises(SecretsUnavailable, match=f"chmod 600 {path}"):
        ensure_key_file(tmp_path)
    ring = EncryptedFileKeyring(tmp_path / "secrets.bin", key_file=path)
    with pytest.raises(SecretsUnavailable, match="chmod 600"):
        ring.set_password("svc", "user", "x")


def test_malformed_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("not base64 at all!")
    path.chmod(0o600)
    with pytest.raises(SecretsUnavailable, match="not a workbench key file"):
        ensure_key_file(tmp_path)


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from connectors.secrets import EncryptedFileKeyring
    ring = EncryptedFileKeyring(Path(sys.argv[1]), passphrase="shared")
    for i in range(25):
        ring.set_password("svc", f"{sys.argv[2]}-{i}", f"value-{sys.argv[2]}-{i}")
    """
)


def test_two_processes_writing_different_keys_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "secrets.bin"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag]) for tag in ("a", "b")
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    ring = EncryptedFileKeyring(path, passphrase="shared")
    for tag in ("a", "b"):
        for i in range(25):
            assert ring.get_password("svc", f"{tag}-{i}") == f"value-{tag}-{i}"


# ---- default_backend --------------------------------------------------------------------------


class FakeOsKeyring(KeyringBackend):
    """Stands in for an OS keyring; its constructor argument keeps keyring from autoloading it."""

    priority = 5

    def __init__(self, label: str) -> None:
        self.label = label

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NotImplementedError

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError


class WeakKeyring(FakeOsKeyring):
    priority = 0.5  # type: ignore[assignment]


class PlaintextKeyring(FakeOsKeyring):
    pass


def test_file_choice_uses_the_passphrase_or_the_key_file(tmp_path: Path) -> None:
    chosen = default_backend(tmp_path, {"WORKBENCH_KEYRING": "file", "WORKBENCH_SECRET_KEY": "k"})
    assert isinstance(chosen, EncryptedFileKeyring)
    assert chosen.path == tmp_path / "secrets.bin"
    ensure_key_file(tmp_path)
    assert isinstance(
        default_backend(tmp_path, {"WORKBENCH_KEYRING": "file"}), EncryptedFileKeyring
    )


def test_file_without_any_key_says_to_run_init_or_set_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SecretsUnavailable) as raised:
        default_backend(tmp_path, {"WORKBENCH_KEYRING": "file"})
    assert "workbench init" in str(raised.value)
    assert "WORKBENCH_SECRET_KEY" in str(raised.value)


@pytest.mark.parametrize(
    "insecure", [fail.Keyring, lambda: PlaintextKeyring("alt"), lambda: MemoryKeyring()]
)
def test_system_choice_refuses_failing_and_plaintext_keyrings(
    tmp_path: Path, insecure: type[KeyringBackend]
) -> None:
    with pytest.raises(SecretsUnavailable, match="WORKBENCH_KEYRING=file"):
        default_backend(tmp_path, {"WORKBENCH_KEYRING": "system"}, system=insecure)


def test_system_choice_returns_a_real_os_keyring(tmp_path: Path) -> None:
    real = FakeOsKeyring("os")
    assert default_backend(tmp_path, {"WORKBENCH_KEYRING": "SYSTEM"}, system=lambda: real) is real


def test_unset_choice_prefers_a_real_os_keyring(tmp_path: Path) -> None:
    real = FakeOsKeyring("os")
    assert default_backend(tmp_path, {}, system=lambda: real) is real


@pytest.mark.parametrize(
    "system", [fail.Keyring, lambda: WeakKeyring("weak"), lambda: PlaintextKeyring("alt")]
)
def test_unset_choice_falls_back_to_the_encrypted_file(
    tmp_path: Path, system: type[KeyringBackend]
) -> None:
    env = {"WORKBENCH_SECRET_KEY": "k"}
    assert isinstance(default_backend(tmp_path, env, system=system), EncryptedFileKeyring)
    with pytest.raises(SecretsUnavailable, match="workbench init"):
        default_backend(tmp_path, {}, system=system)


def test_chainer_without_backends_is_not_a_real_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    env = {"WORKBENCH_SECRET_KEY": "k"}
    chosen = default_backend(tmp_path, env, system=chainer.ChainerBackend)
    assert isinstance(chosen, EncryptedFileKeyring)


def test_unknown_keyring_choice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretsUnavailable, match="'file' or 'system'"):
        default_backend(tmp_path, {"WORKBENCH_KEYRING": "vault"})
