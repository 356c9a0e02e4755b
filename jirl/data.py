"""Demonstrations: collect in a batched env, save to `.npz`, load and validate.

File format (version 1): one `.npz` written with `np.savez` and read with
`np.load(..., allow_pickle=False)`, so no file can run code. Fields:

| field | dtype | shape |
| --- | --- | --- |
| `header` | uint8 | [bytes] UTF-8 JSON (see `DemoHeader`) |
| `obs`, `next_obs` | float32 | [N, *obs_shape] |
| `actions` | int32 / float32 | [N] / [N, dim] (as executed, i.e. clipped to the bounds) |
| `rewards` | float32 | [N] |
| `terminated`, `truncated` | bool | [N] |
| `episode_lengths` | int32 | [E], positive, summing to N |
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jirl.devices import host_memory
from jirl.envs.base import Env, Spec, batch_reset
from jirl.errors import MAX_INT, DataError, check_count, dtype_kind, is_int, short
from jirl.files import atomic_write, strict_json
from jirl.types import Array, Trajectories

FORMAT_VERSION = 1
FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "truncated", "episode_lengths")


@dataclass(frozen=True)
class DemoHeader:
    """Metadata stored beside the arrays of a demonstration file."""

    env: str
    obs_shape: tuple[int, ...]
    action: dict
    num_episodes: int
    num_transitions: int
    expert_return: float
    random_return: float | None = None
    env_options: dict | None = None  # `Env.options` (e.g. Brax's backend); absent in old files
    horizon: int | None = None  # the env's time limit when recorded; absent in old files
    # episodes ran to the horizon past a fall (`Env.fixed_horizon`); absent in old files
    fixed_horizon: bool | None = None
    format_version: int = FORMAT_VERSION


class Demos(NamedTuple):
    """Loaded demonstrations: arrays plus their header."""

    trajectories: Trajectories
    header: DemoHeader


def collect(
    env: Env, act_fn: Callable[[Array, Array], Array], key: Array, num_episodes: int
) -> Trajectories:
    """Roll out `num_episodes` whole episodes of `act_fn(obs, key) -> action` (unbatched).

    The episodes run side by side in one jitted scan of `env.horizon` steps; steps after an
    episode's end are dropped on the host, so the result holds exactly the episodes' steps.
    ConfigError for a `num_episodes` that is no int >= 1.
    """
    num_episodes = check_count("num_episodes", num_episodes)

    @jax.jit
    def run(key):
        key_reset, key_act = jax.random.split(key)
        state = batch_reset(env, key_reset, num_episodes)

        def step(carry, key_t):
            state, running = carry
            action = jax.vmap(act_fn)(state.obs, jax.random.split(key_t, num_episodes))
            action = env.spec.executed(action)  # recorded as executed (`Env.step` clips too)
            nxt = jax.vmap(env.step)(state, action)
            record = (state.obs, action, nxt.reward, nxt.obs, nxt.terminated, nxt.truncated)
            return (nxt, running & ~nxt.done), (record, running)

        init = (state, jnp.ones(num_episodes, bool))
        _, (records, valid) = jax.lax.scan(step, init, jax.random.split(key_act, env.horizon))
        return records, valid

    records, valid = jax.device_get(run(key))
    valid = np.asarray(valid).T  # [E, H]
    flat = [np.swapaxes(np.asarray(r), 0, 1)[valid] for r in records]  # episode-major order
    obs, actions, rewards, next_obs, terminated, truncated = flat
    return Trajectories(
        obs=obs.astype(np.float32),
        actions=actions.astype(np.int32 if env.spec.discrete else np.float32),
        rewards=rewards.astype(np.float32),
        next_obs=next_obs.astype(np.float32),
        terminated=terminated.astype(bool),
        truncated=truncated.astype(bool),
        episode_lengths=valid.sum(1).astype(np.int32),
    )


def episode_returns(trajectories: Trajectories) -> np.ndarray:
    """Undiscounted return of each stored episode, `[E]`."""
    ends = np.cumsum(np.asarray(trajectories.episode_lengths))
    sums = np.concatenate([[0.0], np.cumsum(np.asarray(trajectories.rewards, np.float64))])
    return sums[ends] - sums[ends - np.asarray(trajectories.episode_lengths)]


def check_trajectories(demos: Any) -> None:
    """Raise DataError unless `demos` is `Trajectories` (a `Demos`, a path or None is not)."""
    if not isinstance(demos, Trajectories):
        hint = " (pass its .trajectories)" if hasattr(demos, "trajectories") else ""
        raise DataError(
            f"demos must be jirl Trajectories, e.g. data.load(path, env=env).trajectories; "
            f"got {type(demos).__name__}{hint}"
        )
    for field in dataclasses.fields(demos):
        value = getattr(demos, field.name)
        if not (hasattr(value, "shape") and hasattr(value, "dtype")):
            raise DataError(
                f"demos.{field.name} must be an array (NumPy or JAX), got "
                f"{type(value).__name__}: build the Trajectories from np.asarray(...)"
            )
        try:
            np.asarray(value)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            raise DataError(
                "demos are traced (jit or vmap over demonstrations): a learner checks them and "
                "fits its statistics once, when it is made, so they must be concrete arrays; "
                "make one learner per set of demos, and vmap over seeds"
            ) from None


def check_fits(demos: Any, spec: Spec, env_name: str = "the environment") -> None:
    """Raise DataError unless `demos` is `Trajectories` whose observations and actions are of
    `spec`'s spaces: what every learner's `make` checks of the demonstrations a Python caller
    passes (`load(path, env=...)` checks a file's header against the env besides; a loaded
    `Demos` is not itself the trajectories: its `.trajectories` is)."""
    check_trajectories(demos)
    check_spaces(demos, spec, env_name)
    _check_arrays(demos, spec)


def check_spaces(demos: Trajectories, spec: Spec, env_name: str) -> None:
    """DataError unless the observations and actions of `demos` are of `spec`'s spaces."""
    obs_shape = tuple(np.shape(demos.obs)[1:])
    if obs_shape != tuple(spec.obs_shape):
        raise DataError(
            f"demos have observations of shape {obs_shape}, {env_name}'s are "
            f"{tuple(spec.obs_shape)}: demonstrations of another environment?"
        )
    actions = np.asarray(demos.actions) if not hasattr(demos.actions, "dtype") else demos.actions
    kind = dtype_kind(actions)
    if spec.discrete and (actions.ndim != 1 or kind not in ("i", "u")):
        raise DataError(
            f"{env_name} has {spec.num_actions} discrete actions, but the demos' actions are "
            f"{actions.dtype} of shape {actions.shape[1:]} per step (continuous ones?)"
        )
    if not spec.discrete and (tuple(actions.shape[1:]) != spec.action_shape or kind != "f"):
        raise DataError(
            f"{env_name} takes continuous actions of shape {spec.action_shape}, but the demos' "
            f"are {actions.dtype} of shape {tuple(actions.shape[1:])} per step"
        )


