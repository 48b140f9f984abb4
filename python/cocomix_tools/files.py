"""The error every reader of this package raises for a bad input, and JSON reading."""
import json


class InputError(Exception):
    """One line naming the file and the field, printed by the command-line tools as 'error: ...'."""


def read_json(path):
    """The JSON document at `path`; InputError when it cannot be read or parsed."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})")
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e})")
