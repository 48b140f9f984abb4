"""Command-line entry of cocomix_tools.alignment (its docstring describes the analysis):

    PYTHONPATH=python $VENV/bin/python scripts/concept_alignment.py --corpus DIR --teacher RUN --sae SAE_DIR ...
"""
import sys

from cocomix_tools.alignment import main

if __name__ == "__main__":
    sys.exit(main())
