"""Schema cache snapshots on disk, shared by the workers of one host.

A snapshot is the bytes of ``SchemaCache.to_snapshot`` (a checksummed binary file, see docs/schema-cache.md,
"Snapshots"). The store keeps one file per (database, exposed schemas) pair in the snapshot folder, so that
servers for different databases can share the folder:

- ``schema-<key>.snap`` is replaced atomically (write a scratch file, fsync, rename, fsync the folder): a
  reader sees the old snapshot or the new one, never half of one, even across a crash;
- ``schema-<key>.lock`` is held with ``flock`` by the one worker that loads from the database (the leader).
  The kernel releases it when that process exits, so another worker takes over without any cleanup;
- ``schema-<key>.checked`` is the leader's last verdict: the catalog fingerprint and when it asked for it,
  so that the other workers need not each ask PostgreSQL after a notification (see ``reloader.py``).

Damaged or stale files are not the store's concern: the loader (``SchemaCache.from_snapshot``) refuses them
and the reloader writes a fresh one.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restpg.config import Config

__all__ = ["SnapshotStore", "boot_id", "default_snapshot_dir", "snapshot_key", "store_for"]


def default_snapshot_dir() -> Path:
    """``$XDG_RUNTIME_DIR/restpg`` (a per-user tmpfs on most Linux systems), else a per-user temp folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "restpg"
    return Path(tempfile.gettempdir()) / f"restpg-{os.getuid()}"


def store_for(config: Config) -> SnapshotStore:
    """The store of the cache ``config`` describes: its folder, and a key for its database and schemas."""
    folder = Path(config.restpg_snapshot_dir) if config.restpg_snapshot_dir else default_snapshot_dir()
    return SnapshotStore(folder, snapshot_key(config.db_uri, config.db_schemas, config.db_extra_search_path))


@functools.cache
def boot_id() -> str | None:
    """This boot of the host (Linux's random boot id); None where the system does not tell."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def snapshot_key(db_uri: str, schemas: Sequence[str], extra_search_path: Sequence[str]) -> str:
    """A file-name-safe key for what the cache depends on; the URI is hashed, never written in clear."""
    material = "\0".join([db_uri, ",".join(schemas), ",".join(extra_search_path)])
    return hashlib.sha256(material.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class FileIdentity:
    """Changes whenever the snapshot file is replaced (a rename gives a new inode)."""

    inode: int
    mtime_ns: int
    size: int


# What a process decoded and wrote, kept for the processes forked from it (see SnapshotStore.hand_down).
_handed_down: dict[Path, tuple[FileIdentity, object, str]] = {}


class SnapshotStore:
    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.path = folder / f"schema-{key}.snap"
        self.lock_path = folder / f"schema-{key}.lock"
        self.verdict_path = folder / f"schema-{key}.checked"
        self._lock_fd: int | None = None

    def ensure_folder(self) -> None:
        # Private to the user: a snapshot describes the database's schema.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    # --- leadership ------------------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self._lock_fd is not None

    def try_lead(self) -> bool:
        """Take the host-wide loader lock if it is free; keep it until ``release`` or process exit."""
        if self._lock_fd is not None:
            return True
        self.ensure_folder()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    # --- the leader's verdict ---------------------------------------------------------------------------

    def write_verdict(self, fingerprint: str, checked_at: float) -> None:
        """Record that the catalog's fingerprint was ``fingerprint`` when it was asked for at ``checked_at``
        (``time.monotonic()``: one clock for every process of the host, reset when it boots; the boot's id
        is written with it). Nothing is written where the boot cannot be told apart."""
        boot = boot_id()
        if boot is not None:
            # Not synced: a verdict lost in a crash costs the followers one fingerprint each.
            self._replace(self.verdict_path, f"{boot} {checked_at!r} {fingerprint}".encode(), durable=False)

    def read_verdict(self) -> tuple[float, str] | None:
        """``(checked_at, fingerprint)`` of the leader's last verdict in this boot; None when there is none."""
        try:
            boot, checked_at, fingerprint = self.verdict_path.read_text(encoding="utf-8").split(" ", 2)
            when = float(checked_at)
        except (OSError, ValueError):  # none yet, or not one of ours
            return None
        return (when, fingerprint) if boot == boot_id() and fingerprint else None

    # --- the file --------------------------------------------------------------------------------------

    def identity(self) -> FileIdentity | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return FileIdentity(st.st_ino, st.st_mtime_ns, st.st_size)

    def hand_down(self, cache: object, fingerprint: str, identity: FileIdentity | None = None) -> None:
        """Keep ``cache``, the content of the file (by default as it is now) with ``fingerprint``, for the
        processes this one will fork.

        ``restpg serve`` forks its workers right after it has the cache: written by a cold start, or decoded
        from the snapshot on disk while it imported. Each worker would otherwise read and decode the file on
        its way to ready (10-25 ms and a thread at 1,000 tables, per worker). They adopt the inherited
        object instead (``inherited``), shared copy-on-write.
        """
        identity = identity or self.identity()
        if identity is not None:
            _handed_down[self.path] = (identity, cache, fingerprint)

    def inherited(self, identity: FileIdentity) -> tuple[object, str] | None:
        """``(cache, fingerprint)`` handed down for the file with ``identity``, once; None when the file was
        replaced since (or nothing was handed down)."""
        kept = _handed_down.pop(self.path, None)
        if kept is None or kept[0] != identity:
            return None
        return kept[1], kept[2]

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def write(self, data: bytes) -> None:
        """Replace the snapshot atomically and durably."""
        self._replace(self.path, data, durable=True)

    def _replace(self, target: Path, data: bytes, *, durable: bool) -> None:
        """Replace ``target`` with ``data`` atomically (readers see the old file or the new one), and with
        ``durable`` so that it survives a crash."""
        self.ensure_folder()
        fd, scratch = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                if durable:
                    file.flush()
                    os.fsync(file.fileno())
            os.replace(scratch, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(scratch)
            raise
        if not durable:
            return
        # The rename itself is durable only once the folder is synced.
        dir_fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
