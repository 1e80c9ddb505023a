"""Workers for the paper tier's models, one module per model, each run inside that model's own environment
(`python -m avgenbench.paper_workers.<model>`, see model_envs.py and dimensions/in_env.py).

Each module keeps our own pre- and post-processing (frame sampling, resampling, windowing, the reductions that turn a
model's output into the paper's raw value) as pure functions that import no model library, so they are unit-tested in
the main environment; the upstream model is imported only inside the worker's backend, when it loads.
"""