def _check_arrays(demos: Trajectories, spec: Spec) -> None:
    """The checks `load` makes of a file's arrays (`_validate`: one row per step in every
    field, whole episodes, finite values, actions in range) on trajectories built in Python,
    against a header made from `spec`: rows paired wrongly, an action out of range or a NaN
    would otherwise train silently (JAX clamps an out-of-range gather) or to NaN."""

    def fail(msg: str):
        raise DataError(f"demos: {msg}")

    t = jax.tree.map(np.asarray, demos)  # host copies
    lengths, n = t.episode_lengths, int(np.shape(t.obs)[0])
    whole = lengths.ndim == 1 and lengths.dtype.kind in "iu" and (lengths >= 1).all()
    if whole and lengths.size and sum(lengths.tolist()) != n:
        fail(
            f"field 'episode_lengths' sums to {sum(lengths.tolist()):,} steps, but 'obs' holds "
            f"{n:,}: pass whole episodes (data.take_episodes cuts them so)"
        )
    header = DemoHeader(
        env="",
        obs_shape=tuple(spec.obs_shape),
        action=spec.to_dict()["action"],
        num_episodes=int(lengths.shape[0]) if lengths.ndim == 1 else 0,
        num_transitions=n,
        expert_return=0.0,
    )
    _validate(t, header, fail)


def take_episodes(trajectories: Trajectories, count: int) -> Trajectories:
    """The first `count` episodes."""
    check_trajectories(trajectories)
    if not is_int(count) or not 1 <= count <= trajectories.num_episodes:
        raise DataError(
            f"asked for {count} demonstration episodes, the file holds "
            f"{trajectories.num_episodes}; record more with `jirl expert --episodes N`"
        )
    lengths = np.asarray(trajectories.episode_lengths)[:count]
    n = int(lengths.sum())
    rows = lambda x: np.asarray(x)[:n]
    return Trajectories(
        *(rows(getattr(trajectories, f)) for f in FIELDS[:-1]), episode_lengths=lengths
    )


