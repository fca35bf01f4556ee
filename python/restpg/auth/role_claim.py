"""`jwt-role-claim-key`: where in the claims the role is found.

Two spellings are accepted, as PostgREST accepts them:
- the legacy JSPath: `.role`, `.app_metadata.roles[0]`, `."https://example.com/role"`,
  `.roles[?(@ == "admin")]` (filters `==`, `!=`, `^==` starts with, `==^` ends with, `*==` contains);
- RFC 9535 JSONPath: `$.role`, `$['a.b'][0]`, `$.roles[?@ == "admin"]`.
The first value found wins; a missing step means "no role claim".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z0-9_$@\-]+")
_FILTER = re.compile(
    r"""\[\?\(?\s*@\s*(==\^|\^==|\*==|==|!=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)?\]"""
)
_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "==": lambda value, pattern: value == pattern,
    "!=": lambda value, pattern: value != pattern,
    "^==": lambda value, pattern: value.startswith(pattern),
    "==^": lambda value, pattern: value.endswith(pattern),
    "*==": lambda value, pattern: pattern in value,
}


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    position: int


@dataclass(frozen=True)
class Filter:
    operator: str
    pattern: str


Step = Key | Index | Filter


class RoleClaimKeyError(ValueError):
    """The configured `jwt-role-claim-key` does not parse; raised at startup."""


def parse(path: str) -> tuple[Step, ...]:
    text = path.strip()
    text = text.removeprefix("$")
    steps: list[Step] = []
    position = 0
    while position < len(text):
        rest = text[position:]
        if rest.startswith(('."', "['", '["')):
            end = _closing_quote(rest, 1, rest[1])
            steps.append(Key(_unquote(rest[1 : end + 1])))
            position += end + 1
            if rest[0] == "[":
                if not text[position:].startswith("]"):
                    raise RoleClaimKeyError(f"unclosed bracket in role claim key {path!r}")
                position += 1
        elif rest.startswith("."):
            match = _NAME.match(rest, 1)
            if match is None:
                raise RoleClaimKeyError(f"expected a key name at {rest!r} in role claim key {path!r}")
            steps.append(Key(match.group()))
            position += match.end()
        elif (index := re.match(r"\[(\d+)\]", rest)) is not None:
            steps.append(Index(int(index.group(1))))
            position += index.end()
        elif (found := _FILTER.match(rest)) is not None:
            steps.append(Filter(found.group(1), _unquote(found.group(2))))
            position += found.end()
        else:
            raise RoleClaimKeyError(f"cannot parse role claim key {path!r} at {rest!r}")
    if not steps:
        raise RoleClaimKeyError(f"empty role claim key {path!r}")
    if any(isinstance(step, Filter) for step in steps[:-1]):
        raise RoleClaimKeyError(f"a filter may only be the last step of role claim key {path!r}")
    return tuple(steps)


def find(claims: object, steps: tuple[Step, ...]) -> object | None:
    """The value at `steps` in `claims`, or None when a step does not match."""
    current = claims
    for step in steps:
        if isinstance(step, Key):
            if not isinstance(current, dict) or step.name not in current:
                return None
            current = current[step.name]
        elif isinstance(step, Index):
            if not isinstance(current, list) or step.position >= len(current):
                return None
            current = current[step.position]
        else:
            if not isinstance(current, list):
                return None
            matcher = _MATCHERS[step.operator]
            return next(
                (item for item in current if isinstance(item, str) and matcher(item, step.pattern)),
                None,
            )
    return current


def role_text(value: object) -> str:
    """A role claim as text: a string as is, anything else as its JSON (PostgREST does the same)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _closing_quote(text: str, start: int, quote: str) -> int:
    position = start + 1
    while position < len(text):
        if text[position] == "\\":
            position += 2
            continue
        if text[position] == quote:
            return position
        position += 1
    raise RoleClaimKeyError(f"unterminated quote in role claim key {text!r}")


def _unquote(quoted: str) -> str:
    body = quoted[1:-1]
    return re.sub(r"\\(.)", r"\1", body)
