"""The one YAML reader for questionnaire and framework files: plain data, small, shallow.

Questionnaire files are data written by people, so the reader refuses what such files never need
and what makes a small file expensive:

- anchors and aliases (`&name`, `*name`, `<<: *name`): nested aliases expand exponentially
  (a 526-byte "billion laughs" file took 11 GB);
- nesting deeper than MAX_DEPTH (5,000 levels overflowed Python's stack);
- files larger than MAX_BYTES (a 50 MB file parsed for minutes);
- text that is not UTF-8.

Every refusal is one line, `FILE: WHERE: PROBLEM`, without the offending value.
"""

from pathlib import Path

import yaml

MAX_BYTES = 2 * 1024 * 1024  # the largest bundled file (a framework) is about 110 KB
MAX_DEPTH = 64  # bundled files nest about 12 levels


class YamlFileError(ValueError):
    """A YAML file that cannot be read; the message is one line, `FILE: WHERE: PROBLEM`."""


class _Refused(Exception):
    """Raised inside the loader; carries `WHERE: PROBLEM`."""


class _DataLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors or aliases and with a nesting limit."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        """Refuse aliases and anchors, count nesting, then compose as usual."""
        event = self.peek_event()
        line = f"line {event.start_mark.line + 1}"
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"{line}: YAML aliases (*name) are not allowed; write the value out")
        if getattr(event, "anchor", None):
            raise _Refused(f"{line}: YAML anchors (&name) are not allowed; write the value out")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"{line}: nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _utf8(data: bytes, path: Path) -> str:
    """Decode strictly as UTF-8 (a leading BOM allowed), naming the line of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlFileError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                            "save the file as UTF-8") from None


def read_yaml(path: Path | str):
    """Parse a YAML file into plain data, or raise YamlFileError with one line."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise YamlFileError(f"{path}: file: not found") from None
    except OSError as exc:
        raise YamlFileError(f"{path}: file: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise YamlFileError(f"{path}: file: larger than {MAX_BYTES // (1024 * 1024)} MB")
    loader = _DataLoader(_utf8(data, path))
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise YamlFileError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlFileError(f"{path}: {where}: YAML syntax error: {problem}") from None
    finally:
        loader.dispose()
