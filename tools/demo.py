"""The built-in demo: teacher, student and distilled student on the
generated dataset, with a report (``mmkd.demo.pipeline``).

    python tools/demo.py [--quick] [--work-dir work_dirs/demo] [--seed N]
"""
from mmkd.demo.pipeline import main

if __name__ == '__main__':
    main()