def save(
    path: str | os.PathLike,
    trajectories: Trajectories,
    env: Env,
    *,
    expert_return: float | None = None,
    random_return: float | None = None,
) -> Path:
    """Write demonstrations atomically (`jirl.files.atomic_write`); `trajectories` must hold
    at least one episode (DataError otherwise, as for anything `load` would refuse)."""
    check_trajectories(trajectories)
    if trajectories.num_episodes < 1:  # (its mean return was NaN, blamed on the header)
        raise DataError(f"{path}: not written: the demonstrations hold no episode")
    path = Path(path)
    try:  # (the header is made from `env`: other spaces were blamed on a field it sets)
        check_spaces(trajectories, env.spec, env.name)
    except DataError as e:
        raise DataError(f"{path}: not written: {e}") from None
    if expert_return is None:
        expert_return = float(episode_returns(trajectories).mean())
    spec = env.spec.to_dict()
    header = DemoHeader(
        env=env.name,
        obs_shape=tuple(spec["obs_shape"]),
        action=spec["action"],
        num_episodes=trajectories.num_episodes,
        num_transitions=trajectories.num_transitions,
        expert_return=float(expert_return),
        random_return=None if random_return is None else float(random_return),
        env_options=env.options_dict(),
        horizon=env.horizon,
        fixed_horizon=env.fixed_horizon,
    )
    header_bytes = np.frombuffer(json.dumps(header.__dict__).encode(), dtype=np.uint8)
    arrays = {f: np.asarray(getattr(trajectories, f)) for f in FIELDS}

    def fail(msg: str):
        raise DataError(f"{path}: not written: {msg}")

    # The checks `load` makes, before writing: a file every later run would refuse is not kept.
    _validate(Trajectories(**arrays), _parse_header(header_bytes, fail), fail)
    buffer = io.BytesIO()
    np.savez(buffer, header=header_bytes, **arrays)
    return atomic_write(path, buffer.getvalue())


def load(path: str | os.PathLike, env: Env | None = None) -> Demos:
    """Load and validate a demonstration file; with `env`, also check it matches `env`.

    A file recorded with a fixed horizon (`header.fixed_horizon`: episodes run on past a fall,
    unflagged) loads into an env without one, as the adversarial learners want it (they fix
    their own horizon); for a learner whose episodes end at a termination (BC, DAgger, SMILe, or
    GAIL and AIRL with absorbing states) check the header first, as `jirl train` does
    (`jirl.experiment.check_fixed_horizon`): such demos teach the steps after a fall.

    Raises:
      DataError: naming the file and the field, for any missing, malformed or mismatched part.
    """
    path = Path(path)

    def fail(msg: str):
        raise DataError(f"{path}: {msg}")

    if path.is_dir():
        fail("is a directory; pass the demos.npz file in it")
    if path.exists() and not path.is_file():  # /dev/zero, a pipe: np.load would read forever
        fail("is not a regular file; pass a demos.npz file")
    if not path.is_file():
        fail("no such demonstration file; record one with `jirl expert --env ENV --out DIR`")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":  # np.load would take anything else for a pickle (and refuse it)
        fail("not an .npz archive (a zip of .npy arrays); record one with `jirl expert`")
    try:
        _check_member_sizes(path, fail)
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            for field in ("header", *FIELDS):
                if field not in names:
                    fail(f"field '{field}' is missing; is this a jirl demonstration file?")
            arrays = {}
            for field in ("header", *FIELDS):
                try:
                    arrays[field] = npz[field]
                except ValueError as e:  # object arrays need pickle, which we never allow
                    if "allow_pickle" not in str(e):
                        fail(f"field '{field}' is not a readable .npy array ({e}); re-save it")
                    fail(f"field '{field}' cannot be read without pickle ({e}); re-save it")
                if not isinstance(arrays[field], np.ndarray):  # a member that is not .npy
                    fail(f"field '{field}' is not a .npy array; re-save the file with np.savez")
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as e:
        # (NotImplementedError: a member compressed by a method zipfile does not know)
        fail(f"not a readable .npz file (truncated or corrupt?): {e}")
    except MemoryError:
        fail("its arrays do not fit in host memory: the file is corrupt, or too large to load")
    header = _parse_header(arrays.pop("header"), fail)
    trajectories = Trajectories(**arrays)
    _validate(trajectories, header, fail)
    trajectories = _as_stored(trajectories, bool(header.action["discrete"]))
    if env is not None:
        check_matches_env(header, trajectories, env, fail)
    return Demos(trajectories, header)


