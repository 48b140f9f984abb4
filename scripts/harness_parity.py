"""Command-line entry of cocomix_tools.harness, lm-evaluation-harness parity;
scripts/harness_parity.sh builds its inputs and runs it (--help lists the options)."""
import sys

from cocomix_tools.harness import main

if __name__ == "__main__":
    sys.exit(main())
