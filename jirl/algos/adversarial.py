"""The one adversarial imitation loop, shared by GAIL (Ho & Ermon 2016, algorithm 1), AIRL
(Fu, Luo & Levine 2018, algorithm 1), and, on trajectory segments, guided cost learning (Finn,
Levine & Abbeel 2016) and GAN-GCL (Finn, Christiano, Abbeel & Levine 2016).

One `update` is one round:

1. collect `num_envs × num_steps` transitions with the current policy (the shared `rollout`);
2. take `disc_updates` Adam steps on the discriminator's loss (the cross-entropy for GAIL and
   AIRL), each on a minibatch of policy samples from this round (with `replay_rounds=R`, half
   from the last R rounds) against one of demonstration samples; a sample is a transition, or
   with `segment_length=L` a trajectory segment of L consecutive steps (`Transition [M, L]`,
   the input of a trajectory-level discriminator);
3. relabel the round's rewards with the reward map of the updated discriminator's logit
   (GAIL: −log(1 − D); AIRL: f − log π);
4. update the policy with the generator's `Learner.learn`: PPO or TRPO (`generator`), with the
   causal-entropy weight λ as the learner's `ent_coef`.

Termination bias, on purpose: adversarial rewards have a sign (log D ≤ 0 punishes living, −log(1−D)
≥ 0 rewards it), so with episodes that end early the policy can learn from the episode length
rather than the demonstrations. By default (`fixed_horizon=True`) the loop collects in the
environment made with fixed horizons, as the `seals` suite does (`jirl.envs.base`): episodes never
terminate early, the physics keeps running after a failure, the learned reward sees every state,
and the true return is masked after the first failure so it stays comparable. Set
`fixed_horizon: false` in the algorithm's section to collect with the environment as it is, or
`fixed_horizon: true` at the top of the experiment config to fix the horizon for evaluation too.

Absorbing states (Kostrikov et al. 2019, "Discriminator-actor-critic", sec. 4.2), the option for
tasks whose episodes end at a goal (acrobot, mountaincar): with `absorbing: true` (and
`fixed_horizon: false`) the loop collects with the environment's own terminations, and the
discriminator sees a terminal step as a step into an absorbing state s_a that loops on itself:
its observations gain a flag column (`with_flag`), s_a is (0, …, 0, 1) with action 0 and
log π = 0, and each episode that terminated (a demonstration's or the policy's) adds one
s_a → s_a sample to its side of the discriminator's data. The learned reward then prices ending
an episode: a terminal step earns, beside its own reward, the discounted reward of staying in
s_a for ever, γ r(s_a)/(1 − γ) (`relabel`), so the policy ends episodes as often and as early as
the expert did, whatever the sign of the reward map.

Replay of policy samples (`replay_rounds=R > 1`): half of each policy minibatch is drawn from
this round's samples and half from a ring buffer of the last R rounds' (this one included), as
Shrivastava et al. (2017, sec. 2.3) train a GAN's discriminator on a history of generated
samples; imitation's `gen_replay_buffer_capacity` is the same idea without the halves. A
discriminator that still sees where the policy went a few rounds ago keeps those states priced,
so a policy that drifts back into them is not rewarded there. Logits that use log π recompute it
for every policy sample with the current policy. R = 1 (the default) is the papers' loop.

Trajectory segments: trajectory-level methods see fixed-length segments rather than whole
episodes, so that every round has many samples of one shape. Policy segments are the rollout cut
into `num_steps / L` consecutive pieces per environment, those that an automatic reset cuts
left out (`segment_weights`: none under a fixed horizon that L divides); a round in which every
one is cut (episodes shorter than L) leaves the reward as it was, and the metric
`disc_whole_segments` is the fraction of this round's policy segments kept. Demonstration
segments are all windows of L steps inside one demonstration episode.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields, replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jirl.algos import bc
from jirl.data import check_fits
from jirl.envs.base import Env, EnvState, Spec, batch_reset
from jirl.errors import ConfigError, DataError, check_state, check_types, require
from jirl.nets import ACTIVATIONS, Normalizer, acting, check_hidden
from jirl.rewards import REWARD_MAPS, DiscLoss, DiscriminatorBatch, LogitFn
from jirl.rl import ppo, trpo
from jirl.rl.agent import Learner, LearnerState, generator_round, learner_policy, sampler
from jirl.rl.rollout import merge_leading, rollout
from jirl.types import Algorithm, Array, Metrics, Trajectories, Transition, owned

GENERATORS = ("ppo", "trpo")
#: the fields of `GeneratorConfig` that both generators read, and those only one reads
BOTH = ("num_envs", "num_steps", "gamma", "gae_lambda", "ent_coef", "max_grad_norm")
BOTH += ("anneal_updates", "hidden", "activation", "init_log_std", "squash")
PPO_ONLY = ("learning_rate", "num_epochs", "num_minibatches", "clip_eps", "vf_coef")
TRPO_ONLY = (
    "max_kl",
    "cg_iters",
    "cg_damping",
    "fisher_subsample",
    "backtrack_iters",
    "backtrack_coef",
    "vf_learning_rate",
    "vf_epochs",
    "vf_minibatches",
)


def _own_names(error: ConfigError) -> str:
    """A generator config's message with the config's own names (`gail.learning_rate`, once
    prefixed): its fields are the algorithm's, not a `ppo:` or `trpo:` section's."""
    return re.sub(r"\b(ppo|trpo)\.", "", str(error))


@dataclass(frozen=True)
class GeneratorConfig:
    """Hyperparameters of the policy optimised against a learned reward (the generator), shared
    by the adversarial loop and the sample-based apprenticeship learners.

    Both: `num_envs`, `num_steps`, `gamma`, `gae_lambda`, `ent_coef` (λ), network, `squash`
    (a tanh-squashed Gaussian policy in the action box, `jirl.nets.TanhNormal`).
    `anneal_updates`: decay PPO's rate, or TRPO's KL radius δ, linearly to 0 over that many
    updates (0 keeps it constant).
    PPO only (`PPO_ONLY`): `learning_rate`, `num_epochs`, `num_minibatches`, `clip_eps`,
    `vf_coef`. TRPO only (`TRPO_ONLY`): `max_kl`, `cg_iters`, `cg_damping`, `fisher_subsample`,
    `backtrack_iters`, `backtrack_coef`, `vf_learning_rate`, `vf_epochs`, `vf_minibatches` (see
    `jirl.rl.trpo`). The other generator's fields are kept, not refused, so that one config can
    switch generators (`--set gail.generator=trpo`), and are checked as that generator checks
    them (`_check_other_generator`); a sweep of one is refused (`unread_fields`).
    `fixed_horizon`: collect with fixed-horizon episodes (module docstring).
    """

    generator: str = "ppo"
    fixed_horizon: bool = True
    num_envs: int = 8
    num_steps: int = 128
    gamma: float = 0.99
    gae_lambda: float = 0.95
    ent_coef: float = 0.0
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    normalize_obs: bool = True
    init_log_std: float = -0.5
    squash: bool = False
    max_grad_norm: float = 0.5
    # PPO generator
    learning_rate: float = 1e-3
    anneal_updates: int = 0
    num_epochs: int = 4
    num_minibatches: int = 4
    clip_eps: float = 0.2
    vf_coef: float = 0.5
    # TRPO generator: `jirl.rl.trpo.TRPOConfig`'s defaults, one place to change them
    max_kl: float = trpo.TRPOConfig.max_kl
    cg_iters: int = trpo.TRPOConfig.cg_iters
    cg_damping: float = trpo.TRPOConfig.cg_damping
    fisher_subsample: int = trpo.TRPOConfig.fisher_subsample
    backtrack_iters: int = trpo.TRPOConfig.backtrack_iters
    backtrack_coef: float = trpo.TRPOConfig.backtrack_coef
    vf_learning_rate: float = trpo.TRPOConfig.vf_learning_rate
    vf_epochs: int = trpo.TRPOConfig.vf_epochs
    vf_minibatches: int = trpo.TRPOConfig.vf_minibatches

    def __post_init__(self):
        check_types(self, "")
        require(
            self.generator in GENERATORS,
            f"generator must be one of {', '.join(GENERATORS)}, got '{self.generator}'",
        )
        # The generator's own config validates the rest, with its messages; their fields are
        # this config's (`gail.learning_rate`), not a `ppo:` or `trpo:` section's.
        try:
            _ = self.ppo_config if self.generator == "ppo" else self.trpo_config
        except ConfigError as e:
            raise ConfigError(_own_names(e)) from None
        self._check_other_generator()
        by_name = {f.name: f for f in fields(self)}
        for name, why in self.never_read().items():
            field = by_name[name]
            default = field.default if field.default is not MISSING else field.default_factory()
            require(
                getattr(self, name) == default,
                f"{name} is not read ({why}); drop it, or leave it at {default}",
            )

    def _check_other_generator(self) -> None:
        """The other generator's own fields (`TRPO_ONLY` beside `generator: ppo`, `PPO_ONLY`
        beside `trpo`), checked as that generator checks them: a config keeps them so that
        `generator` can switch, and `max_kl: -1` beside the PPO generator was written to
        config.yaml, to fail only once switched (and a TRPO run's PPO fields are `jirl
        retrain`'s). Refused where the other generator's config fails with them and builds
        with them at their defaults: a failure the shared fields alone bring (a batch that
        TRPO's `vf_minibatches` does not divide) is not this generator's to refuse, and then
        the other generator's own fields go unchecked (a combination of its fields with the
        shared ones cannot be told apart from a field out of its range)."""
        other, only = ("trpo", TRPO_ONLY) if self.generator == "ppo" else ("ppo", PPO_ONLY)
        make, given = (
            (trpo.TRPOConfig, self.trpo_fields())
            if other == "trpo"
            else (ppo.PPOConfig, self.ppo_fields())
        )
        try:
            make(**given)
            return
        except ConfigError as e:
            problem = _own_names(e)
        defaults = {f.name: f.default for f in fields(self) if f.name in only}
        try:
            make(**{**given, **defaults})
        except ConfigError:
            return
        raise ConfigError(
            f"{problem} (a field of the {other.upper()} generator, kept for generator: "
            f"{other}; mend it or leave it out)"
        )

    def unread_fields(self) -> dict[str, str]:
        """`{field: why}` for the fields these settings never read (a sweep of one would run the
        same setting under different names; `jirl.sweep`): the other generator's, and those of
        `never_read`."""
        if self.generator == "ppo":
            other = {
                f: "the PPO generator does not read it (generator: trpo does)" for f in TRPO_ONLY
            }
        else:
            other = {
                f: "the TRPO generator does not read it (generator: ppo does)" for f in PPO_ONLY
            }
        return {**other, **self.never_read()}

    def never_read(self) -> dict[str, str]:
        """`{field: why}` for the fields this algorithm reads under no setting: one set away
        from its default is refused (`__post_init__`), not silently ignored. (The other
        generator's fields may be set: a config can hold both, for `generator` to switch.)"""
        return {}

    @property
    def ppo_config(self) -> ppo.PPOConfig:
        return ppo.PPOConfig(**self.ppo_fields())

    def ppo_fields(self) -> dict:
        """The PPO generator's fields, unchecked: what `jirl retrain` starts from, its own
        changes applied before `PPOConfig` checks them."""
        return {**self._shared_fields(), **{f: getattr(self, f) for f in PPO_ONLY}}

    @property
    def trpo_config(self) -> trpo.TRPOConfig:
        return trpo.TRPOConfig(**self.trpo_fields())

    def trpo_fields(self) -> dict:
        """The TRPO generator's fields, unchecked."""
        return {**self._shared_fields(), **{f: getattr(self, f) for f in TRPO_ONLY}}

    def _shared_fields(self) -> dict:
        """The fields both generators read (`BOTH`); observations reach the generator
        normalised already, by the loop's `Normalizer`."""
        return {**{f: getattr(self, f) for f in BOTH}, "normalize_obs": False}

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps


#: How the discriminator sees the policy's continuous actions (`AdversarialConfig.disc_actions`).
DISC_ACTIONS = ("executed", "sampled")


@dataclass(frozen=True)
class AdversarialConfig(GeneratorConfig):
    """Hyperparameters of the adversarial loop: the generator's (`GeneratorConfig`), then the
    discriminator's: `disc_updates` Adam steps of `disc_batch_size` expert + as many policy
    transitions (or segments, `make(segment_length=...)`) per round, the policy's from this
    round, or half from the last `replay_rounds` rounds (1: none), `grad_penalty` coefficient
    (0: none), `reward_map` (logit → reward), `absorbing` (absorbing states); module docstring.

    `disc_actions`: how the discriminator sees the policy's continuous actions. "executed"
    clips them to the bounds (`Spec.executed`), as demonstrations record the expert's, and
    scores log π there; "sampled" gives it the Gaussian's sample as drawn, and log π of it,
    so a sample outside the bounds is told from the expert's by that alone and the policy is
    pushed to sample within them. With an entropy bonus (λ > 0) "executed" lets the policy's
    spread grow unchecked, since clipping hides it: AIRL on Brax hopper (λ = 0.03) ended at
    7.5 and 10.3 nats of entropy and 0.33 normalized with it, −3 nats and 1.01 with "sampled"
    (same 2 seeds and expert; README, Known issues).

    Logits that use log π(a|s) (AIRL's f − log π, GCL's r − log π) scale it by `log_pi_weight`
    α everywhere, in the discriminator's loss and at relabelling, so that D = e^f / (e^f + π^α);
    `reward_log_pi_weight` w scales it once more at relabelling only (the policy's reward is then
    f − α·w·log π; Fu et al.'s code used w = 0.1 with α = 1). α = 1 is the model as published;
    α < 1 lowers the entropy bonus the policy collects from the reward (α per nat) while the
    reward stays log D − log(1 − D), the same at the discriminator's optimum in living and
    absorbing states alike, which w < 1 is not (README, the Brax four on the CPU). One
    exception: with "executed" on a Gaussian the environment clips (`squash: false`),
    relabelling scores the rollout's log π of the action as sampled, while the discriminator
    was trained on log π of the clipped one; the two differ for samples outside the bounds,
    where the reward is f − α·w·log π(a_sampled), the entropy bonus that lets the spread grow.
    A squashed policy's actions are never clipped, so there the two agree.

    `bc_steps`: Adam steps of behavioural cloning on the demonstrations (`jirl.algos.bc`'s
    loss, minibatches of `BCConfig.batch_size`, at `bc_learning_rate`) that start the policy
    before the first round; 0 (the default, as the papers) starts it at random. The loss fits
    a Gaussian policy's log σ too, so the warm-started policy is narrower than `init_log_std`
    (pendulum: log σ −0.5 → −1.9 after 2000 steps).
    """

    disc_hidden: tuple[int, ...] = (64, 64)
    disc_activation: str = "tanh"
    disc_learning_rate: float = 1e-3
    disc_updates: int = 10
    disc_batch_size: int = 256
    replay_rounds: int = 1
    grad_penalty: float = 0.0
    reward_map: str = "log_d"
    log_pi_weight: float = 1.0
    reward_log_pi_weight: float = 1.0
    absorbing: bool = False
    disc_actions: str = "executed"
    bc_steps: int = 0
    bc_learning_rate: float = 1e-3

    def __post_init__(self):
        super().__post_init__()
        require(self.bc_steps >= 0, f"bc_steps must be >= 0 (0: none), got {self.bc_steps}")
        require(
            self.bc_learning_rate > 0, f"bc_learning_rate must be > 0, got {self.bc_learning_rate}"
        )
        require(
            self.disc_actions in DISC_ACTIONS,
            f"disc_actions must be one of {', '.join(DISC_ACTIONS)}, got '{self.disc_actions}'",
        )
        require(
            not (self.absorbing and self.fixed_horizon),
            "absorbing: true needs the environment's own terminations; set fixed_horizon: false",
        )
        require(
            not (self.absorbing and self.gamma >= 1.0),
            f"absorbing: true needs gamma < 1 (the absorbing state's value), got {self.gamma}",
        )
        require(self.disc_updates >= 1, f"disc_updates must be >= 1, got {self.disc_updates}")
        require(
            self.disc_batch_size >= 1, f"disc_batch_size must be >= 1, got {self.disc_batch_size}"
        )
        require(
            self.replay_rounds >= 1,
            f"replay_rounds must be >= 1 (1: this round's samples only), got {self.replay_rounds}",
        )
        require(
            self.disc_learning_rate > 0,
            f"disc_learning_rate must be > 0, got {self.disc_learning_rate}",
        )
        require(self.log_pi_weight >= 0, f"log_pi_weight must be >= 0, got {self.log_pi_weight}")
        require(
            self.reward_log_pi_weight >= 0,
            f"reward_log_pi_weight must be >= 0, got {self.reward_log_pi_weight}",
        )
        require(self.grad_penalty >= 0, f"grad_penalty must be >= 0, got {self.grad_penalty}")
        require(
            self.reward_map in REWARD_MAPS,
            f"reward_map must be one of {', '.join(REWARD_MAPS)}, got '{self.reward_map}'",
        )
        check_hidden("disc_hidden", self.disc_hidden)
        require(
            self.disc_activation in ACTIVATIONS,
            f"disc_activation must be one of {sorted(ACTIVATIONS)}, got '{self.disc_activation}'",
        )

    def unread_fields(self) -> dict[str, str]:
        """`GeneratorConfig.unread_fields`, and the warm start's rate where there is none."""
        unread = super().unread_fields()
        if not self.bc_steps:
            unread["bc_learning_rate"] = "read only with bc_steps > 0"
        return unread


class RewardModel(typing.Protocol):
    """What the loop needs of a discriminator (`jirl.rewards.Discriminator`, `ShapedReward`):
    `init(key) -> params`, `logits(params, normalizer, t) -> [...]`. The reward a fresh agent
    is retrained on is `jirl.algos.reward_fn`'s."""

    init: Callable[[Array], dict]
    logits: LogitFn


@struct.dataclass
class AdversarialState:
    """State of the adversarial loop.

    Attributes:
      learner: the generator's parameters, optimiser state and observation statistics.
      env_state: batched environments `[num_envs]`.
      disc_params: discriminator (reward) parameters; disc_opt_state: its Adam state.
      disc_normalizer: fixed observation statistics of the demonstrations, the discriminator's
        input scaling (part of the learned reward).
      key, step: PRNG key and update count.
      last_return: mean true return of the most recent episodes that ended.
      replay: the last `replay_rounds` rounds' policy samples, `[R, *samples]`, round `i` in
        slot `i % R` (None when R = 1).
    """

    learner: LearnerState
    env_state: EnvState
    disc_params: dict
    disc_opt_state: optax.OptState
    disc_normalizer: Normalizer
    key: Array
    step: Array
    last_return: Array
    replay: Transition | None = None


def make_generator(config: AdversarialConfig, env: Env) -> Learner:
    if config.generator == "trpo":
        return trpo.trpo_learner(config.trpo_config, env)
    return ppo.ppo_learner(config.ppo_config, env)


def training_env(config: AdversarialConfig, env: Env) -> Env:
    """The environment the loop collects in: `env` with a fixed horizon unless switched off."""
    if config.fixed_horizon and not env.fixed_horizon:
        return env.with_options(fixed_horizon=True)
    return env


def demo_transitions(demos: Trajectories) -> Transition:
    """Demonstrations as flat `Transition [N]` (rewards and log-probabilities zero)."""
    n = demos.num_transitions
    return Transition(
        obs=jnp.asarray(demos.obs, jnp.float32),
        action=jnp.asarray(demos.actions),
        reward=jnp.zeros(n, jnp.float32),
        next_obs=jnp.asarray(demos.next_obs, jnp.float32),
        terminated=jnp.asarray(demos.terminated, bool),
        truncated=jnp.asarray(demos.truncated, bool),
        log_prob=jnp.zeros(n, jnp.float32),
    )


def expert_transitions(env: Env, demos: Trajectories) -> Transition:
    """The demonstrations as the discriminator's expert samples `Transition [N]`, for the loop's
    environment `env` (`training_env`). With fixed horizons the policy's steps never terminate,
    so a demo's fall is not marked terminal either: AIRL's f = g + γh(s') − h(s) drops γh(s')
    on a terminal step, and would shape the expert's falls one way and the policy's another."""
    flat = demo_transitions(demos)
    if env.fixed_horizon:
        return flat.replace(terminated=jnp.zeros_like(flat.terminated))
    return flat


# ---------------------------------------------------------------------------------------------
# absorbing states (Kostrikov et al. 2019, sec. 4.2; module docstring)


def model_spec(config: AdversarialConfig, spec: Spec) -> Spec:
    """The spaces the reward model sees: `spec`, with flat observations and a flag column when
    `config.absorbing`, and unbounded actions when `config.disc_actions` is "sampled" (its
    features then take them unclipped)."""
    if config.absorbing:
        spec = replace(spec, obs_shape=(spec.obs_dim + 1,))
    if config.disc_actions == "sampled":
        spec = replace(spec, action_low=None, action_high=None)
    return spec


def with_flag(spec: Spec, obs: Array, flag: float = 0.0) -> Array:
    """Observations `[..., *spec.obs_shape]` → `[..., obs_dim + 1]`, the absorbing flag last."""
    lead = obs.shape[: obs.ndim - len(spec.obs_shape)]
    flat = obs.reshape((*lead, spec.obs_dim)).astype(jnp.float32)
    return jnp.concatenate([flat, jnp.full((*lead, 1), flag, flat.dtype)], axis=-1)


def absorbing_loop(spec: Spec) -> Transition:
    """The self-loop s_a → s_a as one unbatched transition of the flagged spaces: observation
    (0, …, 0, 1), action 0, log π 0, not terminal."""
    s_a = with_flag(spec, jnp.zeros(spec.obs_shape, jnp.float32), 1.0)
    false = jnp.zeros((), bool)
    action = jnp.zeros(spec.action_shape, spec.action_dtype)
    zero = jnp.zeros((), jnp.float32)
    return Transition(s_a, action, zero, s_a, false, false, zero)


def into_absorbing(spec: Spec, t: Transition) -> Transition:
    """Transitions `[...]` of `spec` as the flagged model sees them: a terminal next state is
    s_a, which is not terminal (it loops on itself)."""
    s_a = absorbing_loop(spec).obs
    next_obs = jnp.where(t.terminated[..., None], s_a, with_flag(spec, t.next_obs))
    return t.replace(
        obs=with_flag(spec, t.obs), next_obs=next_obs, terminated=jnp.zeros_like(t.terminated)
    )


def relabel(
    config: AdversarialConfig,
    spec: Spec,
    reward_of: Callable,
    t: Transition,
    gamma: float | None = None,
) -> Array:
    """Learned rewards `[...]` of transitions `t` (`[...]`, the environment's spaces `spec`);
    `reward_of(transitions) -> rewards` is the model's reward on its own spaces
    (`model_spec`). With absorbing states a terminal step also earns γ r(s_a → s_a) / (1 − γ),
    the discounted reward of staying in s_a for ever, and its value bootstrap stays 0; γ is the
    discount of the learner the rewards are for (`gamma`; default `config.gamma`)."""
    if not config.absorbing:
        return reward_of(t)
    gamma = config.gamma if gamma is None else gamma
    value_of_s_a = gamma / (1.0 - gamma) * reward_of(absorbing_loop(spec))
    return reward_of(into_absorbing(spec, t)) + jnp.where(t.terminated, value_of_s_a, 0.0)


def sample_pool(config: AdversarialConfig, spec: Spec, t: Transition) -> tuple[Transition, Array]:
    """The discriminator's data from flat transitions `t [N]`: `(pool, weights)`. Without
    absorbing states, `t` with equal weights; with them, `into_absorbing(t)` plus one s_a → s_a
    sample weighted by the number of episodes that terminated in `t` (`[N + 1]`)."""
    n = t.reward.shape[0]
    if not config.absorbing:
        return t, jnp.ones(n, jnp.float32)
    loop = jax.tree.map(lambda x: x[None], absorbing_loop(spec))
    pool = jax.tree.map(
        lambda a, b: jnp.concatenate([a, b.astype(a.dtype)]), into_absorbing(spec, t), loop
    )
    terminated = t.terminated.sum(keepdims=True).astype(jnp.float32)
    return pool, jnp.concatenate([jnp.ones(n, jnp.float32), terminated])


def replay_pool(
    replay: Transition, step: Array, pool: Callable[[Transition], tuple[Transition, Array]]
) -> tuple[Transition, Array, Array]:
    """The discriminator's policy data from a replay buffer `replay [R, M, ...]` once round
    `step` (from 0) has been written to slot `step % R`: `(samples, weights, live)`, where
    `pool` maps flat samples `[R·M, ...]` to `(samples, weights)` (`sample_pool`). Slots fill
    in order, so the filled samples are the first `live = min(step + 1, R)·M`; the others
    weigh 0."""
    rounds, per_round = replay.reward.shape[:2]
    samples, weights = pool(merge_leading(replay))
    live = jnp.minimum(step + 1, rounds) * per_round
    filled = jnp.arange(rounds * per_round) < live
    return samples, weights.at[: rounds * per_round].multiply(filled), live


def demo_segments(demos: Trajectories, length: int) -> Transition:
    """Every window of `length` consecutive steps inside one demonstration episode, as
    `Transition [W, length]` (W = Σ_e max(0, len_e − length + 1); rewards, log-probs zero)."""
    flat = demo_transitions(demos)
    lengths = np.asarray(demos.episode_lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    windows = [s + np.arange(max(0, n - length + 1)) for s, n in zip(starts, lengths, strict=True)]
    first = np.concatenate(windows).astype(np.int32)
    if first.size == 0:
        raise DataError(
            f"no demonstration episode has {length} steps (longest: {int(lengths.max())}); "
            "use a shorter segment_length"
        )
    rows = first[:, None] + np.arange(length)[None, :]
    return jax.tree.map(lambda x: x[rows], flat)


def segment_weights(segments: Transition) -> Array:
    """`[M]` weights of segments `[M, L]`: 1 for a segment inside one episode, 0 for one that
    an automatic reset cuts (an episode ends before its last step): its r_θ and log q would sum
    over the ends of two episodes, a sample of no trajectory density."""
    ends = segments.terminated[:, :-1] | segments.truncated[:, :-1]
    return 1.0 - ends.any(axis=1).astype(jnp.float32)


def rollout_segments(batch: Transition, length: int) -> Transition:
    """`Transition [T, B]` → `[T / length · B, length]`: each environment's steps cut in order."""

    def cut(x):
        t, b = x.shape[:2]
        x = x.reshape((t // length, length, b, *x.shape[2:]))
        return jnp.swapaxes(x, 1, 2).reshape((t // length * b, length, *x.shape[3:]))

    return jax.tree.map(cut, batch)


def make(
    config: AdversarialConfig,
    env: Env,
    demos: Trajectories,
    model: RewardModel,
    loss_fn: DiscLoss,
    name: str,
    *,
    segment_length: int | None = None,
    optimizer: optax.GradientTransformation | None = None,
) -> Algorithm:
    """The adversarial loop as an `Algorithm` (module docstring).

    Args:
      model: the discriminator (its `logits` feed `config.reward_map`).
      loss_fn: its loss, `loss(params, normalizer, DiscriminatorBatch, key)`, possibly wrapped.
      segment_length: None: the loss sees transitions `[M]`; L: trajectory segments `[M, L]`
        (module docstring); `config.num_steps` must be a multiple of L.
      optimizer: the discriminator's optimiser (default Adam at `config.disc_learning_rate`).
    """
    check_fits(demos, env.spec, env.name)
    if segment_length is not None:
        require(segment_length >= 1, f"segment_length must be >= 1, got {segment_length}")
        require(
            config.num_steps % segment_length == 0,
            f"segment_length ({segment_length}) must divide num_steps ({config.num_steps})",
        )
        require(
            not config.absorbing,
            f"{name} learns from trajectory segments; absorbing: true is for GAIL and AIRL",
        )
    env = training_env(config, env)
    require(
        not (config.absorbing and env.fixed_horizon),
        "absorbing: true needs the environment's own terminations; the experiment fixes the "
        "horizon (fixed_horizon: true at the top of the config): set it false",
    )
    spec = env.spec
    require(
        config.disc_actions == "executed" or spec.clips_actions,
        f"disc_actions: {config.disc_actions} is for continuous actions the environment clips "
        f"to bounds; {env.name}'s are {spec.action_kind}, so executed and sampled actions are "
        "the same: drop it",
    )
    disc_spec = model_spec(config, spec)
    learner = make_generator(config, env)
    policy = learner.policy

    def pool(samples: Transition) -> tuple[Transition, Array]:
        """`(samples, weights)` the discriminator draws from: transitions through
        `sample_pool`, segments as they are."""
        if segment_length is None:
            return sample_pool(config, spec, samples)
        return samples, segment_weights(samples)

    flat_demos = expert_transitions(env, demos)
    expert, expert_weights = pool(
        flat_demos if segment_length is None else demo_segments(demos, segment_length)
    )
    demo_normalizer = Normalizer.create(spec.obs_shape).update(flat_demos.obs)
    disc_normalizer = demo_normalizer
    if config.absorbing:  # the flag column is passed through as it is
        disc_normalizer = Normalizer(
            with_flag(spec, demo_normalizer.mean),
            with_flag(spec, demo_normalizer.var, 1.0),
            demo_normalizer.count,
        )
    if optimizer is None:
        optimizer = optax.adam(config.disc_learning_rate)
    reward_map = REWARD_MAPS[config.reward_map]
    grad_fn = jax.grad(loss_fn, has_aux=True)

    def policy_samples(batch: Transition) -> Transition:
        """A rollout `[T, B]` (log π already scaled by α) as the discriminator's policy
        samples: flat transitions `[T·B]`, or segments `[T/L·B, L]`."""
        if segment_length is None:
            return merge_leading(batch)
        return rollout_segments(batch, segment_length)

    def empty_replay(learner_state: LearnerState, env_state: EnvState, key: Array):
        """Zeros shaped like `replay_rounds` rounds of policy samples (None for one round)."""
        if config.replay_rounds == 1:
            return None
        collect = lambda ls, es, k: policy_samples(
            rollout(env, sampler(policy, ls), es, k, config.num_steps)[1]
        )
        shapes = jax.eval_shape(collect, learner_state, env_state, key)
        return jax.tree.map(lambda x: jnp.zeros((config.replay_rounds, *x.shape), x.dtype), shapes)

    def warm_start(learner_state: LearnerState, key: Array) -> LearnerState:
        """The policy after `config.bc_steps` steps of behavioural cloning on the demos."""
        params = learner_state.params["policy"]
        bc_optimizer = optax.adam(config.bc_learning_rate)
        params, _, _ = bc.sgd_steps(
            params,
            bc_optimizer.init(params),
            bc_optimizer,
            policy,
            learner_state.normalizer,
            jnp.asarray(demos.obs),
            jnp.asarray(demos.actions),
            demos.obs.shape[0],
            jax.random.fold_in(key, 1),
            config.bc_steps,
            bc.BCConfig.batch_size,
        )
        return learner_state.replace(params={**learner_state.params, "policy": params})

    def init(key: Array) -> AdversarialState:
        key, key_learner, key_env, key_disc = jax.random.split(key, 4)
        disc_params = model.init(key_disc)
        learner_state = learner.init(key_learner)
        if config.normalize_obs:
            learner_state = learner_state.replace(normalizer=demo_normalizer)
        if config.bc_steps:
            learner_state = warm_start(learner_state, key_learner)
        env_state = batch_reset(env, key_env, config.num_envs)
        return AdversarialState(
            learner=learner_state,
            env_state=env_state,
            disc_params=disc_params,
            disc_opt_state=optimizer.init(disc_params),
            disc_normalizer=disc_normalizer,
            key=key,
            step=jnp.zeros((), jnp.int32),
            last_return=jnp.zeros((), jnp.float32),
            replay=empty_replay(learner_state, env_state, key),
        )

    # a policy segment is cut by a reset (weight 0) unless every episode lasts a whole number
    # of segments: a fixed horizon that the segment length divides
    cut_segments = segment_length is not None and not (
        env.fixed_horizon and env.horizon % segment_length == 0
    )

    def draw(key: Array, weights: Array, live: Array | int, n: int) -> Array:
        """`n` indices into a pool, drawn with replacement in proportion to `weights` with
        absorbing states or segments that resets may cut, else uniformly from its first `live`
        samples."""
        if not (config.absorbing or cut_segments):
            return jax.random.randint(key, (n,), 0, live)
        total = weights.sum()  # none inside one episode: uniform (the step is then undone)
        p = jnp.where(total > 0, weights / jnp.maximum(total, 1e-30), 1.0 / weights.shape[0])
        return jax.random.choice(key, weights.shape[0], (n,), p=p)

    def update_discriminator(
        state: AdversarialState, samples: Transition, replay: Transition | None, key: Array
    ):
        """`disc_updates` Adam steps on minibatches of policy samples vs demonstrations of the
        same shape. `samples` are this round's (`policy_samples`); with replay, half of each
        policy minibatch is drawn from them and half from the buffer `replay [R, ...]`, which
        already holds them (Shrivastava et al. 2017, sec. 2.3)."""
        current, current_weights = pool(samples)
        everything = current_weights.shape[0]
        if replay is not None:
            old, old_weights, live = replay_pool(replay, state.step, pool)
        half = config.disc_batch_size // 2

        def log_prob(t: Transition) -> Array:
            """α log π(a|s) of the current policy (0 in s_a) at the action as the
            discriminator's features see it (`config.disc_actions`, `model_spec`): executed,
            clipped to the bounds as the expert's are recorded, or as sampled."""
            obs = t.obs
            if config.absorbing:  # the policy's own observations; log π(s_a) = 0
                obs = obs[..., :-1].reshape((*obs.shape[:-1], *spec.obs_shape))
            params, normalizer = state.learner.params["policy"], state.learner.normalizer
            dist = policy.dist(params, normalizer, obs)
            log_pi = config.log_pi_weight * dist.log_prob(disc_spec.executed(t.action))
            return jnp.where(t.obs[..., -1] > 0.5, 0.0, log_pi) if config.absorbing else log_pi

        def policy_minibatch(key: Array) -> Transition:
            if replay is None:
                idx = draw(key, current_weights, everything, config.disc_batch_size)
                mb = jax.tree.map(lambda x: x[idx], current)
                if not disc_spec.clips_actions:
                    return mb  # the rollout's log π is the sampled action's
                return mb.replace(log_prob=log_prob(mb))
            key_current, key_old = jax.random.split(key)
            idx_current = draw(key_current, current_weights, everything, half)
            idx_old = draw(key_old, old_weights, live, config.disc_batch_size - half)
            mb = jax.tree.map(
                lambda x, y: jnp.concatenate([x[idx_current], y[idx_old]]), current, old
            )
            return mb.replace(log_prob=log_prob(mb))  # older rounds' log π is another policy's

        def step(carry, key_step):
            params, opt_state = carry
            key_policy, key_expert, key_loss = jax.random.split(key_step, 3)
            n_expert = expert_weights.shape[0]
            idx_expert = draw(key_expert, expert_weights, n_expert, config.disc_batch_size)
            expert_mb = jax.tree.map(lambda x: x[idx_expert], expert)
            expert_mb = expert_mb.replace(log_prob=log_prob(expert_mb))
            minibatch = DiscriminatorBatch(expert=expert_mb, policy=policy_minibatch(key_policy))
            grads, metrics = grad_fn(params, state.disc_normalizer, minibatch, key_loss)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), metrics

        (params, opt_state), metrics = jax.lax.scan(
            step,
            (state.disc_params, state.disc_opt_state),
            jax.random.split(key, config.disc_updates),
        )
        metrics = jax.tree.map(jnp.mean, metrics)
        if segment_length is not None:
            metrics["disc_whole_segments"] = current_weights.mean()
        if cut_segments:  # every policy segment crossed a reset: no sample to learn from
            learned = current_weights.sum() > 0
            keep = lambda new, old: jnp.where(learned, new, old)  # noqa: E731
            params = jax.tree.map(keep, params, state.disc_params)
            opt_state = jax.tree.map(keep, opt_state, state.disc_opt_state)
        return params, opt_state, metrics

    def update(state: AdversarialState) -> tuple[AdversarialState, Metrics]:
        check_state(state, AdversarialState, name, config.num_envs)
        key, key_rollout, key_disc, key_learn = jax.random.split(state.key, 4)

        def round_rewards(batch: Transition):
            """The discriminator's update on this rollout, then the rollout's rewards under
            it; aux `(disc_params, disc_opt_state, disc_metrics, replay)`."""
            # log π as the discriminator's logits see it (α log π); the learner keeps the raw one.
            weighted = batch.replace(log_prob=config.log_pi_weight * batch.log_prob)
            samples = policy_samples(weighted)
            replay = state.replay
            if replay is not None:
                slot = state.step % config.replay_rounds
                replay = jax.tree.map(lambda buf, x: buf.at[slot].set(x), replay, samples)
            disc_params, disc_opt_state, disc_metrics = update_discriminator(
                state, samples, replay, key_disc
            )
            scaled = weighted.replace(log_prob=config.reward_log_pi_weight * weighted.log_prob)
            reward_of = lambda t: reward_map(model.logits(disc_params, state.disc_normalizer, t))
            learned = relabel(config, spec, reward_of, scaled)  # [T, B]
            return learned, (disc_params, disc_opt_state, disc_metrics, replay)

        out = generator_round(
            env, learner, state, round_rewards, key_rollout, key_learn, config.num_steps
        )
        disc_params, disc_opt_state, disc_metrics, replay = out.aux
        metrics = {
            **out.metrics,
            **disc_metrics,
            # the generator's mean reward: with absorbing states a terminal step's includes
            # the lump γ·r(s_a)/(1 − γ) (`relabel`), so it is no per-step mean there
            "learned_reward": out.reward.mean(),
            "true_reward": out.batch.reward.mean(),
        }
        new_state = AdversarialState(
            learner=out.learner,
            env_state=out.env_state,
            disc_params=disc_params,
            disc_opt_state=disc_opt_state,
            disc_normalizer=state.disc_normalizer,
            key=key,
            step=state.step + 1,
            last_return=out.last_return,
            replay=replay,
        )
        return new_state, metrics

    act, mode = acting(policy, learner_policy)
    return Algorithm(owned(init), update, act, name, config.batch_size, mode)
