# tiny_kd.py made reproducible and fault-injectable for the reliability
# tests: fixed seed, deterministic kernels, no validation (it would draw
# random numbers between epochs) and the test plugin (mmkd/testing/faults.py,
# inert unless a test sets its environment variables).
_base_ = ['./tiny_kd.py']
custom_imports = dict(
    imports=['mmkd.testing.faults'], allow_failed_imports=False)
custom_hooks = [dict(type='RNGStateHook'), dict(type='FaultInjectionHook')]
randomness = dict(seed=0, deterministic=True)
train_cfg = dict(max_epochs=3)
val_dataloader = None
val_cfg = None
val_evaluator = None
