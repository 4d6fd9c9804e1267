"""The seller-network index: what the last computation of the networks read, packed, so the next one reads only
what changed (matching/network_update.py).

Four parts, each a numpy structured array sorted by its owner's id and stored in blocks of 2^16 ids
(core.models.NetworkIndexBlock), so a night's new listings rewrite a block or two, not the whole index:
  - photos: every listing photo that can link sellers (status ok, a usable pHash, a seller, not the brand's own):
    image id, listing, seller, pHash, dHash, the first 128 bits of its SHA-256, flags (has a dHash, has a SHA-256),
    and its near component: the lowest image id of the photos it is near, directly or through others (a superset
    once photos go: components are joined as photos come, never split until the next full computation);
  - listing details: (detail hash, seller, listing, kind) of each title key and contact detail in a listing's text;
  - seller details: the same for each contact detail and shop name of a seller (listing 0);
  - sellers: a digest of each seller's raw name (it is in the link sentences) and whether it is authorised.
A detail is hashed to 64 bits (BLAKE2b of its kind and text); the link sentences are made again from the text.
Reading every block back costs a fraction of a second at a million listings, against seconds for the rows.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from core.models import MatchState, NetworkIndexBlock, utcnow

STATE_INDEX = "seller_networks.index"  # the catalogue fingerprint the stored index was made under
STATE_CHECKED = "seller_networks.checked_at"  # sellers seen or purged since then are looked at again
STATE_PENDING = "seller_networks.pending"  # "1": listings were matched whose networks are not updated yet
BLOCK_BITS = 16
CONTACT, NAME, TITLE = 0, 1, 2  # detail kinds
HAS_DHASH, HAS_SHA = 1, 2  # photo flags

PHOTO = np.dtype([("image", "<i8"), ("listing", "<i8"), ("seller", "<i8"), ("phash", "<u8"), ("dhash", "<u8"),
                  ("sha_hi", "<u8"), ("sha_lo", "<u8"), ("flags", "u1"), ("near", "<i8")])
DETAIL = np.dtype([("key", "<u8"), ("seller", "<i8"), ("listing", "<i8"), ("kind", "u1")])
SELLER = np.dtype([("seller", "<i8"), ("name", "<u8"), ("authorised", "u1")])
# part -> (dtype, the field its blocks are cut by)
PARTS: dict[str, tuple[np.dtype, str]] = {
    "photos": (PHOTO, "image"),
    "listing_details": (DETAIL, "listing"),
    "seller_details": (DETAIL, "seller"),
    "sellers": (SELLER, "seller"),
}


def detail_hash(kind: int, text: str) -> int:
    """A detail (a title key, a contact detail, a shop name) as 64 bits, stable across processes."""
    return int.from_bytes(hashlib.blake2b(f"{kind}\x1f{text}".encode(), digest_size=8).digest(), "little")


def name_digest(name: str) -> int:
    return detail_hash(255, name)


def sha_parts(sha: str | None) -> tuple[int, int, bool]:
    """The first 128 bits of a hex SHA-256 as two integers, and whether there was one."""
    if not sha or len(sha) < 32:
        return 0, 0, False
    try:
        return int(sha[:16], 16), int(sha[16:32], 16), True
    except ValueError:
        return 0, 0, False


def photo_rows(image: np.ndarray, listing: np.ndarray, seller: np.ndarray, phash: np.ndarray, dhash: np.ndarray,
               has_dhash: np.ndarray, shas: Sequence[str | None], near: np.ndarray | None = None) -> np.ndarray:
    """PHOTO rows; `near` their near components (each its own when not given)."""
    rows = np.zeros(len(image), dtype=PHOTO)
    rows["near"] = image if near is None else near
    rows["image"], rows["listing"], rows["seller"], rows["phash"], rows["dhash"] = image, listing, seller, phash, dhash
    parts = _sha_columns(shas)
    rows["sha_hi"], rows["sha_lo"] = parts[0], parts[1]
    rows["flags"] = np.where(has_dhash, HAS_DHASH, 0) | np.where(parts[2], HAS_SHA, 0)
    return rows


def _sha_columns(shas: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first 128 bits of each hex SHA-256, in one conversion when all are well formed."""
    present = np.array([s is not None and len(s) >= 32 for s in shas], dtype=bool)
    try:
        raw = bytes.fromhex("".join(s[:32] if ok and s else "0" * 32 for s, ok in zip(shas, present, strict=True)))
        if len(raw) == 16 * len(shas):
            words = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 2)
            return words[:, 0], words[:, 1], present
    except ValueError:
        pass
    parsed = [sha_parts(s) for s in shas]
    return (np.array([p[0] for p in parsed], dtype=np.uint64), np.array([p[1] for p in parsed], dtype=np.uint64),
            np.array([p[2] for p in parsed], dtype=bool))


