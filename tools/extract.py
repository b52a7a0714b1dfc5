#!/usr/bin/python3
"""Restore a snapshot from a local Lifeboat repository without Lifeboat.

Written from docs/repository-format.md alone (section names in comments below
are that document's), as proof that the document is enough to read a
repository: Python 3 standard library plus Debian's python3-cryptography and
python3-zstandard.

    LIFEBOAT_PASSWORD=... /usr/bin/python3 tools/extract.py --repo DIR --list
    LIFEBOAT_PASSWORD=... /usr/bin/python3 tools/extract.py --repo DIR \
        [--snapshot ID|PREFIX|latest] --target DIR
    (or --password-file FILE instead of LIFEBOAT_PASSWORD)

The reader is strict: whatever the document says a reader must verify is
verified, and where the document is silent the reader refuses rather than
guesses. Exit codes:
    0  done, everything verified
    1  refused: a verification failed or the repository cannot be read
       (the message names the object); a restore may be incomplete
    2  usage error
    3  done and verified, but damaged objects were found and ignored as the
       document prescribes (bad key files, damaged index files; see stderr)
"""

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import re
import stat
import struct
import sys
from collections import OrderedDict
from datetime import datetime

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    import zstandard
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "extract.py: needs the Debian packages python3-cryptography and python3-zstandard "
        "(apt-get install python3-cryptography python3-zstandard; run with /usr/bin/python3): %s\n" % err
    )
    sys.exit(1)

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")

# Bounds the document does not give but a reader needs before reading a file
# that anyone can write (Threat model: "bounds every size it reads from an
# unauthenticated place ... before allocating anything").
MAX_CONFIG_BYTES = 1 * MIB  # config, keys/*, locks/*: small JSON files
# index/snapshot: "The zstd frame declares its content size, at most 1 GiB";
# the same bound is applied to the stored file (flag + body + seal overhead).
MAX_METADATA_JSON = 1 * GIB
MAX_METADATA_STORED = MAX_METADATA_JSON + 1 + 12 + 16

# Primitives: seal = nonce(12) || ciphertext || tag(16)
NONCE_LEN = 12
TAG_LEN = 16
SEAL_OVERHEAD = NONCE_LEN + TAG_LEN

# Associated data (v2)
AD_KEY = b"lifeboat/key"
AD_INDEX = b"lifeboat/index"
AD_SNAPSHOT = b"lifeboat/snapshot"
AD_PACK_HEADER = b"lifeboat/pack-header"
AD_BLOB_PREFIX = b"lifeboat/blob/"

# Packs: entry = type(u8) || compressed(u8) || rawLength(u32le) || length(u32le) || id(32)
ENTRY = struct.Struct("<BBII")
ENTRY_LEN = ENTRY.size + 32  # 42
BLOB_DATA, BLOB_TREE = 0, 1
TYPE_NAMES = {BLOB_DATA: "data", BLOB_TREE: "tree"}
U32_MAX = 2**32 - 1

KNOWN_VERSIONS = (1, 2)


class Refused(Exception):
    """A verification failed or the repository cannot be read; the message names the object."""


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def warn(message):
    sys.stderr.write("extract.py: warning: %s\n" % message)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def is_int(value):
    # JSON integers only: Python's bool is an int subclass, a float is not an integer here.
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _refuse_constant(name):
    raise ValueError("%s is not JSON" % name)


