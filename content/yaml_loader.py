"""One YAML loader for every data file Baken reads at start-up: libyaml's where installed.

The directory of services, the articles' front matter, the triage rules and the screen's lexicons are read
at every start; the pure-Python loader took a third of a second for the directory alone (a second per spawned
server in the test suite), libyaml's about a tenth of that, with the same data.
"""

from __future__ import annotations

from typing import IO, Any

import yaml

LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(source: str | IO[str]) -> Any:
    """`yaml.safe_load`, faster."""
    return yaml.load(source, Loader=LOADER)
