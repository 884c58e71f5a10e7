"""Identifier arithmetic: USCC (GB 32100), organisation code (GB 11714), legacy registration number (ISO 7064).

Codes are built as numpy arrays of ASCII bytes (one row per code) so that a million check digits cost a few
vectorised operations instead of a Python loop. Scalar helpers exist for the handful of bureau codes and for tests.
See /work/shared/domain.md §1 for the rules.
"""
from __future__ import annotations

import numpy as np

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 chars: no I, O, S, V, Z
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)

_ALPHABET_BYTES = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
# byte -> value in the 31-char set (255 = not allowed)
_USCC_VALUE = np.full(256, 255, dtype=np.int64)
_USCC_VALUE[_ALPHABET_BYTES] = np.arange(31)
# byte -> GB 11714 value: digits 0-9, letters A=10 ... Z=35
_ORG_VALUE = np.full(256, 255, dtype=np.int64)
_ORG_VALUE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_ORG_VALUE[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(10, 36)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


# ---------------------------------------------------------------- vectorised
def org_check_bytes(body: np.ndarray) -> np.ndarray:
    """GB 11714 check char for an (n, 8) uint8 array of body chars: 11 - (sum mod 11); 10 -> X, 11 -> 0."""
    total = (_ORG_VALUE[body] * ORG_WEIGHTS).sum(axis=1)
    c = 11 - total % 11
    out = np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), ord("0") + c))
    return out.astype(np.uint8)


def uscc_check_bytes(first17: np.ndarray) -> np.ndarray:
    """GB 32100 check char for an (n, 17) uint8 array: 31 - (sum mod 31), 31 -> 0, mapped back into the alphabet."""
    total = (_USCC_VALUE[first17] * USCC_WEIGHTS).sum(axis=1)
    return _ALPHABET_BYTES[(31 - total % 31) % 31]


def build_uscc(prefix: np.ndarray, division: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Assemble (n, 18) USCC bytes from prefix (n, 2), division (n, 6) and org-code body (n, 8)."""
    n = len(body)
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, 0:2] = prefix
    out[:, 2:8] = division
    out[:, 8:16] = body
    out[:, 16] = org_check_bytes(body)
    out[:, 17] = uscc_check_bytes(out[:, :17])
    return out


def random_chars(rng: np.random.Generator, n: int, k: int, alphabet: bytes) -> np.ndarray:
    """(n, k) uint8 array of characters drawn uniformly from alphabet."""
    pool = np.frombuffer(alphabet, dtype=np.uint8)
    return pool[rng.integers(0, len(pool), size=(n, k))]


def mod_11_10_check_bytes(digits: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11,10 check digit for an (n, k) uint8 array of ASCII digits (same recurrence as python-stdnum)."""
    check = np.full(len(digits), 5, dtype=np.int64)
    for j in range(digits.shape[1]):
        d = digits[:, j].astype(np.int64) - ord("0")
        check = ((np.where(check == 0, 10, check) * 2) % 11 + d) % 10
    c = (1 - (np.where(check == 0, 10, check) * 2) % 11) % 10
    return (_DIGITS[c]).astype(np.uint8)


def rows_to_str(arr: np.ndarray) -> np.ndarray:
    """(n, k) uint8 ASCII array -> numpy array of Python str (via a fixed-width bytes view, no Python loop)."""
    arr = np.ascontiguousarray(arr)
    return arr.view(f"S{arr.shape[1]}").ravel().astype(f"U{arr.shape[1]}")


def str_to_rows(codes, width: int) -> np.ndarray:
    """Inverse of rows_to_str for ASCII strings of a fixed width."""
    return np.frombuffer("".join(codes).encode("ascii"), dtype=np.uint8).reshape(-1, width)


# ---------------------------------------------------------------- scalar
def org_check_char(body8: str) -> str:
    return chr(org_check_bytes(str_to_rows([body8], 8))[0])


def uscc_check_char(first17: str) -> str:
    return chr(uscc_check_bytes(str_to_rows([first17], 17))[0])


def make_uscc(prefix: str, division: str, body8: str) -> str:
    first17 = prefix + division + body8 + org_check_char(body8)
    return first17 + uscc_check_char(first17)


def uscc_is_valid(code: str) -> bool:
    """Full check: structure, GB 32100 check char and the embedded GB 11714 org-code check char."""
    if len(code) != 18 or not code[:8].isdigit() or any(c not in USCC_ALPHABET for c in code[8:]):
        return False
    return code[16] == org_check_char(code[8:16]) and code[17] == uscc_check_char(code[:17])


def corrupt_check_char(code: str, pick: int) -> str:
    """Replace the last char by another char of the alphabet (pick selects which of the 30 others)."""
    others = [c for c in USCC_ALPHABET if c != code[-1]]
    return code[:-1] + others[pick % len(others)]


# ---------------------------------------------------------------- text forms
_FULLWIDTH = {i: i + 0xFEE0 for i in range(0x21, 0x7F)}
_FULLWIDTH[0x20] = 0x3000


def to_fullwidth(s: str) -> str:
    """ASCII -> full-width forms (U+FF01..U+FF5E, space -> U+3000): what a Chinese IME in full-width mode types."""
    return s.translate(_FULLWIDTH)
