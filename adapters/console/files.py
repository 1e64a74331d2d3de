"""The console's files: a user's files named, fetched when their turn runs; the app's files saved.

The contract's convention for a user's file, even when it is on the same disk: the receive loop
only *names* it (an :class:`~bridge.Attachment` whose ``source`` refers to the file, with the size
the platform declares), and the turn calls ``adapter.fetch`` when it runs, after checking the size
against the limits. So reading never holds up the receive loop, a file over the limit is never
read, and a message waiting in the durable inbox holds a reference, not the bytes.

Files the app returns arrive downloaded (:class:`~bridge.LocalFile`); they are copied into the
configured ``files_dir`` under a name not taken yet.
"""

from __future__ import annotations

import mimetypes
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from bridge import Attachment, LocalFile, PlatformError


def reference(path: Path) -> Attachment:
    """The attachment for the local file ``path`` (which exists), named, not read."""
    path = path.expanduser().resolve()  # the inbox may resume it from another working folder
    return Attachment(
        name=path.name,
        source=(("path", str(path)),),
        declared_size=path.stat().st_size,
        mime_type=mimetypes.guess_type(path.name)[0],
    )


def fetch(attachment: Attachment) -> Attachment:
    """The file a :func:`reference` names, to be read from disk when uploaded."""
    path = Path(dict(attachment.source).get("path", ""))
    if not path.is_file():
        raise PlatformError(f"the file {path} is no longer there", permanent=True)
    return Attachment.from_path(path, attachment.mime_type)


def save(files: Sequence[LocalFile], folder: Path) -> Iterator[tuple[LocalFile, Path]]:
    """Copy each file into ``folder`` (created when missing); yields each with where it went."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        dest = _unused(folder / f.name)
        shutil.copyfile(f.path, dest)
        yield f, dest


def _unused(path: Path) -> Path:
    """``path``, or ``name-1.ext``, ``name-2.ext``… when it is taken: nothing saved is overwritten."""
    n = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate
