"""Measurements: inference speed, parameters and FLOPs, the inputs they run
on, training-log reading, how RoI heads score their proposals and paired
statistics over seeds. The tools under tools/analysis_tools are thin
command lines over this package."""
