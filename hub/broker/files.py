"""Writing files others read (mosquitto, an installer copying to a Pi) so that no reader
ever sees half a file or a private key with loose permissions.

The mode is set on the temporary file before any byte is written, so a key is never
readable by others even for an instant, and the file appears under its name only whole
(os.replace). A file mosquitto must read gets its group (mosquitto drops to its own user
before loading password, ACL and TLS files).
"""

from __future__ import annotations

import grp
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: private keys, the CA, and the hub's own secrets: the owner alone
SECRET = 0o600
#: what mosquitto reads (password and ACL files, the server key): owner and its group
BROKER_READS = 0o640
#: certificates, the CA certificate, the CRL: public
PUBLIC = 0o644


def ensure_dir(path: Path, mode: int = 0o700) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    return path


def _gid(group: str | None) -> int | None:
    if not group:
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return None


def set_group(path: Path, group: str | None, fd: int | None = None) -> None:
    """Give ``path`` (through ``fd`` when it is open) to ``group`` where that group exists here and we may."""
    gid = _gid(group)
    if gid is not None:
        try:
            os.chown(path if fd is None else fd, -1, gid)
        except PermissionError:
            log.warning("cannot give %s to group %s; mosquitto may not be able to read it", path, group)


def write_atomic(path: Path, data: bytes, mode: int, group: str | None = None) -> Path:
    """Replace ``path`` with ``data``, made with ``mode`` (and ``group`` where it exists here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed it; a wider mode is deliberate here
        set_group(path, group, fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return path
