"""Strict loading of YAML configs and `--set key=value` overrides into frozen dataclasses.

A run config is a flat map of experiment keys plus one section named after the algorithm:

    algo: bc
    env: cartpole
    seeds: 4
    bc:
      learning_rate: 0.001

Unknown keys fail with the closest valid key suggested; values are coerced to the field's type
(YAML reads `1e-3` as a string, for example) and each dataclass validates its own ranges.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from jirl.errors import MAX_INT, ConfigError, closest, require, short


def _config_dir() -> Path:
    """The shipped configs: `configs/` beside the package in a source checkout or an editable
    install, else where a wheel puts them (`data-files` in pyproject.toml)."""
    source = Path(__file__).resolve().parent.parent / "configs"
    return source if source.is_dir() else Path(sys.prefix) / "share" / "jirl" / "configs"


CONFIG_DIR = _config_dir()

#: The largest base seed: `jax.random.PRNGKey` keeps 32 bits (2**40 gives seed 0's key) and a
#: run also draws from `seed + 1` and `seed + 2` (random policy, evaluation).
MAX_SEED = 2**31 - 3
#: The most seeds of one run: every seed's state is held at once (a million PPO agents on
#: cartpole would need tens of GiB before the first update).
MAX_SEEDS = 2**16
#: The most evaluation episodes per seed, and demonstration episodes `jirl expert` records: all
#: run at once after training, so 1e9 trained a whole run and then failed
#: out of device memory, in a run that cannot be resumed with another value.
MAX_EVAL_EPISODES = 100_000
#: The largest magnitude of a float value: training computes in float32, where beyond it is inf
#: (a learning rate of 1e300 trained to NaN).
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32_range(name: str, number: float, given: Any) -> None:
    """Refuse a finite `number` beyond float32's range, where training computes (`given`: as
    the user wrote it, for the message)."""
    if abs(number) > FLOAT32_MAX:
        raise ConfigError(
            f"{name} must be within float32's range, ±{FLOAT32_MAX:.4g} (training computes in "
            f"float32), got {short(given)}"
        )


def as_float32(value: float) -> float:
    """`value` as training holds it, float32, back as a Python float (1e-50 is 0.0): the value
    that range checks must see, or a rate that is 0 in training passes `> 0`."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


def check_anneal(section: str, anneal: int, updates: int) -> None:
    """Refuse `SECTION.anneal_updates` below the run's `updates` (ConfigError): the learning
    rate (TRPO: the KL radius) would sit at 0 for the rest of the run. 0: no annealing."""
    require(
        not anneal or anneal >= updates,
        f"{section}.anneal_updates ({anneal}) is below updates ({updates}): the learning "
        f"rate (TRPO: the KL radius) would stay 0 for the last {updates - anneal}; set it "
        f"to {updates}, or to 0 to keep it constant",
    )


def check_episodes(name: str, episodes: int) -> None:
    """Refuse an episode count (evaluation or demonstration) that is not an integer in
    [1, MAX_EVAL_EPISODES] (ConfigError), before any training: all run at once afterwards."""
    require(
        isinstance(episodes, int | np.integer) and not isinstance(episodes, bool),
        f"{name} must be a whole number, got {short(episodes)}",
    )
    require(
        1 <= episodes <= MAX_EVAL_EPISODES,
        f"{name} must be in [1, {MAX_EVAL_EPISODES:,}] (every episode runs at once after "
        f"training), got {episodes:,}",
    )


def check_seed(seed: int) -> None:
    """Refuse a base seed outside [0, MAX_SEED] (ConfigError)."""
    require(0 <= seed <= MAX_SEED, f"seed must be in [0, {MAX_SEED}], got {seed}")


