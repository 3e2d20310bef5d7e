"""Per-image random streams: every random draw an attack makes for an image comes from (seed, the
image's global index, the draw's name) alone, so an image's result does not depend on the batch size,
the order of the batches or how the images are sharded over processes.

    s = ImageStreams(seed=3, index=torch.arange(100, 132))   # images 100..131 of the set
    start = s.uniform("start", 3, 32, 32)                     # (32, 3, 32, 32), one row per image
    s.subset(rows).normal(("noise", t), 3, 32, 32)            # the same numbers those images get in any batch

The numbers are SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
OOPSLA 2014; the generator that seeds xoshiro and Java's ``SplittableRandom``), run as a counter-based
generator: image i's stream for a draw is SplitMix64 seeded with a key mixed from the seed, the draw's
name and i, and its j-th number is the stream's j-th output. Every number is one integer hash of
(key, j), computed for the whole batch at once with torch's int64 arithmetic on the images' device:
no per-image generator objects and no Python loop over images. PyTorch's generators keep one state per
generator, so a batch of independent streams would need one ``torch.Generator`` per image; this is the
vectorised equivalent (``tests/test_rng.py`` checks it against a pure-Python SplitMix64 and its
published test vector, and its uniformity with a Kolmogorov-Smirnov test).

The draws are then the same in any batch; the arithmetic around them may not be: a batched
convolution, or kornia's differentiable JPEG, rounds differently (about 1e-7) for other batch sizes,
and an attack's ``sign()``, or Adam's first steps, can amplify that into whole steps on a pixel. A run that must match another to the bit keeps the same
batches (the sharded attack stage shards whole batches for that reason).
"""
from __future__ import annotations

import hashlib
import math

import torch

__all__ = ["ImageStreams", "image_streams", "splitmix64", "draw_key", "check_seed"]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB


def _signed(v: int) -> int:
    """A 64-bit unsigned value as the int64 with the same bits."""
    v &= _MASK
    return v - (1 << 64) if v >= 1 << 63 else v


