"""Command-line entry of cocomix_tools.steering (its docstring describes the experiment):

    PYTHONPATH=python $VENV/bin/python scripts/steering_experiment.py --corpus DIR --teacher RUN --sae SAE_DIR \
        --student RUN --bin build/bin -o OUT
"""
import sys

from cocomix_tools.steering import main

if __name__ == "__main__":
    sys.exit(main())