def _check_member_sizes(path: Path, fail) -> None:
    """Refuse a field whose .npy header declares more (or fewer) bytes than its member holds,
    before `np.load` allocates them: a header edited to shape (10^11, 4) was read as a request
    for 1.6 TB ("out of host memory") rather than as a corrupt file.

    Every member NumPy could read as a field is checked: `obs` as well as `obs.npy` (NumPy
    reads `obs` first where both are there, so a file holding both is refused: which one is
    meant is not the file's to say). An encrypted member (`zip -e`) is refused here, before
    zipfile raises a RuntimeError that asks for its password.

    Fields that declare more bytes together than this host's memory (`jirl.devices.host_memory`)
    are refused as too large: bzip2 and LZMA members have no expansion bound to hold their
    sizes to (deflate's is ~1032:1), so a small file could otherwise ask for terabytes."""
    total = 0
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        stored: dict[str, list[str]] = {}
        for info in infos:
            if info.flag_bits & 0x1:
                fail(
                    f"member '{info.filename}' is encrypted (password-protected); re-save the "
                    "file without a password (np.savez)"
                )
            stored.setdefault(info.filename.removesuffix(".npy"), []).append(info.filename)
        for field, names in stored.items():
            if field in ("header", *FIELDS) and len(names) > 1:
                fail(
                    f"field '{field}' is stored {len(names)} times ({', '.join(names)}): the "
                    "file is corrupt; re-save it with np.savez"
                )
        for info in infos:
            field = info.filename.removesuffix(".npy")
            if field not in ("header", *FIELDS):
                continue
            if not info.filename.endswith(".npy") and not _is_npy(archive, info):
                continue  # NumPy hands back its bytes: refused when read, "not a .npy array"
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read = {(1, 0): np.lib.format.read_array_header_1_0}.get(
                    version, np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read(member)
                held = info.file_size - member.tell()
            # `file_size` is the zip directory's word: the stored bytes bound what it may say
            # (deflate expands at most ~1032:1), else a 4 KB file "holds" 1.5 TB; bzip2 and
            # LZMA expand further (held to the host's memory below)
            bound = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1100}.get(info.compress_type)
            if bound is not None and info.file_size > bound * max(info.compress_size, 1):
                fail(
                    f"field '{field}' says it holds {info.file_size:,} bytes in "
                    f"{info.compress_size:,}: the file is corrupt; record it again"
                )
            if dtype.hasobject:  # refused when read: it needs pickle
                continue
            declared = math.prod(shape) * dtype.itemsize
            if declared != held:
                fail(
                    f"field '{field}' declares {shape} {dtype} ({declared:,} bytes) but holds "
                    f"{held:,}: the file is corrupt; record it again"
                )
            total += declared
    memory = host_memory()
    if memory is not None and total > memory:
        fail(
            f"its arrays declare {total:,} bytes, more than this host's {memory:,} bytes of "
            "memory: too large to load here (or corrupt)"
        )