def _mix_int(z: int) -> int:
    """SplitMix64's output function on a Python int (the reference)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * _C1) & _MASK
    z = ((z ^ (z >> 27)) * _C2) & _MASK
    return z ^ (z >> 31)


def splitmix64(seed: int, count: int) -> list[int]:
    """The first ``count`` outputs of SplitMix64 seeded with ``seed`` (pure Python, unsigned 64-bit
    ints): the reference the vectorised streams are tested against."""
    out, state = [], seed & _MASK
    for _ in range(int(count)):
        state = (state + _GOLDEN) & _MASK
        out.append(_mix_int(state))
    return out


def _shr(z: torch.Tensor, s: int) -> torch.Tensor:
    """Logical right shift of int64 bits (torch's ``>>`` on int64 is arithmetic)."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def _mix(z: torch.Tensor) -> torch.Tensor:
    """SplitMix64's output function on int64 tensors (multiplication wraps modulo 2**64)."""
    z = (z ^ _shr(z, 30)) * _signed(_C1)
    z = (z ^ _shr(z, 27)) * _signed(_C2)
    return z ^ _shr(z, 31)


def draw_key(draw) -> int:
    """A 64-bit key for a draw's name: a string, an int, or a tuple of them (e.g. ``("noise", t)``),
    hashed with BLAKE2b so that it is the same in every process (Python's ``hash`` is not)."""
    if isinstance(draw, tuple):
        parts = draw
    else:
        parts = (draw,)
    if not parts or not all(isinstance(p, (str, int)) and not isinstance(p, bool) for p in parts):
        raise TypeError(f"a draw's name is a string, an int or a tuple of them, got {draw!r}.")
    digest = hashlib.blake2b(repr(tuple(parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def check_seed(seed) -> int:
    """The seed of an attack's random draws: a whole number (a ``torch.Generator`` is refused: its state
    is shared by the batch, so a draw would depend on which images share it)."""
    if isinstance(seed, torch.Generator):
        raise TypeError("attacks draw from per-image streams: pass seed=<int> (and index=, the images' "
                        "positions in the whole set, when attacking a batch or a shard of it), not a "
                        "torch.Generator.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        try:
            import numpy as np
            if isinstance(seed, np.integer):
                return int(seed)
        except ImportError:  # pragma: no cover
            pass
        raise TypeError(f"seed must be a whole number, got {seed!r}.")
    return int(seed)


class ImageStreams:
    """The random streams of ``n`` images: row i of every draw comes from (``seed``, ``index[i]``, the
    draw's name) alone.

    ``index``: each image's position in the whole set (a 1-D integer tensor, default ``0 .. n - 1``:
    the batch is the set). ``device``: where the numbers are computed and returned (default: the
    index's device). Each draw method takes the draw's name first (a string, an int or a tuple, e.g.
    ``("transform", t)`` for iteration t): two draws with the same name give the same numbers, so give
    each purpose its own name."""

    def __init__(self, seed: int, n: int | None = None, index: torch.Tensor | None = None, device=None):
        self.seed = check_seed(seed)
        if index is None:
            if n is None:
                raise ValueError("ImageStreams needs n (the number of images) or index (their positions).")
            index = torch.arange(int(n))
        index = torch.as_tensor(index)
        if index.dim() != 1 or index.dtype.is_floating_point or index.dtype == torch.bool:
            raise ValueError(f"index must be a 1-D tensor of whole numbers (each image's position in the whole "
                             f"set), got dtype {index.dtype} and shape {tuple(index.shape)}.")
        if n is not None and len(index) != int(n):
            raise ValueError(f"index has {len(index)} entries for {int(n)} images; give one position per image.")
        if len(index) and int(index.min()) < 0:
            raise ValueError("index holds positions in the set: they cannot be negative.")
        self.device = torch.device(device) if device is not None else index.device
        self.index = index.to(self.device, torch.long)

    def __len__(self) -> int:
        return len(self.index)

    def subset(self, rows) -> "ImageStreams":
        """The streams of some of the images (``rows``: a bool mask or positions in this batch)."""
        return ImageStreams(self.seed, index=self.index[torch.as_tensor(rows, device=self.device)], device=self.device)

    def bits(self, draw, *shape) -> torch.Tensor:
        """``(n, *shape)`` int64 tensors of 64 random bits each: the first prod(shape) outputs of each
        image's SplitMix64 stream for ``draw``."""
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"a draw's shape cannot have negative sizes, got {shape}.")
        base = _mix_int((self.seed * _GOLDEN) ^ draw_key(draw))            # (seed, draw) -> 64 bits
        key = _mix(self.index * _signed(_GOLDEN) + _signed(base))             # one key per image
        count = math.prod(shape)
        j = torch.arange(1, count + 1, device=self.device, dtype=torch.long)
        return _mix(key[:, None] + j[None, :] * _signed(_GOLDEN)).view(len(self), *shape)

    def uniform(self, draw, *shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Uniform numbers in [0, 1): 24 random bits for float32 and float16, 53 for float64."""
        if not dtype.is_floating_point:
            raise ValueError(f"uniform draws are floating point, got dtype {dtype}.")
        b = self.bits(draw, *shape)
        if dtype == torch.float64:
            return _shr(b, 11).to(torch.float64) * 2.0 ** -53
        return (_shr(b, 40).to(torch.float32) * 2.0 ** -24).to(dtype)

    def normal(self, draw, *shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Standard normal numbers (Box-Muller on two uniforms per number, in float64)."""
        u = self.uniform(draw, 2, *shape, dtype=torch.float64)
        r = torch.sqrt(-2.0 * torch.log1p(-u[:, 0]))     # 1 - u in (0, 1]
        return (r * torch.cos(2.0 * math.pi * u[:, 1])).to(dtype)

    def integers(self, draw, low, high, *shape) -> torch.Tensor:
        """Whole numbers uniform in [low, high) (``low`` and ``high`` numbers, or tensors that broadcast
        against ``(n, *shape)``, e.g. one bound per image)."""
        low = torch.as_tensor(low, device=self.device, dtype=torch.long)
        high = torch.as_tensor(high, device=self.device, dtype=torch.long)
        if (high <= low).any():
            raise ValueError("integers(low, high) needs high > low.")
        u = self.uniform(draw, *shape, dtype=torch.float64)
        span = (high - low).to(torch.float64)
        return low + torch.minimum((u * span).floor().long(), (high - low) - 1)

    def choice(self, draw, mask: torch.Tensor) -> torch.Tensor:
        """One column per row of an (n, D) bool ``mask``, uniformly among its True entries."""
        mask = torch.as_tensor(mask, device=self.device).bool()
        if mask.dim() != 2 or mask.shape[0] != len(self):
            raise ValueError(f"choice takes an (n, D) mask with n = {len(self)} rows, got shape {tuple(mask.shape)}.")
        count = mask.sum(1)
        if (count == 0).any():
            raise ValueError("every row of the candidate mask needs at least one class to draw from.")
        k = torch.minimum((self.uniform(draw, dtype=torch.float64) * count).floor().long(), count - 1)
        return ((mask.long().cumsum(1) == (k + 1)[:, None]) & mask).long().argmax(1)

    def permutations(self, draw, m: int) -> torch.Tensor:
        """(n, m): a uniformly random permutation of 0 .. m - 1 per image."""
        return self.uniform(draw, int(m), dtype=torch.float64).argsort(1)


def image_streams(x: torch.Tensor, seed, index=None) -> ImageStreams:
    """The streams of a batch ``x`` of images: ``index`` gives their positions in the whole set
    (default ``0 .. len(x) - 1``: the batch is the set)."""
    return ImageStreams(seed, len(x), index, device=x.device)
