# tiny_kd.py made reproducible and fault-injectable for the reliability
# tests: fixed seed, deterministic kernels, validation after every epoch (as
# in every shipped config; RNGStateHook keeps it off the training random
# streams) and the test plugin (mmkd/testing/faults.py, inert unless a test
# sets its environment variables).
_base_ = ['./tiny_kd.py']
custom_imports = dict(
    imports=['mmkd.testing.faults'], allow_failed_imports=False)
custom_hooks = [dict(type='RNGStateHook'), dict(type='FaultInjectionHook')]
randomness = dict(seed=0, deterministic=True)
train_cfg = dict(max_epochs=3, val_interval=1)
