"""State: the replay of the decoded events through models/ into the state tables (state.py, replay_run.py), the
comparison with SynFutures' Observer contract (observer.py), and the replay asset with its checks (assets.py)."""