@dataclass(frozen=True)
class ExperimentConfig:
    """What `jirl train` runs: the environment, the data, the seeds and the algorithm's config.

    Attributes:
      algo: registered algorithm name (`jirl.algos.names()`).
      env: environment name (`jirl.envs.names()`).
      horizon: episode time limit (None: the env's usual one).
      fixed_horizon: never terminate early (seals-style); the default for adversarial IRL.
      backend: Brax physics backend (Brax envs only).
      demos: path of a demonstration `.npz` (algorithms that learn from demonstrations).
      num_demos: use only the first N episodes of `demos` (None: all).
      expert: expert directory (DAgger, SMILe: the oracle; also supplies demos and returns).
      seeds: number of seeds, vmapped in one compile.
      seed: base PRNG seed.
      updates: number of `update` calls per seed.
      chunk: updates per jitted chunk (logging, progress and checkpoints happen between).
      checkpoint_every: write a checkpoint every N chunks.
      eval_episodes: episodes per seed for the final score.
      eval_greedy: score the final policies by their greedy action (`Algorithm.mode`;
        SB3's and Brax's deterministic evaluation) instead of a sampled one. The expert's
        return that normalizes the score stays the one recorded, of the expert's sampled
        actions.
      sweep: `{field: [values]}` of the algorithm's float hyperparameters; every setting of
        the grid runs `seeds` seeds, all in one compile (`jirl.sweep`). None: no sweep.
      algo_config: the algorithm's own frozen config (YAML section named after `algo`).
    """

    algo: str
    env: str
    horizon: int | None = None
    fixed_horizon: bool = False
    backend: str | None = None
    demos: str | None = None
    num_demos: int | None = None
    expert: str | None = None
    seeds: int = 1
    seed: int = 0
    updates: int = 100
    chunk: int = 10
    checkpoint_every: int = 1
    eval_episodes: int = 32
    eval_greedy: bool = False
    sweep: Any = None
    algo_config: Any = field(default=None)

    def __post_init__(self):
        require(
            1 <= self.seeds <= MAX_SEEDS,
            f"seeds must be in [1, {MAX_SEEDS:,}] (one compile holds every seed), got {self.seeds}",
        )
        check_seed(self.seed)
        for name in ("env", "demos", "expert", "backend"):  # `--set demos=`: "." was read
            value = getattr(self, name)
            require(
                value is None or str(value).strip() != "",
                f"{name} is empty; give a {'path' if name in ('demos', 'expert') else 'name'} "
                "or leave it out",
            )
        require(self.updates >= 1, f"updates must be >= 1, got {self.updates}")
        require(self.chunk >= 1, f"chunk must be >= 1, got {self.chunk}")
        require(self.checkpoint_every >= 1, "checkpoint_every must be >= 1")
        check_episodes("eval_episodes", self.eval_episodes)
        require(
            self.horizon is None or self.horizon >= 1, f"horizon must be >= 1, got {self.horizon}"
        )
        require(self.num_demos is None or self.num_demos >= 1, "num_demos must be >= 1")
        check_anneal(self.algo, getattr(self.algo_config, "anneal_updates", 0), self.updates)
        rounds = getattr(self.algo_config, "max_rounds", None)
        if rounds is not None:
            require(
                rounds >= self.updates,
                f"{self.algo}.max_rounds ({rounds}) is below updates ({self.updates}): each of "
                f"the last {self.updates - rounds} rounds would fit a policy and discard it; set "
                f"it to {self.updates}",
            )

    @property
    def runs(self) -> int:
        """Sweep settings × seeds: the leading axis of every batched state and metric."""
        settings = 1
        for values in (self.sweep or {}).values():
            settings *= len(values)
        return settings * self.seeds

    def to_dict(self) -> dict:
        """The fully resolved config as plain YAML-able data."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "algo_config"
        }
        if self.algo_config is not None:
            out[self.algo] = _plain(dataclasses.asdict(self.algo_config))
        return _plain(out)


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return [_plain(v) for v in x]
    return x


def _suggest(key, valid, prefix: str = "") -> str:
    close = closest(key, valid, cutoff=0.5)
    if close:
        return f"; did you mean '{prefix}{close}'?"
    return f"; valid keys: {', '.join(prefix + k for k in sorted(valid))}"


#: a number in exponent form (`3e-4`, `1E6`, `1.0e4`, `.5e3`): YAML 1.1 (PyYAML) reads those
#: without both a dot and a signed exponent as strings; configs take them as numbers
EXPONENT_FORM = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+", re.ASCII)


def exponent_form(value: Any) -> Any:
    """`value` as a float where it is a string in `EXPONENT_FORM`, else unchanged."""
    if isinstance(value, str) and EXPONENT_FORM.fullmatch(value.strip()):
        return float(value)
    return value


def whole_number(value: Any) -> Any:
    """A count as the config will read it (`coerce` to int: `1e3`, which YAML reads as a
    string, and `1000.0` are 1000), or `value` unchanged where the config will refuse it (by
    name, when it is built)."""
    try:
        return coerce(value, int, "count")
    except ConfigError:
        return value


#: Section fields that count the run's updates: a learning rate's (TRPO: δ's) annealing,
#: GTAL's T of the multiplicative-weights step size (`num_rounds`), and SMILe's rounds that
#: each add a member to its mixture (`max_rounds`).
RUN_LENGTH_FIELDS = ("anneal_updates", "num_rounds", "max_rounds")


def set_keys(overrides: list[str] | None) -> set[str]:
    """The keys that `--set` items give (`item_keys`): `KEY` at the top, `SECTION.KEY` in a
    section, and each key of a mapping given to a top-level key (`--set SECTION={KEY: v}`,
    `--set sweep={KEY: [...]}`) as `SECTION.KEY`."""
    return {key for item in overrides or [] for key in item_keys(item)}


def anneal_over_updates(data: dict, file_data: dict, given: set[str] = frozenset()) -> None:
    """When the flags, --set or a caller's changes alter `updates`, a field of
    `RUN_LENGTH_FIELDS` that the config file sets to its whole run (`ALGO.anneal_updates` equal
    to its `updates`) and the changes do not give (`given`: `ALGO.FIELD` keys, `set_keys`)
    follows the new run instead; any other value is kept (and `ExperimentConfig` refuses an
    annealing below the updates). `data`: the raw config, changed in place; `file_data`: the
    defaults and the config file alone."""
    algo = data.get("algo")
    if not isinstance(algo, str):
        return  # a bad algo is refused, by name, when the config is built
    section, file_section = data.get(algo), file_data.get(algo)
    updates = whole_number(data.get("updates", ExperimentConfig.updates))
    file_updates = whole_number(file_data.get("updates", ExperimentConfig.updates))
    if not (isinstance(section, dict) and isinstance(file_section, dict)):
        return
    if type(updates) is not int or updates < 1:
        return  # a bad updates is refused, by name, when the config is built
    for name in RUN_LENGTH_FIELDS:
        length = whole_number(file_section.get(name))
        kept = whole_number(section.get(name)) == length and f"{algo}.{name}" not in given
        if length and length == file_updates and kept:
            section = data[algo] = {**section, name: updates}


def coerce(value: Any, hint: Any, name: str) -> Any:
    """Convert a YAML or command-line value to the annotated type `hint`."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return coerce(value, args[0], name)
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.strip("()[] ").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list, got {short(value)}")
        return tuple(coerce(v, typing.get_args(hint)[0], name) for v in value)
    try:
        if hint in (int, float) and isinstance(value, str) and not value.isascii():
            raise ValueError  # (int("٢") is 2, float("１") 1.0: numbers are written in ASCII)
        if hint is bool:
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, bool):
                return value
            if type(value) is int and value in (0, 1):  # (YAML's `1`; the text "1" was taken)
                return bool(value)
            raise ValueError
        if hint is int:
            # YAML reads 1e6 as a string: a whole number written so is taken, 1.5e0 is not
            number = exponent_form(value)
            if isinstance(number, bool) or (isinstance(number, float) and not number.is_integer()):
                raise ValueError
            number = int(number)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        if hint is str:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError, OverflowError):  # (a 400-digit int is no float)
        if hint is bool:
            raise ConfigError(f"{name} must be true or false, got {short(value)}") from None
        kind = getattr(hint, "__name__", str(hint))
        raise ConfigError(f"{name} must be of type {kind}, got {short(value)}") from None
    if hint is int and abs(number) > MAX_INT:
        raise ConfigError(
            f"{name} must be at most {MAX_INT:,} in absolute value, got {short(value)}"
        )
    if hint is float and not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number, got {short(value)}")
    if hint is float:
        check_float32_range(name, number, value)
    return number if hint in (float, int) else value