def _is_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether a member starts as a .npy array does, which is how NumPy decides to read it as
    one whatever its name (a member `obs` with no `.npy` is read as an array if it is one)."""
    with archive.open(info) as member:
        return member.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX


def _parse_header(raw: np.ndarray, fail) -> DemoHeader:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        fail(f"field 'header' must be uint8 JSON bytes, got {raw.dtype} {raw.shape}")
    try:
        data = strict_json(raw.tobytes().decode())
    except (UnicodeDecodeError, ValueError) as e:  # (nested too deeply: `strict_json`'s)
        fail(f"field 'header' is not valid JSON: {str(e) or type(e).__name__}")
    if not isinstance(data, dict):
        fail("field 'header' must be a JSON object")
    version = data.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:  # `true` equals 1 in Python
        fail(f"field 'header.format_version' is {short(version)}; this jirl reads version 1")
    required = ("env", "obs_shape", "action", "num_episodes", "num_transitions", "expert_return")
    for key in required:
        if key not in data:
            fail(f"field 'header.{key}' is missing")
    unknown = set(data) - set(DemoHeader.__dataclass_fields__)
    if unknown:
        fail(f"field 'header' has unknown keys {short(sorted(unknown))}")
    if type(data["env"]) is not str:
        fail(f"field 'header.env' must be an environment name, got {short(data['env'])}")
    for key in ("num_episodes", "num_transitions"):
        value = data[key]  # (5.0 or true would compare equal to the counts)
        if not (type(value) is int and 0 <= value <= MAX_INT):
            fail(f"field 'header.{key}' must be an integer in [0, {MAX_INT:,}], got {short(value)}")
    action = data["action"]
    if not isinstance(action, dict) or type(action.get("discrete")) is not bool:
        fail("field 'header.action' must be an object with 'discrete': true or false")
    if action["discrete"] and not _is_count(action.get("n")):
        fail(f"field 'header.action.n' must be an integer in [1, {MAX_INT:,}] for discrete actions")
    if not action["discrete"] and not _is_count(action.get("dim")):
        fail(
            f"field 'header.action.dim' must be an integer in [1, {MAX_INT:,}] for continuous "
            "actions"
        )
    if not action["discrete"]:
        _check_bounds(action, fail)
    if not isinstance(data["obs_shape"], list) or not all(_is_count(d) for d in data["obs_shape"]):
        fail(f"field 'header.obs_shape' must be a list of integers in [1, {MAX_INT:,}]")
    for key in ("expert_return", "random_return"):
        value = data.get(key)
        if key == "random_return" and value is None:
            continue
        if not is_number(value):
            fail(f"field 'header.{key}' must be a finite number within ±{MAX_MAGNITUDE:.0e}")
    random_return = data.get("random_return")
    if random_return is not None and not data["expert_return"] > random_return:
        fail(
            f"field 'header.expert_return' ({data['expert_return']}) is not above "
            f"'random_return' ({random_return}), so no score can be normalized: record the demos "
            "again from an expert that beats the random policy"
        )
    if not isinstance(data.get("env_options", {}), dict):
        fail("field 'header.env_options' must be a JSON object")
    horizon = data.get("horizon")
    if horizon is not None and not _is_count(horizon):
        fail(f"field 'header.horizon' must be an integer in [1, {MAX_INT:,}]")
    if data.get("fixed_horizon") is not None and type(data["fixed_horizon"]) is not bool:
        given = short(data["fixed_horizon"])
        fail(f"field 'header.fixed_horizon' must be true or false, got {given}")
    data["obs_shape"] = tuple(data["obs_shape"])
    return DemoHeader(**data)


#: the largest magnitude a float field may hold: past it (√ of float32's largest, 1.8e19) its
#: square is inf, and a BC run on observations of 1e30 diverged at its first update with a
#: message blaming the learning rate
MAX_MAGNITUDE = 1e18


def _is_count(value) -> bool:
    """An int (not a bool) in [1, MAX_INT]."""
    return type(value) is int and 1 <= value <= MAX_INT


def is_number(value) -> bool:
    """An int or float (not a bool) within ±MAX_MAGNITUDE: a JSON integer of 400 digits is an
    int that no float holds."""
    return type(value) in (int, float) and abs(value) <= MAX_MAGNITUDE


def _finite_float32(arr: np.ndarray) -> bool:
    """Whether every value is finite once stored as float32 (1e300 in float64 is not)."""
    with np.errstate(over="ignore"):
        return bool(np.isfinite(arr.astype(np.float32, copy=False)).all())


def _as_stored(t: Trajectories, discrete: bool) -> Trajectories:
    """The dtypes of the format table (float32, int32 discrete actions, bool flags) for arrays
    of the right kind but another width (float64 or float16 observations, int64 actions)."""
    action_dtype = np.int32 if discrete else np.float32
    return t.replace(
        obs=t.obs.astype(np.float32, copy=False),
        next_obs=t.next_obs.astype(np.float32, copy=False),
        actions=t.actions.astype(action_dtype, copy=False),
        rewards=t.rewards.astype(np.float32, copy=False),
        episode_lengths=t.episode_lengths.astype(np.int32, copy=False),
    )


def _check_bounds(action: dict, fail) -> None:
    """`low` and `high` of a continuous action header: both null (unbounded), or each a number
    or a list of `dim` numbers, with low ≤ high."""
    low, high = action.get("low"), action.get("high")
    if low is None and high is None:
        return
    for key, value in (("low", low), ("high", high)):
        items = value if isinstance(value, list) else [value]
        numbers = all(is_number(v) for v in items)
        if not numbers or (isinstance(value, list) and len(value) != action["dim"]):
            fail(
                f"field 'header.action.{key}' must be a number or a list of {action['dim']} "
                f"numbers (the action bounds), got {short(value)}"
            )
    if (np.asarray(low, np.float64) > np.asarray(high, np.float64)).any():
        fail("field 'header.action' has a 'low' bound above its 'high' one")


def _validate(t: Trajectories, header: DemoHeader, fail) -> None:
    lengths = t.episode_lengths
    if lengths.dtype.kind not in "iu" or lengths.ndim != 1:
        fail(f"field 'episode_lengths' must be a 1-d integer array, got {lengths.dtype}")
    if lengths.shape[0] == 0:
        fail("field 'episode_lengths' is empty: the file holds zero episodes")
    if (lengths < 1).any():
        fail("field 'episode_lengths' has an episode of length < 1")
    if header.horizon is not None and (lengths > header.horizon).any():
        fail(f"field 'episode_lengths' has an episode longer than the horizon, {header.horizon}")
    if (lengths > header.num_transitions).any():  # before summing: 2^62 · 4 + 79 wraps to 79
        fail("field 'episode_lengths' has an episode longer than the file's transitions")
    n = sum(lengths.tolist())  # Python ints: no sum wraps
    if header.num_episodes != lengths.shape[0] or header.num_transitions != n:
        fail("field 'header' counts do not match 'episode_lengths' (truncated file?)")
    discrete = bool(header.action["discrete"])
    action_shape = (n,) if discrete else (n, header.action["dim"])
    expected = {
        "obs": ((n, *header.obs_shape), "f"),
        "next_obs": ((n, *header.obs_shape), "f"),
        "actions": (action_shape, "iu" if discrete else "f"),
        "rewards": ((n,), "f"),
        "terminated": ((n,), "b"),
        "truncated": ((n,), "b"),
    }
    for field, (shape, kinds) in expected.items():
        arr = getattr(t, field)
        if arr.dtype.kind not in kinds:
            fail(f"field '{field}' has dtype {arr.dtype}, expected kind {kinds!r}")
        if arr.shape != shape:
            fail(f"field '{field}' has shape {arr.shape}, expected {shape}")
        if arr.dtype.kind == "f" and not _finite_float32(arr):
            fail(f"field '{field}' contains NaN or inf, or values beyond float32's range")
        if arr.dtype.kind == "f" and arr.size and float(np.abs(arr).max()) > MAX_MAGNITUDE:
            fail(
                f"field '{field}' holds values up to {np.abs(arr).max():.3g}, beyond "
                f"±{MAX_MAGNITUDE:.0e}: their squares overflow float32 in training "
                "(observation statistics, squared errors); rescale them"
            )
    last = np.cumsum(lengths) - 1
    not_last = np.ones(n, bool)
    not_last[last] = False
    for field in ("terminated", "truncated"):
        if (getattr(t, field) & not_last).any():
            fail(f"field '{field}' is set on a step that is not its episode's last")
    ends = t.terminated[last].astype(int) + t.truncated[last].astype(int)
    if (ends != 1).any():
        e = int(np.flatnonzero(ends != 1)[0])
        fail(
            f"episode {e}'s last step must set exactly one of 'terminated' (a true end) and "
            f"'truncated' (the time limit), it sets {'both' if ends[e] == 2 else 'neither'}"
        )
    # inside an episode, each step starts where the last one ended: next_obs[t] is obs[t + 1]
    equal = t.next_obs[:-1] == t.obs[1:]  # [n − 1, *obs_shape]
    same = equal.all(axis=tuple(range(1, equal.ndim)))
    broken = np.flatnonzero(not_last[:-1] & ~same)
    if broken.size:
        step = int(broken[0])
        fail(
            f"field 'next_obs' at step {step} differs from 'obs' at step {step + 1}, in the "
            "same episode: each step must start where the one before it ended"
        )
    if discrete and ((t.actions < 0) | (t.actions >= header.action["n"])).any():
        fail(f"field 'actions' has a discrete action outside [0, {header.action['n']})")
    if not discrete and header.action.get("low") is not None:
        low = np.asarray(header.action["low"]) - 1e-5
        high = np.asarray(header.action["high"]) + 1e-5
        if ((t.actions < low) | (t.actions > high)).any():
            fail("field 'actions' has a continuous action outside the action bounds")


def options_mismatch(recorded: dict | None, env: Env) -> str | None:
    """What differs between the env options a file recorded and `env.options` (None: nothing, or
    a file from before options were recorded), as a sentence that says how to fix it."""
    want = env.options_dict()
    if recorded is None or recorded == want:
        return None
    foreign = sorted(set(recorded) - set(want))
    if foreign:  # no make of this env takes them: the file is another env's, or was edited
        said = ", ".join(f"{k}={short(recorded[k])}" for k in foreign[:4])
        return (
            f"recorded with {said}, which {env.name} does not take (it takes "
            f"{', '.join(sorted(want)) or 'no options'}); the file is not {env.name}'s"
        )
    keys = sorted(set(recorded) | set(want))
    differ = [k for k in keys if recorded.get(k) != want.get(k)]
    more = f" and {len(differ) - 4} more" if len(differ) > 4 else ""
    said = ", ".join(f"{k}={short(recorded.get(k))}" for k in differ[:4]) + more
    have = ", ".join(f"{k}={short(want.get(k))}" for k in differ[:4]) + more
    fix = f"make the environment with {said}"
    backend = recorded.get("backend")
    if "backend" in differ and isinstance(backend, str):  # the experiment config's env option
        fix += f" (jirl CLI: --set backend={backend})"
    return f"recorded with {said}, but the environment has {have}; {fix}"


def horizon_mismatch(recorded: int | None, env: Env) -> str | None:
    """How the time limit a file recorded differs from `env.horizon` (None: it does not, or a
    file from before horizons were recorded), as a sentence that says how to fix it. The
    expert's return, the 1 of the normalized score, is only comparable under the same limit."""
    if recorded is None or recorded == env.horizon:
        return None
    return (
        f"recorded with horizon {recorded}, but the environment's is {env.horizon}, so the "
        f"expert's return is not comparable; make the environment with horizon={recorded} "
        f"(jirl CLI: --set horizon={recorded})"
    )


