"""Texts larger than memory: encoded once, in a streaming pass, into a memory-mapped array of ids.

A 1 GB text held as a Python string, then as int64 ids, needs about 9 GB; as one byte per
character on disk, memory-mapped, it needs the pages training actually touches. So each text file
is read in chunks of CHUNK_CHARS characters and written as ids next to it:

    <text>.ids     the ids, uint8 when the vocabulary (with the unknown symbol) has <= 256 entries,
                   else uint16: one or two bytes per character
    <text>.ids.json  what the ids were made from: the source's size, modification time and a hash
                   of its first and last MiB, the vocabulary, the dtype and length, and the SHA-256
                   of the ids file itself

Before a cache is used, all of that is checked against the source and the vocabulary asked for,
and the ids file against its hash; anything stale (the text or the vocabulary changed) or corrupt
(truncated, overwritten) is rebuilt, never used. When the text's folder is read-only the cache
goes to ~/.cache/rnn-from-scratch (or $XDG_CACHE_HOME) instead.

The vocabulary is the characters of the training text, found by the same kind of streaming pass
(`characters_in`); any other character becomes the unknown id 0, as in `src/data/vocab.py`. Newlines
are read as Python reads text files (\\r\\n becomes \\n), so ids match `read_text`.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from src.data.corpus import partial_path, reading
from src.data.vocab import UNK_ID
from src.errors import UserError

CHUNK_CHARS = 1 << 20  # 1M characters per read: memory stays bounded (and unfragmented) for any file size
FORMAT = "rnn-from-scratch-ids/1"
EDGE_BYTES = 1 << 20  # the source's first and last MiB go into its fingerprint
_MAPS: weakref.WeakSet[mmap.mmap] = weakref.WeakSet()  # the open id maps, for `release_pages`


def text_chunks(path: Path, limit: int | None = None) -> Iterator[str]:
    """The file's text in chunks of up to CHUNK_CHARS characters (the first `limit` characters only, if given)."""
    remaining = limit
    with reading(path), path.open(encoding="utf-8") as handle:
        while remaining is None or remaining > 0:
            chunk = handle.read(CHUNK_CHARS if remaining is None else min(CHUNK_CHARS, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def code_points(chunk: str) -> np.ndarray:
    """The chunk's characters as uint32 Unicode code points, without a Python loop."""
    return np.frombuffer(chunk.encode("utf-32-le"), dtype="<u4")


def count_characters(path: Path) -> int:
    """How many characters the file holds (a streaming pass)."""
    return sum(len(chunk) for chunk in text_chunks(path))


def characters_in(path: Path, limit: int | None = None) -> list[str]:
    """The distinct characters of the file (of its first `limit` characters), in code-point order."""
    present = np.zeros(0, dtype=bool)
    for chunk in text_chunks(path, limit):
        counts = np.bincount(code_points(chunk))
        if len(counts) > len(present):
            present = np.pad(present, (0, len(counts) - len(present)))
        present[: len(counts)] |= counts > 0
    return [chr(cp) for cp in np.flatnonzero(present)]


def id_dtype(vocab_size: int) -> np.dtype:
    """One byte per character when the ids fit, else two."""
    if vocab_size <= 1 << 8:
        return np.dtype(np.uint8)
    if vocab_size <= 1 << 16:
        return np.dtype(np.uint16)
    raise UserError(f"a vocabulary of {vocab_size} characters is more than the id cache's 65,536")


def source_fingerprint(path: Path) -> dict[str, object]:
    """Size, modification time and a hash of the first and last MiB: changes whenever the text does."""
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        digest.update(handle.read(EDGE_BYTES))
        handle.seek(max(0, stat.st_size - EDGE_BYTES))
        digest.update(handle.read(EDGE_BYTES))
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "edges_sha256": digest.hexdigest()}


def file_sha256(path: Path) -> str:
    """SHA-256 of a whole file, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def writable_folder(folder: Path) -> bool:
    """Whether to write beside files in `folder`: we may, and its mode does not mark it read-only.

    The mode bits are checked too because root passes every access check, and a folder that
    nobody may write to (like a shared, read-only data folder) should stay untouched even then.
    """
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def cache_paths(source: Path) -> tuple[Path, Path]:
    """(ids, metadata) beside the source, or in the user's cache folder if the source's folder is read-only."""
    folder = source.parent
    if not writable_folder(folder):
        cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rnn-from-scratch"
        cache_home.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
        folder, stem = cache_home, f"{source.name}.{key}"
    else:
        stem = source.name
    return folder / f"{stem}.ids", folder / f"{stem}.ids.json"


def encode_file(source: Path, chars: list[str], ids_path: Path) -> int:
    """Write the ids of every character of `source` to `ids_path` (atomically); returns how many."""
    dtype = id_dtype(len(chars) + 1)
    lookup = np.full(max((ord(c) for c in chars), default=0) + 1, UNK_ID, dtype=dtype)
    lookup[[ord(c) for c in chars]] = np.arange(1, len(chars) + 1)  # id i + 1 for chars[i], as CharVocab
    partial = partial_path(ids_path)
    count = 0
    with partial.open("wb") as handle:
        for chunk in text_chunks(source):
            points = code_points(chunk)
            inside = points < len(lookup)
            ids = np.where(inside, lookup[np.where(inside, points, 0)], UNK_ID).astype(dtype)
            handle.write(ids.tobytes())
            count += len(ids)
    partial.replace(ids_path)
    return count


def current_meta(source: Path) -> dict | None:
    """The cache's metadata if it was made from the source as it is now (else None; the ids are not checked here)."""
    meta = _read_meta(cache_paths(source)[1])
    if meta is None or meta.get("format") != FORMAT or meta.get("source") != source_fingerprint(source):
        return None
    return meta


def text_length(source: Path) -> int:
    """How many characters `source` holds: from its cache's metadata when current, else by counting."""
    meta = current_meta(source)
    return meta["length"] if meta is not None else count_characters(source)


def training_characters(source: Path, limit: int | None = None) -> list[str]:
    """The vocabulary of `source`'s first `limit` characters (all if None), reusing the cache's when it matches."""
    meta = current_meta(source)
    if meta is not None and meta.get("vocabulary_of_first") == limit:
        return meta["chars"]
    return characters_in(source, limit)


def cached_ids(source: Path, chars: list[str], vocabulary_of_first: int | None = None) -> np.ndarray:
    """The ids of `source` under the vocabulary `chars` (unknown id 0), memory-mapped from the cache.

    Built (or rebuilt, if stale or corrupt) on first use. `vocabulary_of_first` records which
    prefix of `source` the vocabulary came from (None: all of it, or another file), so the next
    run can take the vocabulary from the cache instead of reading the text again.
    """
    ids_path, meta_path = cache_paths(source)
    expected = {"format": FORMAT, "source": source_fingerprint(source), "chars": chars,
                "dtype": id_dtype(len(chars) + 1).name}
    meta = _read_meta(meta_path)
    rebuild = meta is None or any(meta.get(key) != value for key, value in expected.items())
    if rebuild or not _intact(ids_path, meta):
        length = encode_file(source, chars, ids_path)
        meta = {**expected, "length": length, "ids_sha256": file_sha256(ids_path), "vocabulary_of_first": -1}
    if meta.get("vocabulary_of_first") != vocabulary_of_first:  # a new cache, or a new note on its vocabulary
        meta["vocabulary_of_first"] = vocabulary_of_first
        partial = partial_path(meta_path)
        partial.write_text(json.dumps(meta) + "\n", encoding="utf-8")
        partial.replace(meta_path)
    if meta["length"] == 0:
        return np.zeros(0, dtype=meta["dtype"])
    return map_ids(ids_path, np.dtype(meta["dtype"]), meta["length"])


def map_ids(path: Path, dtype: np.dtype, length: int) -> np.ndarray:
    """The ids file as an array over a copy-on-write memory map, read at random (no readahead).

    Reading never copies, and nothing can write to the file through it. MADV_RANDOM turns off
    readahead, which would otherwise read ahead of every random window.
    """
    with path.open("rb") as handle:
        mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    if hasattr(mapping, "madvise"):
        mapping.madvise(mmap.MADV_RANDOM)
    _MAPS.add(mapping)
    return np.frombuffer(mapping, dtype=dtype, count=length)


def release_pages() -> None:
    """Hand back the pages of every id map read so far (they are read again from the file when needed).

    Pages a process has read stay in its resident set, and a file system with large folios maps
    up to 2 MB around each one: on this machine every batch of 64 random windows added ~110 MB,
    the whole 2.35 GB file within ~20 batches. Called after every batch (about 0.3 ms), it keeps
    the resident set to one batch's pages.
    """
    for mapping in list(_MAPS):
        if hasattr(mapping, "madvise"):
            mapping.madvise(mmap.MADV_DONTNEED)


def _read_meta(path: Path) -> dict | None:
    """The cache's metadata, or None if it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _intact(ids_path: Path, meta: dict) -> bool:
    """Whether the ids file has the recorded length and hash."""
    try:
        size_ok = ids_path.stat().st_size == meta["length"] * np.dtype(meta["dtype"]).itemsize
    except (OSError, KeyError, TypeError):
        return False
    return size_ok and file_sha256(ids_path) == meta.get("ids_sha256")
