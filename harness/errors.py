"""The one error type users see: a one-line message and exit status 2, never a traceback."""


class ArchbenchError(Exception):
    """Bad input or a failed check the user can act on. The CLI prints `archbench: <msg>` and exits 2."""


class ConfigError(ArchbenchError, ValueError):
    """A configuration breaks a constraint; the message names the field."""


def one_line(err: BaseException, limit: int = 300) -> str:
    """`TypeName: first line of the message`, cut to `limit` characters, for result rows and the CLI."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    msg = f"{type(err).__name__}: {text}" if not isinstance(err, ArchbenchError) else text
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"