def parse_json(raw, what):
    """Strict UTF-8 JSON (no NaN/Infinity); `what` names the object in the error."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray, memoryview)) else raw
        return json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise Refused("%s: not valid UTF-8 JSON (%s)" % (what, err))


def read_object(path, limit, what):
    """Read a whole regular file of at most `limit` bytes, never following a symlink
    at the last component and never blocking on a FIFO or device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise Refused("%s: cannot open (%s)" % (what, err.strerror))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("%s: not a regular file" % what)
        if st.st_size > limit:
            raise Refused("%s: %d bytes, more than the %d allowed" % (what, st.st_size, limit))
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(16 * MIB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise Refused("%s: more than the %d bytes allowed" % (what, limit))
        return b"".join(chunks)
    finally:
        os.close(fd)


def b64_bytes(value, length, what):
    if not isinstance(value, str):
        raise Refused("%s: not a base64 string" % what)
    try:
        out = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise Refused("%s: not valid base64" % what)
    if length is not None and len(out) != length:
        raise Refused("%s: %d bytes, expected %d" % (what, len(out), length))
    return out


def bounded_zstd(body, expected_size, limit, what):
    """Primitives `zstd` / Blobs: the frame must declare its content size (equal to
    `expected_size` when given, at most `limit`); decompress into a buffer of exactly
    that size, one frame, no trailing bytes."""
    try:
        params = zstandard.get_frame_parameters(body)
    except zstandard.ZstdError as err:
        raise Refused("%s: not a zstd frame (%s)" % (what, err))
    size = params.content_size
    if size == zstandard.CONTENTSIZE_UNKNOWN or size == zstandard.CONTENTSIZE_ERROR:
        raise Refused("%s: the zstd frame does not declare its content size" % what)
    if expected_size is not None and size != expected_size:
        raise Refused("%s: the zstd frame declares %d bytes, expected %d" % (what, size, expected_size))
    if size > limit:
        raise Refused("%s: the zstd frame declares %d bytes, more than the %d allowed" % (what, size, limit))
    if size == 0:
        # python-zstandard cannot size a buffer from a declared 0; decompress
        # through the streaming API and require that it yields nothing.
        dobj = zstandard.ZstdDecompressor().decompressobj()
        try:
            out = dobj.decompress(bytes(body))
        except zstandard.ZstdError as err:
            raise Refused("%s: zstd frame does not decompress (%s)" % (what, err))
        if out or not dobj.eof or dobj.unused_data:
            raise Refused("%s: zstd frame is not one empty frame" % what)
        return b""
    try:
        # With a declared content size, python-zstandard allocates exactly that
        # much and fails if the frame would produce more (or less).
        out = zstandard.ZstdDecompressor().decompress(body, max_output_size=size, allow_extra_data=False)
    except zstandard.ZstdError as err:
        raise Refused("%s: zstd frame does not decompress (%s)" % (what, err))
    if len(out) != size:
        raise Refused("%s: zstd frame produced %d bytes, declared %d" % (what, len(out), size))
    return out


# ---------------------------------------------------------------------------
# The repository
# ---------------------------------------------------------------------------


class Location:
    """Where one copy of a blob is: a pack and the entry describing it."""

    __slots__ = ("pack", "type", "offset", "length", "raw", "compressed")

    def __init__(self, pack, type_, offset, length, raw, compressed):
        self.pack, self.type, self.offset, self.length, self.raw, self.compressed = (
            pack, type_, offset, length, raw, compressed)

    def key(self):
        return (self.type, self.offset, self.length, self.raw, self.compressed)


class Pack:
    """A pack read whole and verified: its bytes and its header entries by blob id."""

    def __init__(self, pack_id, data, entries, legacy):
        self.id, self.data, self.entries, self.legacy = pack_id, data, entries, legacy


class Repository:
    def __init__(self, root, password):
        self.root = root
        self.damaged = []  # messages for damaged objects that were ignored
        self.config = self._read_config()
        self.version = self.config["version"]
        self.legacy_allowed = self.config.get("legacyPacks") is True
        self._open_keys(password)
        self._check_config_mac()
        self.index_loaded = False
        self.locations = {}  # blob id -> [Location]
        self.pack_info = {}  # pack id -> {"size", "legacy", "index"}
        self.indexed = {}  # pack id -> [(blob id, Location)] as the index files list them
        self.unindexed_scanned = False
        self.bad_packs = {}  # pack id -> reason
        self.pack_cache = OrderedDict()  # pack id -> Pack (tree packs while walking)
        self.pack_cache_bytes = 0

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def report_damage(self, message):
        self.damaged.append(message)
        warn(message)

    # -- config --------------------------------------------------------------

    def _read_config(self):
        """config: format, version, bounds checked before any value is used."""
        raw = read_object(self.path("config"), MAX_CONFIG_BYTES, "config")
        cfg = parse_json(raw, "config")
        if not isinstance(cfg, dict):
            raise Refused("config: not a JSON object")
        if cfg.get("format") != "lifeboat-repository":
            raise Refused("config: format %r is not lifeboat-repository" % (cfg.get("format"),))
        version = cfg.get("version")
        if not is_int(version) or version < 1:
            raise Refused("config: version %r is not a format version" % (version,))
        if version > max(KNOWN_VERSIONS):
            raise Refused("config: version %d is newer than this reader knows (%s)" % (version, KNOWN_VERSIONS))
        if not isinstance(cfg.get("id"), str) or not HEX64.match(cfg["id"]):
            raise Refused("config: id is not 64 lowercase hex digits")
        chunker = cfg.get("chunker")
        if not isinstance(chunker, dict) or not all(is_int(chunker.get(k)) for k in ("minSize", "avgSize", "maxSize")):
            raise Refused("config: chunker must hold integer minSize, avgSize and maxSize")
        if not 256 <= chunker["minSize"] <= chunker["avgSize"] <= chunker["maxSize"] <= 64 * MIB:
            raise Refused("config: chunker sizes out of bounds (256 <= minSize <= avgSize <= maxSize <= 64 MiB)")
        if not is_int(cfg.get("packSize")) or not 4 * KIB <= cfg["packSize"] <= 128 * MIB:
            raise Refused("config: packSize %r is not an integer from 4 KiB to 128 MiB" % (cfg.get("packSize"),))
        compression = cfg.get("compression")
        if not isinstance(compression, dict) or not is_int(compression.get("level")) or not -7 <= compression["level"] <= 22:
            raise Refused("config: compression.level is not an integer from -7 to 22")
        # The document only ever shows "zstd" (blobs, index and snapshots are zstd frames).
        if compression.get("algorithm") != "zstd":
            raise Refused("config: compression.algorithm %r is not zstd" % (compression.get("algorithm"),))
        if version >= 2:
            if not isinstance(cfg.get("mac"), str) or not HEX64.match(cfg["mac"]):
                raise Refused("config: a version 2 config without a valid mac is invalid")
            if "legacyPacks" in cfg and cfg["legacyPacks"] is not True:
                raise Refused("config: legacyPacks must be true when present")
        return cfg

    def _check_config_mac(self):
        """config (v2): mac = hex(HMAC(HMAC(M, "lifeboat/config-mac-key"), canonical(config without mac)))."""
        if self.version < 2:
            return
        rest = {k: v for k, v in self.config.items() if k != "mac"}
        _check_canonical_values(rest, "config")
        canonical = json.dumps(rest, sort_keys=True, separators=(",", ":")).encode("ascii")
        k_config = hmac.new(self.mac_key, b"lifeboat/config-mac-key", hashlib.sha256).digest()
        want = hmac.new(k_config, canonical, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, self.config["mac"]):
            raise Refused("config: mac does not verify (the config was replaced or altered)")

    # -- keys ----------------------------------------------------------------

    def _open_keys(self, password):
        """keys/<key id>: skip bad key files with a warning, try the rest until one opens."""
        keys_dir = self.path("keys")
        try:
            names = sorted(os.listdir(keys_dir))
        except OSError as err:
            raise Refused("keys/: cannot list (%s)" % err.strerror)
        candidates = []
        for name in names:
            what = "key file keys/%s" % name
            try:
                candidates.append((name, self._parse_key_file(name)))
            except Refused as err:
                self.report_damage("%s skipped: %s" % (what, err))
        for name, key in candidates:
            N, r, p = key["N"], key["r"], key["p"]
            try:
                kek = hashlib.scrypt(password, salt=key["salt"], n=N, r=r, p=p,
                                     maxmem=128 * r * (N + p + 2) + MIB, dklen=32)
            except (ValueError, MemoryError) as err:
                self.report_damage("key file keys/%s skipped: scrypt failed (%s)" % (name, err))
                continue
            aead = AESGCM(kek)
            for ad in (AD_KEY, b""):
                try:
                    inner_raw = aead.decrypt(key["data"][:NONCE_LEN], key["data"][NONCE_LEN:], ad)
                except InvalidTag:
                    continue
                self._use_inner(name, inner_raw, bound=(ad == AD_KEY))
                return
        if not candidates:
            raise Refused("keys/: no usable key file")
        raise Refused("wrong password: none of the %d key file(s) opens with it" % len(candidates))

    def _parse_key_file(self, name):
        if not HEX64.match(name):
            raise Refused("name is not a SHA-256")
        raw = read_object(self.path("keys", name), MAX_CONFIG_BYTES, "keys/" + name)
        if sha256_hex(raw) != name:
            raise Refused("its bytes do not hash to its name")
        doc = parse_json(raw, "keys/" + name)
        if not isinstance(doc, dict):
            raise Refused("not a JSON object")
        if doc.get("kdf") != "scrypt":
            raise Refused("kdf %r is not scrypt" % (doc.get("kdf"),))
        N, r, p = doc.get("N"), doc.get("r"), doc.get("p")
        if not (is_int(N) and is_int(r) and is_int(p)):
            raise Refused("scrypt parameters N, r, p must be integers")
        # keys: N a power of two from 2 to 2^20, 1 <= r <= 32, 1 <= p <= 16,
        # 128*N*r <= 256 MiB, N*r*p <= 2^25.
        if not (2 <= N <= 2**20 and N & (N - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16
                and 128 * N * r <= 256 * MIB and N * r * p <= 2**25):
            raise Refused("scrypt parameters out of bounds (N=%d, r=%d, p=%d)" % (N, r, p))
        salt = b64_bytes(doc.get("salt"), 32, "salt")
        data = b64_bytes(doc.get("data"), None, "data")
        if len(data) < SEAL_OVERHEAD:
            raise Refused("data too short to be sealed")
        return {"N": N, "r": r, "p": p, "salt": salt, "data": data}

    def _use_inner(self, name, inner_raw, bound):
        what = "key file keys/%s" % name
        inner = parse_json(inner_raw, what + " (inner)")
        if not isinstance(inner, dict):
            raise Refused("%s: inner is not a JSON object" % what)
        self.enc_key = b64_bytes(inner.get("encryption"), 32, what + ": encryption")
        self.mac_key = b64_bytes(inner.get("mac"), 32, what + ": mac")
        b64_bytes(inner.get("chunkerSeed"), 32, what + ": chunkerSeed")  # not needed to read
        version = inner.get("version")
        repository = inner.get("repository")
        if bound and (version is None or repository is None):
            # keys (v2): key files sealed with lifeboat/key "also hold version 2, repository".
            raise Refused("%s: sealed as a version 2 key but has no version or repository" % what)
        if version is not None:
            if not is_int(version) or version < 1:
                raise Refused("%s: inner version %r is not a format version" % (what, version))
            if version > self.version:
                raise Refused("%s: key version %d is higher than the config's version %d "
                              "(the config was replaced by an older one)" % (what, version, self.version))
        if repository is not None and repository != self.config["id"]:
            raise Refused("%s: belongs to repository %r, not to this config's id %s" % (what, repository, self.config["id"]))
        self.aead = AESGCM(self.enc_key)

    # -- sealed objects ------------------------------------------------------

    def open_sealed(self, sealed, ad, what):
        if len(sealed) < SEAL_OVERHEAD:
            raise Refused("%s: too short to be sealed" % what)
        try:
            return self.aead.decrypt(bytes(sealed[:NONCE_LEN]), bytes(sealed[NONCE_LEN:]), ad)
        except InvalidTag:
            raise Refused("%s: does not open (damaged, or not sealed as this kind of object)" % what)

    def open_any(self, sealed, ads, what):
        for ad in ads:
            try:
                return self.open_sealed(sealed, ad, what)
            except Refused:
                pass
        raise Refused("%s: does not open (damaged, or not sealed as this kind of object)" % what)

    def kind_ads(self, ad):
        """Associated data to try for an index or snapshot file: v2 only the kind's;
        v1 empty first, then the kind's (Migration: an interrupted migrate)."""
        return (ad,) if self.version >= 2 else (b"", ad)

    def read_metadata_file(self, folder, name, ad):
        """index/ and snapshots/: name = SHA-256 of the stored bytes;
        seal(E, flag(u8) || body, AD), flag 1 = zstd(json), 0 = json."""
        what = "%s/%s" % (folder, name)
        if not HEX64.match(name):
            raise Refused("%s: name is not a SHA-256" % what)
        raw = read_object(self.path(folder, name), MAX_METADATA_STORED, what)
        if sha256_hex(raw) != name:
            raise Refused("%s: its bytes do not hash to its name" % what)
        plain = self.open_any(raw, self.kind_ads(ad), what)
        if len(plain) < 1:
            raise Refused("%s: empty" % what)
        flag, body = plain[0], memoryview(plain)[1:]
        if flag == 1:
            body = bounded_zstd(body, None, MAX_METADATA_JSON, what)
        elif flag == 0:
            body = bytes(body)
        else:
            raise Refused("%s: unknown flag %d" % (what, flag))
        return parse_json(body, what)

    # -- index ---------------------------------------------------------------

    def load_index(self):
        """index/<index id>: the master index is the union of all index files; a
        damaged one is ignored and reported."""
        if self.index_loaded:
            return
        self.index_loaded = True
        for name in self._list_names("index"):
            try:
                doc = self.read_metadata_file("index", name, AD_INDEX)
                packs = self._validate_index(doc, name)
            except Refused as err:
                self.report_damage("index file index/%s ignored: %s" % (name, err))
                continue
            for pack_id, size, legacy, blobs in packs:
                if self.version < 2:
                    # In version 1 every pack opens with empty associated data; an
                    # interrupted migrate leaves old index files (no flag) beside
                    # new ones (legacy: true) for the same packs.
                    legacy = False
                known = self.pack_info.get(pack_id)
                if known is not None and (known["size"] != size or known["legacy"] != legacy):
                    # Not in the document: what a reader does when two authenticated
                    # index files disagree about a pack. Refuse rather than guess.
                    raise Refused("pack %s: index files index/%s and index/%s disagree on its size or legacy flag"
                                  % (pack_id, known["index"], name))
                if known is None:
                    self.pack_info[pack_id] = {"size": size, "legacy": legacy, "index": name}
                for loc_id, loc in blobs:
                    self.locations.setdefault(loc_id, []).append(loc)
                    self.indexed.setdefault(pack_id, []).append((loc_id, loc))

    def _validate_index(self, doc, name):
        what = "index/%s" % name
        if not isinstance(doc, dict) or not isinstance(doc.get("packs"), list):
            raise Refused("%s: no packs list" % what)
        out = []
        for pack in doc["packs"]:
            if not isinstance(pack, dict) or not isinstance(pack.get("id"), str) or not HEX64.match(pack["id"]):
                raise Refused("%s: a pack without a valid id" % what)
            pid = pack["id"]
            size = pack.get("size")
            if not is_int(size) or size < 0:
                raise Refused("%s: pack %s has no valid size" % (what, pid))
            legacy = pack.get("legacy", False)
            if legacy not in (True, False) or ("legacy" in pack and legacy is not True):
                raise Refused("%s: pack %s: legacy must be true when present" % (what, pid))
            if legacy and self.version >= 2 and not self.legacy_allowed:
                # Not spelled out by the document: legacy packs only exist after a
                # migration, which sets legacyPacks in the config (Migration, step 5).
                raise Refused("%s: pack %s is marked legacy but the config has no legacyPacks" % (what, pid))
            if not isinstance(pack.get("blobs"), list):
                raise Refused("%s: pack %s has no blobs list" % (what, pid))
            blobs = []
            for entry in pack["blobs"]:
                # [id, type, offset, length, rawLength, compressed]
                if not (isinstance(entry, list) and len(entry) == 6 and isinstance(entry[0], str)
                        and HEX64.match(entry[0]) and all(is_int(v) for v in entry[1:])):
                    raise Refused("%s: pack %s: malformed blob entry %r" % (what, pid, entry))
                bid, btype, offset, length, raw, compressed = entry
                if btype not in (BLOB_DATA, BLOB_TREE) or compressed not in (0, 1):
                    raise Refused("%s: blob %s: bad type or compressed flag" % (what, bid))
                if not (0 <= offset <= U32_MAX and 0 <= length <= U32_MAX and 0 <= raw <= U32_MAX):
                    raise Refused("%s: blob %s: offset or length not an unsigned 32-bit integer" % (what, bid))
                if offset + length > size:
                    raise Refused("%s: blob %s: offset + length > pack size" % (what, bid))
                blobs.append((bid, Location(pid, btype, offset, length, raw, compressed)))
            out.append((pid, size, legacy is True, blobs))
        return out

    def _list_names(self, folder):
        """Object names in a folder; names that are not ids are skipped (a
        leading dot: a writer's temporary file), others are reported."""
        try:
            names = sorted(os.listdir(self.path(folder)))
        except FileNotFoundError:
            return []
        except OSError as err:
            raise Refused("%s/: cannot list (%s)" % (folder, err.strerror))
        out = []
        for name in names:
            if HEX64.match(name):
                out.append(name)
            elif not name.startswith("."):
                self.report_damage("%s/%s ignored: the name is not a SHA-256" % (folder, name))
        return out

    def _pack_path(self, pack_id):
        # Layout: data/<first 2 hex digits>/<pack id>
        return self.path("data", pack_id[:2], pack_id)

    # -- packs ---------------------------------------------------------------

    def _header_ads(self, legacy):
        """Pack header associated data: empty in v1 and for legacy packs, else lifeboat/pack-header."""
        return b"" if (self.version < 2 or legacy) else AD_PACK_HEADER

    def _parse_header(self, pack_id, size, tail, legacy_options):
        """Packs: pack = blobs || seal(E, header) || u32le(len(sealed header)).
        `tail` ends at the pack's end and holds at least the sealed header and
        its length. Returns (entries by id, legacy)."""
        what = "pack data/%s/%s" % (pack_id[:2], pack_id)
        if size < 4 + SEAL_OVERHEAD:
            raise Refused("%s: %d bytes, too short to be a pack" % (what, size))
        (hlen,) = struct.unpack("<I", bytes(tail[-4:]))
        if hlen < SEAL_OVERHEAD or hlen > size - 4 or hlen > len(tail) - 4:
            raise Refused("%s: header length %d out of bounds" % (what, hlen))
        sealed = tail[len(tail) - 4 - hlen:len(tail) - 4]
        header, legacy = None, None
        for candidate in legacy_options:
            try:
                header = self.open_sealed(sealed, self._header_ads(candidate), what + " header")
                legacy = candidate
                break
            except Refused:
                continue
        if header is None:
            raise Refused("%s: header does not open (damaged, or not sealed as a pack header)" % what)
        if len(header) % ENTRY_LEN:
            raise Refused("%s: header length %d is not a multiple of %d" % (what, len(header), ENTRY_LEN))
        entries, offset = {}, 0
        for pos in range(0, len(header), ENTRY_LEN):
            btype, compressed, raw, length = ENTRY.unpack_from(header, pos)
            bid = header[pos + ENTRY.size:pos + ENTRY_LEN].hex()
            if btype not in (BLOB_DATA, BLOB_TREE) or compressed not in (0, 1):
                raise Refused("%s: header entry for blob %s has a bad type or compressed flag" % (what, bid))
            entries.setdefault(bid, []).append(Location(pack_id, btype, offset, length, raw, compressed))
            offset += length
        # "the lengths plus the sealed header plus 4 must equal the pack size"
        if offset + hlen + 4 != size:
            raise Refused("%s: blob lengths + header + 4 = %d, but the pack is %d bytes"
                          % (what, offset + hlen + 4, size))
        return entries, legacy

    def load_pack(self, pack_id, cache=False):
        """Read a pack whole, check SHA-256(pack) == its id, open its header, and
        check the header against every index entry for this pack."""
        if pack_id in self.bad_packs:
            raise Refused(self.bad_packs[pack_id])
        if pack_id in self.pack_cache:
            self.pack_cache.move_to_end(pack_id)
            return self.pack_cache[pack_id]
        what = "pack data/%s/%s" % (pack_id[:2], pack_id)
        try:
            info = self.pack_info.get(pack_id)
            if info is not None:
                size = info["size"]
                legacy_options = (info["legacy"],)
            else:
                size = os.lstat(self._pack_path(pack_id)).st_size
                legacy_options = self._unindexed_legacy_options()
            data = read_object(self._pack_path(pack_id), size, what)
            if len(data) != size:
                raise Refused("%s: %d bytes, the index says %d" % (what, len(data), size))
            if sha256_hex(data) != pack_id:
                raise Refused("%s: its bytes do not hash to its name (damaged)" % what)
            entries, legacy = self._parse_header(pack_id, size, memoryview(data), legacy_options)
            for bid, loc in self.indexed.get(pack_id, []):
                if loc.key() not in [e.key() for e in entries.get(bid, [])]:
                    raise Refused("%s: its header does not hold blob %s as the index says" % (what, bid))
        except Refused as err:
            self.bad_packs[pack_id] = str(err)
            raise
        except OSError as err:
            self.bad_packs[pack_id] = "%s: cannot read (%s)" % (what, err.strerror)
            raise Refused(self.bad_packs[pack_id])
        pack = Pack(pack_id, data, entries, legacy)
        if cache:
            self.pack_cache[pack_id] = pack
            self.pack_cache_bytes += len(data)
            while self.pack_cache_bytes > 256 * MIB and len(self.pack_cache) > 1:
                _, old = self.pack_cache.popitem(last=False)
                self.pack_cache_bytes -= len(old.data)
        return pack

    def _unindexed_legacy_options(self):
        # Not in the document: how to open the header of a pack no index lists in
        # a migrated repository. Bound first; empty associated data only when the
        # config says the repository has legacy packs.
        if self.version < 2:
            return (False,)
        return (False, True) if self.legacy_allowed else (False,)

    def scan_unindexed(self):
        """index/: "A pack in data/ that no index lists ... its own header describes
        it." Read the headers of such packs (only when a blob is missing)."""
        if self.unindexed_scanned:
            return
        self.unindexed_scanned = True
        try:
            fans = sorted(os.listdir(self.path("data")))
        except OSError as err:
            raise Refused("data/: cannot list (%s)" % err.strerror)
        for fan in fans:
            if not re.match(r"\A[0-9a-f]{2}\Z", fan):
                continue
            try:
                names = sorted(os.listdir(self.path("data", fan)))
            except OSError:
                continue
            for name in names:
                if not HEX64.match(name) or name[:2] != fan or name in self.pack_info:
                    continue
                try:
                    entries = self._read_unindexed_header(name)
                except Refused as err:
                    self.report_damage("unindexed pack ignored: %s" % err)
                    continue
                warn("pack data/%s/%s is not in any index; using its header" % (fan, name))
                for bid, locs in entries.items():
                    self.locations.setdefault(bid, []).extend(locs)

    def _read_unindexed_header(self, pack_id):
        what = "pack data/%s/%s" % (pack_id[:2], pack_id)
        try:
            fd = os.open(self._pack_path(pack_id), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            raise Refused("%s: cannot open (%s)" % (what, err.strerror))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Refused("%s: not a regular file" % what)
            size = st.st_size
            if size < 4 + SEAL_OVERHEAD:
                raise Refused("%s: too short to be a pack" % what)
            (hlen,) = struct.unpack("<I", os.pread(fd, 4, size - 4))
            if hlen < SEAL_OVERHEAD or hlen > size - 4:
                raise Refused("%s: header length %d out of bounds" % (what, hlen))
            tail = os.pread(fd, hlen + 4, size - 4 - hlen)
        finally:
            os.close(fd)
        entries, _legacy = self._parse_header(pack_id, size, memoryview(tail), self._unindexed_legacy_options())
        return entries

    # -- blobs ---------------------------------------------------------------

    def candidates(self, blob_id):
        """Every known copy of a blob (index first, then unindexed pack headers)."""
        self.load_index()
        locs = [loc for loc in self.locations.get(blob_id, []) if loc.pack not in self.bad_packs]
        if not locs and not self.unindexed_scanned:
            self.scan_unindexed()
            locs = [loc for loc in self.locations.get(blob_id, []) if loc.pack not in self.bad_packs]
        return locs

    def blob_from_pack(self, pack, loc, blob_id):
        """Blobs: open (v2: associated data lifeboat/blob/ || id, empty for legacy
        packs), decompress when flagged (bounded), check the length, recompute the HMAC."""
        what = "blob %s (%s, in pack %s at %d)" % (blob_id, TYPE_NAMES[loc.type], pack.id, loc.offset)
        sealed = memoryview(pack.data)[loc.offset:loc.offset + loc.length]
        if len(sealed) != loc.length:
            raise Refused("%s: runs past the end of the pack" % what)
        ad = b"" if (self.version < 2 or pack.legacy) else AD_BLOB_PREFIX + bytes.fromhex(blob_id)
        body = self.open_sealed(sealed, ad, what)
        if loc.compressed:
            plain = bounded_zstd(body, loc.raw, loc.raw, what)
        else:
            plain = body
        if len(plain) != loc.raw:
            raise Refused("%s: %d bytes, rawLength says %d" % (what, len(plain), loc.raw))
        if not hmac.compare_digest(hmac.new(self.mac_key, plain, hashlib.sha256).hexdigest(), blob_id):
            raise Refused("%s: HMAC does not match its id" % what)
        return plain

    def read_blob(self, blob_id, want_type, cache=True):
        """Any verified copy of a blob of the expected type; errors name every copy tried."""
        reasons = []
        while True:
            locs = [loc for loc in self.candidates(blob_id) if loc.type == want_type]
            if not locs:
                break
            loc = locs[0]
            try:
                return self.blob_from_pack(self.load_pack(loc.pack, cache=cache), loc, blob_id)
            except Refused as err:
                reasons.append(str(err))
                self.bad_packs.setdefault(loc.pack, str(err))
        if not reasons:
            raise Refused("%s blob %s: in no index and no pack header" % (TYPE_NAMES[want_type], blob_id))
        raise Refused("%s blob %s: no copy verifies: %s" % (TYPE_NAMES[want_type], blob_id, "; ".join(reasons)))

    # -- snapshots -----------------------------------------------------------

    def load_snapshot(self, snap_id):
        doc = self.read_metadata_file("snapshots", snap_id, AD_SNAPSHOT)
        what = "snapshots/%s" % snap_id
        if not isinstance(doc, dict):
            raise Refused("%s: not a JSON object" % what)
        if not isinstance(doc.get("tree"), str) or not HEX64.match(doc["tree"]):
            raise Refused("%s: tree is not a blob id" % what)
        if not isinstance(doc.get("time"), str):
            raise Refused("%s: no time" % what)
        try:
            doc["_time"] = datetime.fromisoformat(doc["time"].replace("Z", "+00:00"))
            if doc["_time"].tzinfo is None:
                raise ValueError("no time zone")
        except ValueError:
            raise Refused("%s: time %r is not an ISO 8601 time" % (what, doc["time"]))
        doc["_id"] = snap_id
        return doc

    def snapshot_names(self):
        return self._list_names("snapshots")


def _check_canonical_values(value, what):
    """config: canonical() is only defined for ASCII strings, integers, booleans and objects."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_canonical_values(k, what)
            _check_canonical_values(v, what)
    elif isinstance(value, str):
        if not value.isascii():
            raise Refused("%s: holds a non-ASCII string, which the canonical form for the mac does not define" % what)
    elif not (is_int(value) or isinstance(value, bool)):
        raise Refused("%s: holds a %s, which the canonical form for the mac does not define" % (what, type(value).__name__))


# ---------------------------------------------------------------------------
# Trees
# ---------------------------------------------------------------------------


def valid_name(name):
    """Trees: one path component: never empty, `.`, `..`, and never containing `/` or NUL."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\0" not in name


def encode_name(text, what):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("%s: not encodable as UTF-8" % what)


def validate_node(node, tree_id, parent):
    if not isinstance(node, dict):
        raise Refused("tree %s: a node is not a JSON object" % tree_id)
    name = node.get("name")
    if not valid_name(name):
        raise Refused("tree %s (at %s): unsafe or invalid name %r (must be one path component)"
                      % (tree_id, "/".join(parent) or "the root", name))
    where = "tree %s: node %r" % (tree_id, "/".join(parent + (name,)))
    kind = node.get("type")
    if kind not in ("file", "dir", "symlink"):
        raise Refused("%s: unknown type %r" % (where, kind))
    if kind != "symlink" and (not is_int(node.get("mode")) or node["mode"] < 0):
        raise Refused("%s: mode is not a non-negative integer" % where)
    if not is_number(node.get("mtimeMs")) or not -(2**62) < node["mtimeMs"] * 1e6 < 2**62:
        raise Refused("%s: mtimeMs is not a usable time" % where)
    for owner in ("uid", "gid"):
        if owner in node and (not is_int(node[owner]) or not 0 <= node[owner] <= U32_MAX):
            raise Refused("%s: %s is not a valid id" % (where, owner))
    if kind == "file":
        if not is_int(node.get("size")) or node["size"] < 0:
            raise Refused("%s: size is not a non-negative integer" % where)
        content = node.get("content")
        if not isinstance(content, list) or not all(isinstance(c, str) and HEX64.match(c) for c in content):
            raise Refused("%s: content is not a list of blob ids" % where)
    elif kind == "dir":
        if not isinstance(node.get("subtree"), str) or not HEX64.match(node["subtree"]):
            raise Refused("%s: subtree is not a blob id" % where)
    else:
        target = node.get("target")
        if not isinstance(target, str) or target == "" or "\0" in target:
            raise Refused("%s: symlink target is missing, empty or holds NUL" % where)
        encode_name(target, where + " target")
    encode_name(name, where)


def walk_snapshot(repo, root_tree):
    """Trees: read every tree of the snapshot (each a verified tree blob) and
    return (dirs in pre-order, files, symlinks); each item is (path parts, node)."""
    dirs, files, links = [], [], []
    stack = [((), root_tree)]
    while stack:
        parent, tree_id = stack.pop()
        plain = repo.read_blob(tree_id, BLOB_TREE)
        doc = parse_json(plain, "tree %s" % tree_id)
        if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
            raise Refused("tree %s: no nodes list" % tree_id)
        seen = set()
        subdirs = []
        for node in doc["nodes"]:
            validate_node(node, tree_id, parent)
            if node["name"] in seen:
                raise Refused("tree %s: duplicate name %r" % (tree_id, node["name"]))
            seen.add(node["name"])
            parts = parent + (node["name"],)
            if node["type"] == "dir":
                dirs.append((parts, node))
                subdirs.append((parts, node["subtree"]))
            elif node["type"] == "file":
                files.append((parts, node))
            else:
                links.append((parts, node))
        stack.extend(reversed(subdirs))
    # Pre-order by path, so a parent is always created before its children.
    dirs.sort(key=lambda item: item[0])
    return dirs, files, links


# ---------------------------------------------------------------------------
# Restoring into a target without ever following a symlink
# ---------------------------------------------------------------------------


class Target:
    """The restore target, opened once with O_NOFOLLOW; everything below it is
    reached through directory descriptors opened with O_NOFOLLOW, one component
    at a time, so no path is ever resolved through a symlink."""

    DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

    def __init__(self, path):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as err:
            raise Refused("target %s: cannot create (%s)" % (path, err.strerror))
        try:
            self.root = os.open(path, self.DIR_FLAGS)
        except OSError as err:
            raise Refused("target %s: not a directory we can open without following a symlink (%s)" % (path, err.strerror))
        if os.listdir(self.root):
            os.close(self.root)
            raise Refused("target %s: not empty (extract.py restores only into a new or empty folder)" % path)
        self.path = path
        self.fds = OrderedDict()  # path parts -> open directory descriptor

    def dir_fd(self, parts):
        if not parts:
            return self.root
        fd = self.fds.get(parts)
        if fd is not None:
            self.fds.move_to_end(parts)
            return fd
        parent = self.dir_fd(parts[:-1])
        fd = os.open(encode_name(parts[-1], "/".join(parts)), self.DIR_FLAGS, dir_fd=parent)
        self.fds[parts] = fd
        while len(self.fds) > 64:
            _, old = self.fds.popitem(last=False)
            os.close(old)
        return fd

    def open_file(self, parts, flags, mode=0o600):
        fd = os.open(encode_name(parts[-1], "/".join(parts)), flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                     dir_fd=self.dir_fd(parts[:-1]))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise Refused("target: %s is not a regular file" % "/".join(parts))
        return fd

    def close(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        os.close(self.root)


def mtime_ns(node):
    return int(round(node["mtimeMs"] * 1_000_000))


def restore(repo, snapshot, target_path):
    """Restore the snapshot's root tree into the target: one entry per source."""
    dirs, files, links = walk_snapshot(repo, snapshot["tree"])
    as_root = os.geteuid() == 0

    # Plan: every data blob -> where it goes (file number, offset). Offsets come
    # from the authenticated rawLength of the blob's index/header entry.
    wanted = OrderedDict()
    total = 0
    for number, (parts, node) in enumerate(files):
        offset = 0
        for blob_id in node["content"]:
            locs = [loc for loc in repo.candidates(blob_id) if loc.type == BLOB_DATA]
            if not locs:
                raise Refused("file %s: data blob %s is in no index and no pack header" % ("/".join(parts), blob_id))
            if len({loc.raw for loc in locs}) != 1:
                raise Refused("data blob %s: its copies disagree on rawLength" % blob_id)
            wanted.setdefault(blob_id, []).append((number, offset))
            offset += locs[0].raw
        total += offset
        if offset != node["size"]:
            # Not covered by the document (see the report): the content is
            # authenticated, so restore it and say so.
            warn("file %s: its content is %d bytes but its tree node says size %d" % ("/".join(parts), offset, node["size"]))

    target = Target(target_path)
    try:
        # Directories first (private while we fill them), then empty files: O_EXCL, O_NOFOLLOW.
        for parts, _node in dirs:
            os.mkdir(encode_name(parts[-1], "/".join(parts)), 0o700, dir_fd=target.dir_fd(parts[:-1]))
        for parts, _node in files:
            os.close(target.open_file(parts, os.O_WRONLY | os.O_CREAT | os.O_EXCL))

        # Content, pack by pack: each pack is read whole and verified once.
        pending = wanted
        while pending:
            by_pack = OrderedDict()
            for blob_id in pending:
                locs = [loc for loc in repo.candidates(blob_id) if loc.type == BLOB_DATA]
                if not locs:
                    raise Refused("data blob %s: no copy left that verifies (%s)" % (
                        blob_id, "; ".join(sorted({repo.bad_packs[l.pack] for l in repo.locations.get(blob_id, [])
                                                   if l.pack in repo.bad_packs})) or "none found"))
                by_pack.setdefault(locs[0].pack, []).append((blob_id, locs[0]))
            retry = OrderedDict()
            for pack_id in sorted(by_pack):
                try:
                    pack = repo.load_pack(pack_id)
                except Refused:
                    for blob_id, _loc in by_pack[pack_id]:
                        retry[blob_id] = pending[blob_id]
                    continue
                for blob_id, loc in by_pack[pack_id]:
                    try:
                        plain = repo.blob_from_pack(pack, loc, blob_id)
                    except Refused as err:
                        repo.bad_packs[pack_id] = str(err)
                        retry[blob_id] = pending[blob_id]
                        continue
                    for number, offset in pending[blob_id]:
                        fd = target.open_file(files[number][0], os.O_WRONLY)
                        try:
                            view = memoryview(plain)
                            written = 0
                            while written < len(view):
                                written += os.pwrite(fd, view[written:], offset + written)
                        finally:
                            os.close(fd)
                del pack
            pending = retry

        # Metadata. Owner first (chown clears set-id bits), then mode, then times.
        for parts, node in files:
            fd = target.open_file(parts, os.O_RDONLY)
            try:
                if as_root and "uid" in node and "gid" in node:
                    os.fchown(fd, node["uid"], node["gid"])
                os.fchmod(fd, node["mode"] & 0o7777)
                os.utime(fd, ns=(mtime_ns(node), mtime_ns(node)))
            finally:
                os.close(fd)
        # Symlinks last (Trees: "Lifeboat creates them last"), target verbatim.
        for parts, node in links:
            name = encode_name(parts[-1], "/".join(parts))
            parent = target.dir_fd(parts[:-1])
            os.symlink(encode_name(node["target"], "/".join(parts)), name, dir_fd=parent)
            if as_root and "uid" in node and "gid" in node:
                os.chown(name, node["uid"], node["gid"], dir_fd=parent, follow_symlinks=False)
            os.utime(name, ns=(mtime_ns(node), mtime_ns(node)), dir_fd=parent, follow_symlinks=False)
        # Directories after their contents, deepest first.
        for parts, node in reversed(dirs):
            fd = target.dir_fd(parts)
            if as_root and "uid" in node and "gid" in node:
                os.fchown(fd, node["uid"], node["gid"])
            os.fchmod(fd, node["mode"] & 0o7777)
            os.utime(fd, ns=(mtime_ns(node), mtime_ns(node)))
    except OSError as err:
        raise Refused("target %s: %s%s; the restore stopped, the target is incomplete"
                      % (target_path, err.strerror, (" (%s)" % err.filename) if err.filename else ""))
    except Refused as err:
        raise Refused("%s; the restore stopped, %s is incomplete" % (err, target_path))
    finally:
        target.close()
    return len(files), len(dirs), len(links), total


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def read_password(args):
    if args.password_file:
        try:
            with open(args.password_file, "rb") as handle:
                raw = handle.read(64 * KIB + 1)
        except OSError as err:
            raise Refused("password file %s: %s" % (args.password_file, err.strerror))
        if len(raw) > 64 * KIB:
            raise Refused("password file %s: too long" % args.password_file)
        # One trailing newline is not part of the password (not in the document).
        if raw.endswith(b"\r\n"):
            raw = raw[:-2]
        elif raw.endswith(b"\n"):
            raw = raw[:-1]
        return raw
    password = os.environ.get("LIFEBOAT_PASSWORD")
    if password is None:
        raise Refused("no password: set LIFEBOAT_PASSWORD or pass --password-file")
    return password.encode("utf-8")


def choose_snapshot(repo, wanted):
    names = repo.snapshot_names()
    if wanted == "latest":
        snaps = []
        for name in names:
            try:
                snaps.append(repo.load_snapshot(name))
            except Refused as err:
                raise Refused("%s; cannot tell which snapshot is the latest, name one with --snapshot" % err)
        if not snaps:
            raise Refused("snapshots/: no snapshot in the repository")
        return max(snaps, key=lambda s: (s["_time"], s["_id"]))
    if not re.match(r"\A[0-9a-f]{1,64}\Z", wanted):
        raise Refused("--snapshot %r: not latest and not a lowercase hex id or prefix" % wanted)
    matches = [name for name in names if name.startswith(wanted)]
    if not matches:
        raise Refused("snapshot %s: not found in snapshots/" % wanted)
    if len(matches) > 1:
        raise Refused("snapshot prefix %s is ambiguous: %s" % (wanted, ", ".join(m[:12] for m in matches)))
    return repo.load_snapshot(matches[0])


def warn_about_locks(repo):
    """locks/: a reader takes no lock, but says so when prune (exclusive) may be running."""
    try:
        names = sorted(os.listdir(repo.path("locks")))
    except OSError:
        return
    for name in names:
        if name.startswith("."):
            continue
        try:
            lock = parse_json(read_object(repo.path("locks", name), MAX_CONFIG_BYTES, "locks/" + name), "locks/" + name)
        except Refused:
            continue
        if isinstance(lock, dict) and lock.get("exclusive") is True:
            warn("locks/%s: an exclusive lock is held (host %r, pid %r): a prune may be deleting packs"
                 % (name, lock.get("host"), lock.get("pid")))


def main(argv):
    parser = argparse.ArgumentParser(
        prog="extract.py",
        description="Restore a snapshot from a local Lifeboat repository without Lifeboat "
                    "(password from LIFEBOAT_PASSWORD or --password-file).")
    parser.add_argument("--repo", required=True, help="the repository folder (holds config, keys/, data/ ...)")
    parser.add_argument("--snapshot", default="latest", help="snapshot id, unique prefix, or latest (default)")
    parser.add_argument("--target", help="folder to restore into: new or empty")
    parser.add_argument("--password-file", help="read the password from this file (one trailing newline dropped)")
    parser.add_argument("--list", action="store_true", help="list the snapshots (id, time, runbook) and exit")
    args = parser.parse_args(argv)
    if not args.list and not args.target:
        parser.error("--target is required unless --list is given")

    try:
        repo = Repository(args.repo, read_password(args))
        warn_about_locks(repo)
        if args.list:
            failed = []
            snaps = []
            for name in repo.snapshot_names():
                try:
                    snaps.append(repo.load_snapshot(name))
                except Refused as err:
                    failed.append(str(err))
                    sys.stderr.write("extract.py: %s\n" % err)
            for snap in sorted(snaps, key=lambda s: (s["_time"], s["_id"])):
                runbook = snap.get("runbook") if isinstance(snap.get("runbook"), str) else "-"
                print("%s  %s  %s" % (snap["_id"], snap["time"], runbook))
            if failed:
                sys.stderr.write("extract.py: %d snapshot file(s) are damaged (above)\n" % len(failed))
                return 1
        else:
            snap = choose_snapshot(repo, args.snapshot)
            nfiles, ndirs, nlinks, nbytes = restore(repo, snap, args.target)
            print("restored snapshot %s (%s, runbook %s) into %s: %d files, %d folders, %d symlinks, %d bytes"
                  % (snap["_id"], snap["time"], snap.get("runbook"), args.target, nfiles, ndirs, nlinks, nbytes))
    except Refused as err:
        sys.stderr.write("extract.py: refused: %s\n" % err)
        return 1
    if repo.damaged:
        sys.stderr.write("extract.py: done and verified, but %d damaged object(s) were ignored (above)\n" % len(repo.damaged))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
