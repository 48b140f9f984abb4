"""Where the repository, the built apps and the shared data are."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data():
    """COCOMIX_SHARED_DATA, else shared/data beside the repository."""
    return os.environ.get("COCOMIX_SHARED_DATA", str(REPO_ROOT.parent / "shared" / "data"))


def apps_dir():
    """COCOMIX_BIN, else build/bin of the repository."""
    return os.environ.get("COCOMIX_BIN", str(REPO_ROOT / "build" / "bin"))
