# Runtime defaults shared by every mmkd config (MMDetection 3 defaults, with
# the mmkd scope so mmkd's modules and MMDetection's are both found).
default_scope = 'mmkd'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    # MMEngine's ParamSchedulerHook that holds the schedule on a batch
    # skipped for non-finite losses (default_hooks.nonfinite.policy='skip').
    param_scheduler=dict(type='SkipAwareParamSchedulerHook'),
    # Checkpoints are written atomically (temporary file, fsync, rename): a
    # crash mid-write never leaves a truncated checkpoint. MMEngine writes
    # the last_checkpoint pointer with a plain open(); tools/train.py
    # --resume falls back to the newest complete checkpoint when it is cut.
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'),
    # A NaN/Inf loss term, in any run: 'stop' ends the run with one error
    # line (the checkpoints so far intact); 'skip' leaves that batch out
    # (weights, optimizer, BN statistics and schedules untouched) and stops
    # once more than max_skip_share of an epoch's batches are skipped.
    nonfinite=dict(
        type='NonFiniteLossHook', policy='stop', max_skip_share=0.1))

# Random generator states travel with the checkpoints, so a resumed run
# continues as the uninterrupted one would have.
custom_hooks = [dict(type='RNGStateHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches the backend to gloo on machines without GPUs.
    dist_cfg=dict(backend='nccl', timeout=1800))

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