def detail_rows(details: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    """DETAIL rows from (hash, seller, listing, kind) tuples."""
    return np.array(list(details), dtype=DETAIL) if details else np.zeros(0, dtype=DETAIL)


def seller_rows_of(names: dict[int, str], authorised: Iterable[int]) -> np.ndarray:
    rows = np.zeros(len(names), dtype=SELLER)
    rows["seller"] = np.fromiter(names, dtype=np.int64, count=len(names))
    rows["name"] = np.fromiter((name_digest(n) for n in names.values()), dtype=np.uint64, count=len(names))
    rows["authorised"] = np.isin(rows["seller"], np.fromiter(authorised, dtype=np.int64))
    return rows


def get_state(session: Session, key: str) -> str | None:
    row = session.get(MatchState, key)
    return row.value if row is not None else None


def set_state(session: Session, key: str, value: str) -> None:
    row = session.get(MatchState, key)
    if row is None:
        session.add(MatchState(key=key, value=value, updated_at=utcnow()))
    elif row.value != value:
        row.value, row.updated_at = value, utcnow()


def _sorted(rows: np.ndarray, field: str) -> np.ndarray:
    return take_rows(rows, np.argsort(rows[field], kind="stable"))


def _raw(rows: np.ndarray) -> np.ndarray:
    """The rows as plain bytes: numpy copies rows of a structured dtype field by field, 4-5 times slower."""
    return rows.view(np.dtype((np.void, rows.dtype.itemsize)))


def take_rows(rows: np.ndarray, which: np.ndarray) -> np.ndarray:
    """rows[which] (a mask or positions), copied as bytes."""
    taken: np.ndarray = _raw(rows)[which].view(rows.dtype)
    return taken


def join_rows(parts: Sequence[np.ndarray], dtype: np.dtype, spare: int = 0) -> np.ndarray:
    """np.concatenate of rows of one dtype, copied as bytes; with room for `spare` more rows after them in the
    same buffer (extended fills it)."""
    size = np.dtype(dtype).itemsize
    buffer = np.empty((sum(len(part) for part in parts) + spare) * size, dtype=np.uint8)
    at = 0
    for part in parts:
        raw = np.ascontiguousarray(part, dtype=dtype).view(np.uint8)
        buffer[at:at + len(raw)] = raw
        at += len(raw)
    return buffer.view(dtype)[:at // size]


def extended(rows: np.ndarray, more: np.ndarray) -> np.ndarray:
    """`rows` followed by `more`: written in the room join_rows left after `rows` when there is enough (so a
    part of millions of rows is not copied for a night's few), else copied. The room is used once: an index
    is extended once, by the update that loaded it."""
    buffer, size = rows.base, rows.dtype.itemsize
    start, end = len(rows) * size, (len(rows) + len(more)) * size
    if isinstance(buffer, np.ndarray) and buffer.dtype == np.uint8 and buffer.ndim == 1 and len(buffer) >= end \
            and rows.flags.c_contiguous and rows.ctypes.data == buffer.ctypes.data:
        buffer[start:end] = np.ascontiguousarray(more, dtype=rows.dtype).view(np.uint8)
        return buffer.view(rows.dtype)[:len(rows) + len(more)]
    return join_rows([rows, more], rows.dtype)


@dataclass(frozen=True)
class NetworkIndex:
    photos: np.ndarray  # PHOTO rows, by image id
    listing_details: np.ndarray  # DETAIL rows, by listing id
    seller_details: np.ndarray  # DETAIL rows, by seller id
    sellers: np.ndarray  # SELLER rows, by seller id

    @classmethod
    def build(cls, photos: np.ndarray, listing_details: np.ndarray, seller_details: np.ndarray,
              sellers: np.ndarray) -> NetworkIndex:
        return cls(_sorted(photos, "image"), _sorted(listing_details, "listing"),
                   _sorted(seller_details, "seller"), _sorted(sellers, "seller"))

    def part(self, name: str) -> np.ndarray:
        rows: np.ndarray = getattr(self, name)
        return rows

    def replacing(self, name: str, field: str, owners: Iterable[int],
                  rows: np.ndarray) -> tuple[NetworkIndex, np.ndarray]:
        """The index with part `name`'s rows whose `field` is one of `owners` replaced by `rows`; and the rows
        taken out."""
        current = self.part(name)
        gone = np.isin(current[field], np.fromiter(owners, dtype=np.int64))
        if not len(rows) and not gone.any():
            return self, current[:0]
        kept = take_rows(current, ~gone) if gone.any() else current  # a night's new listings replace nothing
        rows = _sorted(rows.astype(current.dtype), PARTS[name][1])
        order = PARTS[name][1]
        if not len(kept) or not len(rows) or kept[order][-1] <= rows[order][0]:  # a night's new ids: appended
            return replace(self, **{name: extended(kept, rows)}), take_rows(current, gone)
        # Merged in, each after the kept rows of its id: what a stable sort of both gives, without sorting all.
        merged = np.insert(_raw(kept), np.searchsorted(kept[order], rows[order], side="right"), _raw(rows))
        return replace(self, **{name: merged.view(current.dtype)}), take_rows(current, gone)

    def blocks(self, name: str, wanted: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """The rows of part `name` by block (only the `wanted` blocks, when given), each a slice: rows are sorted."""
        field = PARTS[name][1]
        rows = self.part(name)
        cut = rows[field] >> BLOCK_BITS
        found = np.unique(cut) if wanted is None else np.array(sorted(wanted), dtype=np.int64)
        starts = np.searchsorted(cut, found, "left")
        ends = np.searchsorted(cut, found, "right")
        return {int(block): rows[start:end] for block, start, end in zip(found.tolist(), starts.tolist(),
                                                                          ends.tolist(), strict=True) if end > start}


def blocks_of(ids: Iterable[int]) -> set[int]:
    return {int(i) >> BLOCK_BITS for i in ids}


def load_index(session: Session, spare: int = 0) -> NetworkIndex | None:
    """The stored index, None when none is (a full computation writes one); each part with room for `spare` more
    rows (NetworkIndex.replacing appends a night's new ones there)."""
    parts: dict[str, list[bytes]] = {name: [] for name in PARTS}
    for part, data in session.execute(select(NetworkIndexBlock.part, NetworkIndexBlock.data)
                                      .order_by(NetworkIndexBlock.part, NetworkIndexBlock.block)):
        if part in parts:
            parts[part].append(data)
    if not parts["sellers"]:
        return None
    arrays = {name: join_rows([np.frombuffer(chunk, dtype=PARTS[name][0]) for chunk in chunks], PARTS[name][0],
                              spare) for name, chunks in parts.items()}  # one copy, writable
    return NetworkIndex(**arrays)


def save_index(session: Session, index: NetworkIndex, touched: dict[str, set[int]] | None = None) -> None:
    """Write the index: every block (touched None), else only the blocks named, per part."""
    now = utcnow()
    for name in PARTS:
        wanted: Sequence[int] | None = None if touched is None else sorted(touched.get(name, set()))
        blocks = index.blocks(name, wanted)
        if wanted is None:
            session.execute(delete(NetworkIndexBlock).where(NetworkIndexBlock.part == name))
            wanted = sorted(blocks)
        elif not wanted:
            continue
        else:
            session.execute(delete(NetworkIndexBlock).where(NetworkIndexBlock.part == name,
                                                            NetworkIndexBlock.block.in_(wanted)))
        rows = [{"part": name, "block": block, "rows": len(blocks[block]), "data": blocks[block].tobytes(),
                 "updated_at": now} for block in wanted if block in blocks]
        if name == "sellers" and not rows and touched is None:
            # The sellers part marks the index as written, even with no seller yet.
            rows = [{"part": name, "block": -1, "rows": 0, "data": b"", "updated_at": now}]
        for start in range(0, len(rows), 8):
            session.execute(insert(NetworkIndexBlock), rows[start:start + 8])


# --- near photos: which photos lie within NEAR_PHOTO bits of a few, among millions --------------------------


def _chunks(count: int) -> list[tuple[int, int]]:
    """(shift, mask) of `count` chunks of 64 bits, as even as can be."""
    out, shift = [], 0
    for k in range(count):
        bits = 64 // count + (k < 64 % count)
        out.append((shift, (1 << bits) - 1))
        shift += bits
    return out


class NearPhotos:
    """Stored photos (PHOTO rows), for "which of them lie near these few": within `radius` bits on the pHash and
    on the dHash (0 when unknown, as matching.clusters groups them), or on the pHash alone when either photo has no
    dHash. A superset of every near-photo group either photo can be in, found exactly.

    Pigeonhole on the pHash: cut it into radius + 2 chunks; two photos within `radius` bits differ on `radius`
    chunks at most, so agree exactly on two at least. For each pair of chunks, the queries' two chunks make a key
    of about 22 bits, marked in a bitmap (half a megabyte: it stays in the cache); each stored photo's key is
    looked up there (a pass over the stored photos, no sort), and the few it finds are checked in full, on the
    dHash too when both photos have one."""

    def __init__(self, rows: np.ndarray, radius: int):
        self.rows = rows
        self.radius = radius
        self.chunks = _chunks(radius + 2)
        self.width = max(mask.bit_length() for _, mask in self.chunks)
        self.phash = np.ascontiguousarray(rows["phash"], dtype=np.uint64)
        self.dhash = np.ascontiguousarray(rows["dhash"], dtype=np.uint64)
        self.has_dhash = (rows["flags"] & HAS_DHASH) > 0
        parts = [((self.phash >> np.uint64(shift)) & np.uint64(mask)).astype(np.uint32) for shift, mask in self.chunks]
        # A key is (first chunk << width | second chunk): its byte in the bitmap and its bit there, in parts.
        self.high = [part << np.uint32(self.width - 3) for part in parts]
        self.low = [(part >> np.uint32(3)).astype(np.uint16) for part in parts]
        self.bit = [(np.uint8(1) << (part & np.uint32(7)).astype(np.uint8)) for part in parts]

    def within(self, query: np.ndarray) -> np.ndarray:
        """Positions (sorted) of the stored photos near one of `query` (PHOTO rows); each distinct photo (its
        hashes) is looked up once, as a shop's own photo may be on hundreds of its listings."""
        hashes = np.stack([query["phash"], query["dhash"], query["flags"].astype(np.uint64) & np.uint64(HAS_DHASH)],
                          axis=1)
        _, first = np.unique(hashes, axis=0, return_index=True)
        found = np.zeros(len(self.rows), dtype=bool)
        found[self._candidates(query[first])[1]] = True
        return np.flatnonzero(found)

    def pairs(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query position, stored position) of every stored photo near a query photo, each pair once."""
        found_q, found_s = self._candidates(query)
        span = max(len(self.rows), 1)
        codes = np.unique(found_q * span + found_s)  # a pair agrees on several chunks
        return codes // span, codes % span

    def _candidates(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query position, stored position) of every near pair, some more than once."""
        qp = np.ascontiguousarray(query["phash"], dtype=np.uint64)
        qd = np.ascontiguousarray(query["dhash"], dtype=np.uint64)
        q_has_dhash = (query["flags"] & HAS_DHASH) > 0
        found_q: list[np.ndarray] = []
        found_s: list[np.ndarray] = []
        if len(query) and len(self.rows):
            q_parts = [((qp >> np.uint64(shift)) & np.uint64(mask)).astype(np.uint32) for shift, mask in self.chunks]
            bitmap = np.zeros((1 << (2 * self.width)) // 8, dtype=np.uint8)
            for a, b in itertools.combinations(range(len(self.chunks)), 2):
                q_keys = (q_parts[a] << np.uint32(self.width)) | q_parts[b]
                bitmap[:] = 0
                np.bitwise_or.at(bitmap, q_keys >> 3, (1 << (q_keys & 7)).astype(np.uint8))
                hits = np.flatnonzero(bitmap[self.high[a] | self.low[b]] & self.bit[b])
                if not hits.size:
                    continue
                (a_shift, a_mask), (b_shift, b_mask) = self.chunks[a], self.chunks[b]
                keys = ((((self.phash[hits] >> np.uint64(a_shift)) & np.uint64(a_mask)) << np.uint64(self.width))
                        | ((self.phash[hits] >> np.uint64(b_shift)) & np.uint64(b_mask))).astype(np.uint32)
                order = np.argsort(q_keys, kind="stable")
                sorted_keys = q_keys[order]
                starts = np.searchsorted(sorted_keys, keys, "left")
                lengths = np.searchsorted(sorted_keys, keys, "right") - starts
                stored = np.repeat(hits, lengths)
                q = order[np.arange(int(lengths.sum())) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)]
                close = np.bitwise_count(qp[q] ^ self.phash[stored]) <= self.radius
                close &= (np.bitwise_count(qd[q] ^ self.dhash[stored]) <= self.radius) \
                    | ~(q_has_dhash[q] & self.has_dhash[stored])
                found_q.append(q[close])
                found_s.append(stored[close])
        if not found_q:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(found_q).astype(np.int64), np.concatenate(found_s).astype(np.int64)
