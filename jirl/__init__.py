"""jirl: inverse reinforcement learning and imitation learning in JAX.

from jirl.algos import bc
algo = bc.make(config, env, demos.trajectories)      # Algorithm(init, update, act)
train = jirl.make_train(algo, num_updates)           # pure train(key)
state, metrics = jax.jit(jax.vmap(train))(keys)      # many seeds, one compile
result = jirl.run(algo, key, num_updates, seeds=8)   # host driver: chunks, checkpoints
jirl.use_cpu_cores()    # before any computation: a CPU device per core, seeds side by side
"""

from jirl.errors import ConfigError, DataError, EnvError, JirlError, RunError
from jirl.run import RunResult, run, use_cpu_cores
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
    "make_train",
    "run",
    "use_cpu_cores",
]
