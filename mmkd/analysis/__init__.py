"""Measurements: inference speed, parameters and FLOPs, the inputs they run
on, and training-log reading. The tools under tools/analysis_tools are thin
command lines over this package."""
