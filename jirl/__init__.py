"""jirl: inverse reinforcement learning and imitation learning in JAX.

from jirl.algos import bc
algo = bc.make(config, env, demos.trajectories)      # Algorithm(init, update, act)
train = jirl.make_train(algo, num_updates)           # pure train(key)
state, metrics = jax.jit(jax.vmap(train))(keys)      # many seeds, one compile
result = jirl.run(algo, key, num_updates, seeds=8)   # host driver: chunks, checkpoints
jirl.use_cpu_cores()    # before any computation: a CPU device per core, seeds side by side
"""

from jirl.errors import ConfigError, DataError, EnvError, JirlError, RunError

try:
    import jax  # noqa: F401  (JAX reads its JAX_* environment variables here)
except ValueError as error:  # one it cannot parse: JAX_ENABLE_X64=abc, JAX_NUM_CPU_DEVICES=abc
    #: why JAX would not import, as one line; `jirl.cli.console` exits 2 with it, and the
    #: public names below raise it as a ConfigError instead of JAX's traceback
    JAX_IMPORT_ERROR: str | None = (
        f"JAX cannot read its environment ({str(error).strip().splitlines()[0]}); fix or "
        "unset that variable"
    )
else:
    JAX_IMPORT_ERROR = None
    from jirl.compat import restore_pytype_aval_mappings

    restore_pytype_aval_mappings()  # before distrax's TFP is imported (`jirl.compat`)
    from jirl.run import RunResult, clear_programs, run, use_cpu_cores
    from jirl.train import make_train
    from jirl.types import Algorithm, Trajectories, Transition

__version__ = "0.1.0"

__all__ = [
    "Algorithm",
    "ConfigError",
    "DataError",
    "EnvError",
    "JirlError",
    "RunError",
    "RunResult",
    "Trajectories",
    "Transition",
    "clear_programs",
    "make_train",
    "run",
    "use_cpu_cores",
]


def __getattr__(name: str):
    """Only reached for a public name when JAX would not import (`JAX_IMPORT_ERROR`)."""
    if JAX_IMPORT_ERROR is not None and name in __all__:
        raise ConfigError(JAX_IMPORT_ERROR)
    raise AttributeError(f"module 'jirl' has no attribute {name!r}")
