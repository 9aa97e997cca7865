"""Reference agents: the baseline routing policies, the oracle, the log generator's behaviour policy, and seeded rollouts."""
