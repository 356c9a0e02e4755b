"""Tabular IRL with known dynamics: MDPs, `lax.scan` planners, MaxEnt, max-margin and MWAL.

See DESIGN.md § Tabular. Every algorithm is a pure function `(key, mdp, demos, config) ->
result`, jittable and vmappable over seeds (`key`, demos) and over batches of reward problems
that share dynamics (demos with the MDP held fixed).
"""

from jirl.tabular.deep_maxent import DeepMaxEntConfig, DeepMaxEntResult, RewardMLP, deep_maxent_irl
from jirl.tabular.maxent import MaxEntConfig, MaxEntResult, maxent_gradient, maxent_irl
from jirl.tabular.maxmargin import (
    MaxMarginConfig,
    MaxMarginResult,
    max_margin_irl,
    solve_margin_qp,
)
from jirl.tabular.mdp import (
    TabularMDP,
    dense_mdp,
    garnet,
    grid_mdp,
    gridworld,
    objectworld,
    sparse_mdp,
    to_dense,
    to_sparse,
    validate_mdp,
)
from jirl.tabular.metrics import (
    Demos,
    expected_value_difference,
    feature_expectation_gap,
    policy_value_difference,
    random_policy_gap,
    reward_correlation,
    sample_demos,
    validate_demos,
)
from jirl.tabular.mwal import MWALConfig, MWALResult, mwal_irl
from jirl.tabular.planning import (
    Plan,
    Visitation,
    policy_evaluation,
    soft_expected_features,
    soft_value_iteration,
    soft_visitation,
    value_iteration,
    visitation,
)

__all__ = [
    "DeepMaxEntConfig",
    "DeepMaxEntResult",
    "Demos",
    "MWALConfig",
    "MWALResult",
    "MaxEntConfig",
    "MaxEntResult",
    "MaxMarginConfig",
    "MaxMarginResult",
    "Plan",
    "RewardMLP",
    "TabularMDP",
    "Visitation",
    "deep_maxent_irl",
    "dense_mdp",
    "expected_value_difference",
    "feature_expectation_gap",
    "garnet",
    "grid_mdp",
    "gridworld",
    "max_margin_irl",
    "maxent_gradient",
    "maxent_irl",
    "mwal_irl",
    "objectworld",
    "policy_evaluation",
    "policy_value_difference",
    "random_policy_gap",
    "reward_correlation",
    "sample_demos",
    "soft_expected_features",
    "soft_value_iteration",
    "soft_visitation",
    "solve_margin_qp",
    "sparse_mdp",
    "to_dense",
    "to_sparse",
    "validate_demos",
    "validate_mdp",
    "value_iteration",
    "visitation",
]