def build(cls, values: dict, prefix: str = "", hidden: frozenset = frozenset()):
    """Construct the frozen dataclass `cls` from a dict, strictly (`hidden`: fields set by the
    caller, never suggested to the user)."""
    if not isinstance(values, dict):
        raise ConfigError(
            f"{prefix.rstrip('.') or 'config'} must be a mapping of keys to values, "
            f"got {short(values)}"
        )
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(
                f"unknown config key '{prefix}{key}'{_suggest(key, names - hidden, prefix)}"
            )
        kwargs[key] = coerce(value, hints[key], f"{prefix}{key}")
    try:
        config = cls(**kwargs)
        _check_as_float32(cls, kwargs, prefix)
        return config
    except TypeError as e:
        raise ConfigError(f"{prefix or 'config'}: {e}") from None
    except ConfigError as e:  # a field's own check: named as the user writes it, `gail.x`
        first = re.match(r"[a-z_][a-z0-9_]*\b", str(e))
        if prefix and first and first.group() in names:
            raise ConfigError(f"{prefix}{e}") from None
        raise


def _check_as_float32(cls, kwargs: dict, prefix: str) -> None:
    """Build `cls` again with each float value as training holds it (`as_float32`), one at a
    time, so that its range checks see that value: `learning_rate: 1e-50` passed `> 0` and
    trained with a rate of 0. The error names the value given and what it became."""
    for key, value in kwargs.items():
        held = as_float32(value) if type(value) is float else value
        if held == value:
            continue
        try:
            cls(**{**kwargs, key: held})
        except ConfigError as e:
            raise ConfigError(
                f"{e} ({prefix}{key}: {value!r} is {held!r} in float32, the precision training "
                "computes in)"
            ) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping (PyYAML keeps the
    last one silently: `learning_rate` written twice would use the second without a word), and
    reads numbers as YAML 1.2 and Python do: integers in decimal only (YAML 1.1 read `seed: 010`
    as 8, `0x10` as 16 and `updates: 1:30` as 90, base 60), which leaves `0x10` and `1:30`
    strings that a number field refuses."""

    def construct_mapping(self, node, deep=False):
        self._check_unique(node, deep, set())
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node, deep=False):
        """PyYAML's, with a value that a constructor cannot build (`!!float abc`: ValueError,
        `!!timestamp 2001-13-45x`: AttributeError) a ConstructorError at its line, as YAML's own
        errors are, rather than a traceback."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, AttributeError):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            what = short(node.value) if isinstance(node, yaml.ScalarNode) else f"this {node.id}"
            raise yaml.constructor.ConstructorError(
                None, None, f"{what} is not a valid {tag}", node.start_mark
            ) from None

    def _check_unique(self, node, deep, checked: set):
        if id(node) in checked:  # an anchor merged into itself: checked once
            return
        checked.add(id(node))
        seen = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                # `<<: *defaults` (or a list of them): SafeLoader merges them in without building
                # them as mappings of their own, so their keys are checked here; the mapping's
                # own keys override the merged ones, as YAML says
                merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else []
                for part in merged if merged else [value_node]:
                    if isinstance(part, yaml.MappingNode):
                        self._check_unique(part, deep, checked)
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, typing.Hashable):
                continue  # PyYAML's own construct_mapping refuses it, by line
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(
    _INT, re.compile(r"^[-+]?[0-9][0-9_]*$"), list("-+0123456789")
)
_UniqueKeyLoader.add_implicit_resolver(  # YAML 1.1's floats, less the base-60 ones
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _construct_int(loader, node) -> int:
    """A decimal integer (`1_000` is 1000); another (`!!int 0x10`) is a ConstructorError at its
    line, which `read_yaml` reports as invalid YAML, not a ValueError traceback."""
    text = loader.construct_scalar(node)
    try:
        return int(text.replace("_", ""))
    except ValueError:  # (or more digits than Python converts, 4,300: far beyond any field's)
        digits = text.replace("_", "").lstrip("+-")
        why = "has too many digits" if digits.isdecimal() else "is not a decimal integer"
        raise yaml.constructor.ConstructorError(
            None, None, f"{short(text)} {why}", node.start_mark
        ) from None


_UniqueKeyLoader.add_constructor(_INT, _construct_int)


def load_yaml(text: str):
    """`text` as `read_yaml` reads a file (and `--set` a value): safe, numbers in decimal.

    Raises:
      yaml.YAMLError: for any text it cannot read, also one nested too deeply for Python's
        recursion (a list 5,000 deep), and a value no constructor builds (`!!float abc`).
    """
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # safe: a SafeLoader
    except RecursionError:
        raise yaml.YAMLError("nested too deeply; a config holds flat values and lists") from None
    except (ValueError, TypeError, AttributeError) as e:  # what `construct_object` cannot mark
        raise yaml.YAMLError(f"a value cannot be built ({type(e).__name__})") from None


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting what `load_yaml` would read as a number (a string such as
    "0815", plain to YAML 1.1, which read it as a string, is an int to `load_yaml`)."""


_Dumper.yaml_implicit_resolvers = _UniqueKeyLoader.yaml_implicit_resolvers


def dump_yaml(data) -> str:
    """`data` as YAML that `load_yaml` reads back as it was (keys in their order)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping; `path` may also be a name in `configs/` without `.yaml`."""
    path = Path(path)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{path}.yaml"
    if path.is_dir():
        raise ConfigError(f"config '{path}' is a directory; pass a YAML file or a config name")
    if path.exists():  # (a FIFO or a device would block or never end: /dev/zero)
        if not path.is_file():
            raise ConfigError(f"config '{path}' is not a regular file; pass a YAML file")
    else:
        known = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) if CONFIG_DIR.is_dir() else []
        raise ConfigError(f"config '{path}' not found; known configs: {', '.join(known) or 'none'}")
    try:
        data = load_yaml(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML ({where}{str(e).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; pass a YAML config") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys to values")
    return data


def item_keys(item: str, *, sweep_whole: bool = False) -> list[str]:
    """The keys one `--set` item gives: `KEY` or `SECTION.KEY`, and `KEY.K` for each key K of
    a mapping given to a top-level key (`--set gail={learning_rate: 3e-4}`). With
    `sweep_whole`, a `sweep` mapping is the one key `sweep`: it replaces the grid whole, where
    a section's mapping is merged into it (`apply_overrides`)."""
    key, _, raw = item.partition("=")
    key = key.strip()
    if "." not in key and not (sweep_whole and key == "sweep"):
        try:
            value = load_yaml(raw)
        except yaml.YAMLError:
            value = None
        if isinstance(value, dict):
            return [f"{key}.{k}" for k in value]
    return [key]


def check_no_repeats(overrides: list[str], same=lambda key: key) -> None:
    """Refuse two `--set` items that give one key (`same(key)`: the name both stand for), and
    a whole `sweep` mapping after an item that gave one of its keys: the last won without a
    word, whichever the user meant."""
    given: dict[str, str] = {}
    for item in overrides or []:
        for key in item_keys(item, sweep_whole=True):
            name = same(key)
            earlier = [given[g] for g in given if g == name or g.startswith(name + ".")]
            if earlier:
                raise ConfigError(
                    f"--set {short(earlier[0])} and --set {short(item)} both give {name}; keep one"
                )
            given[name] = item
        for key in item_keys(item):  # a `sweep` mapping's own keys, for a later `sweep.K`
            given.setdefault(same(key), item)


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply `key=value` / `section.key=value` overrides (values parsed as YAML scalars). A
    mapping given to a section (`--set gail={learning_rate: 3e-4}`) is merged into the one the
    config file gave, as `--set gail.learning_rate=3e-4` would be: it replaced the whole
    section, the file's other settings falling back to their defaults without a word. A
    `sweep` mapping is a grid, and replaces the file's whole. Two items that give one key are
    refused (`check_no_repeats`)."""
    check_no_repeats(overrides)
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got '{item}'")
        key, raw = item.split("=", 1)
        try:
            value = load_yaml(raw) if raw else ""
        except yaml.YAMLError as e:
            if raw.lstrip().startswith(("{", "[")):  # meant as a mapping or list, not a string
                problem = str(e).splitlines()[0]
                raise ConfigError(f"--set {short(item)}: invalid YAML ({problem})") from None
            value = raw  # (a string YAML cannot read as one: `a: b`)
        parts = key.strip().split(".")
        if len(parts) > 2 or not all(parts):
            raise ConfigError(f"--set key must be 'key' or 'section.key', got '{key}'")
        if len(parts) == 2:
            if data.get(parts[0]) is None:  # absent, or `ppo:` left empty in a config file
                data[parts[0]] = {}
            section = data[parts[0]]
            if not isinstance(section, dict):
                raise ConfigError(f"'{parts[0]}' is not a section; cannot set '{key}'")
            section[parts[1]] = value
        elif isinstance(value, dict) and isinstance(data.get(parts[0]), dict) and key != "sweep":
            data[parts[0]] = {**data[parts[0]], **value}  # (a sweep's grid is replaced whole)
        else:
            data[parts[0]] = value
    return data


def experiment_config(data: dict, algo_config_cls) -> ExperimentConfig:
    """Build an `ExperimentConfig` whose section `data[algo]` fills `algo_config_cls`."""
    data = dict(data)
    if "algo_config" in data:  # set from the algorithm's section below, never by the user
        raise ConfigError(
            "unknown config key 'algo_config'; the algorithm's settings go under its own name "
            f"(--set {data.get('algo', 'ALGO')}.KEY=VALUE)"
        )
    algo = data.get("algo")
    section = data.pop(algo, None)
    section = {} if section is None else section  # `bc: 0` or `bc: []` is refused by `build`
    algo_config = build(algo_config_cls, section, prefix=f"{algo}.")
    experiment_keys = {f.name for f in dataclasses.fields(ExperimentConfig)}
    algo_keys = {f.name for f in dataclasses.fields(algo_config_cls)}
    for key in data:
        if key not in experiment_keys and key in algo_keys:
            raise ConfigError(
                f"config key '{key}' belongs to the algorithm: did you mean '{algo}.{key}'? "
                f"(under '{algo}:' in a config file, --set {algo}.{key}=... on the command line)"
            )
    cfg = build(
        ExperimentConfig, {**data, "algo_config": algo_config}, hidden=frozenset({"algo_config"})
    )
    if cfg.sweep is not None:
        from jirl.sweep import check_grid

        grid = check_grid(cfg.sweep, algo_config, algo, cfg.seeds, max_runs=MAX_SEEDS)
        cfg = dataclasses.replace(cfg, sweep={k: list(v) for k, v in grid.items()})
    return cfg


def hint_unknown_section(data: dict, algo: str) -> None:
    """A mapping-valued key other than the algorithm's section is a mistake: say which."""
    for key, value in data.items():
        if isinstance(value, dict) and key not in (algo, "sweep"):
            raise ConfigError(
                f"config section '{key}' does not belong to algorithm '{algo}'; "
                f"put algorithm settings under '{algo}:'"
            )
