"""Command-line entry of cocomix_tools.pipeline, the tiny CoCoMix pipeline;
scripts/pipeline_tiny.sh runs it with the paths set (--help lists the options)."""
import sys

from cocomix_tools.pipeline import main

if __name__ == "__main__":
    sys.exit(main())