def check_matches_env(header: DemoHeader, t: Trajectories, env: Env, fail=None) -> None:
    """Raise DataError unless the demonstrations fit `env`'s spaces."""
    if fail is None:

        def fail(msg):
            raise DataError(msg)

    if header.env != env.name:
        fail(f"field 'header.env' is '{header.env}', but the environment is '{env.name}'")
    mismatch = options_mismatch(header.env_options, env)
    if mismatch:
        fail(f"field 'header.env_options': {mismatch}")
    mismatch = horizon_mismatch(header.horizon, env)
    if mismatch:
        fail(f"field 'header.horizon': {mismatch}")
    longest = int(np.max(t.episode_lengths))
    if longest > env.horizon:  # a file from before horizons were recorded
        fail(
            f"field 'episode_lengths' has an episode of {longest} steps, longer than the "
            f"environment's horizon ({env.horizon}); make the environment with "
            f"horizon={longest} or more (jirl CLI: --set horizon={longest})"
        )
    if tuple(header.obs_shape) != tuple(env.spec.obs_shape):
        fail(
            f"field 'obs' has observations of shape {tuple(header.obs_shape)}, "
            f"the environment's are {tuple(env.spec.obs_shape)}"
        )
    want = env.spec.to_dict()["action"]
    if header.action.get("discrete") != want["discrete"] or header.action.get(
        "n" if want["discrete"] else "dim"
    ) != want.get("n" if want["discrete"] else "dim"):
        fail(f"field 'actions' is for action space {header.action}, the environment has {want}")
    if not want["discrete"]:
        recorded = [header.action.get(k) for k in ("low", "high")]
        bounds = [want.get(k) for k in ("low", "high")]
        same = [
            (r is None and b is None)
            or (r is not None and b is not None and np.allclose(r, b, rtol=1e-6, atol=1e-6))
            for r, b in zip(recorded, bounds, strict=True)
        ]
        if not all(same):
            fail(
                f"field 'header.action' has bounds low={recorded[0]}, high={recorded[1]}, the "
                f"environment's are low={bounds[0]}, high={bounds[1]}"
            )
