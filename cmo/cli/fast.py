"""`cmo validate` without the CLI toolkit: the plain forms of the command (paths,
``--strict``, ``--format text|json``), so that a pre-commit hook or an editor pays only for the
validation itself. Any other argument (``--help``, ``--debug``, a typo) returns None and the
full command line handles it — with the same output, from the same renderer."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

COLOURS = {"red": "31", "yellow": "33", "green": "32"}


def _parse(argv: list[str]) -> tuple[list[str], bool, str] | None:
    if not argv or argv[0] != "validate":
        return None
    paths: list[str] = []
    strict, fmt = False, "text"
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--strict":
            strict = True
        elif arg in ("--format", "-f"):
            fmt = next(rest, "")
            if fmt not in ("text", "json"):
                return None
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
            if fmt not in ("text", "json"):
                return None
        elif arg == "--":
            paths += list(rest)
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            paths.append(arg)
    return paths, strict, fmt


def fast_validate(argv: list[str]) -> int | None:
    """Run `cmo validate` if ``argv`` is one of its plain forms; the exit code, or None."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    paths, strict, fmt = parsed
    from cmo.cli.validate_text import validation_lines
    from cmo.errors import EXIT_FINDINGS, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, CmoError
    from cmo.theory import validate

    try:
        result = validate([Path(p) for p in paths], strict=strict)
    except CmoError as exc:
        print(f"cmo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"cmo: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        print(
            f"cmo: internal error ({type(exc).__name__}): this is a bug in cmo. Run the "
            "command again with --debug to see the traceback, and report it without any "
            "client data.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        for text, name in validation_lines(result):
            print(f"\x1b[{COLOURS[name]}m{text}\x1b[0m" if colour else text)
    return EXIT_OK if result.ok else EXIT_FINDINGS
