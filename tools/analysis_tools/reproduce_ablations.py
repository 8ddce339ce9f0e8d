"""The miniature reproduction of the paper's ablations
(``mmkd.demo.ablations``).

    python tools/analysis_tools/reproduce_ablations.py \\
        [--seeds 0 1 2] [--rows full student ...] [--work-dir DIR]
"""
from mmkd.demo.ablations import main

if __name__ == '__main__':
    main()
