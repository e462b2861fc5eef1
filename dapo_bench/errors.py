"""Errors that the CLI turns into one clear line and exit code 2."""

from __future__ import annotations


class UserInputError(Exception):
    """Bad input from the user: a file, a field, a name. The message says what and where."""


class DataError(UserInputError):
    """A data file is unreadable or malformed; the message names the file, line and field."""

    def __init__(self, path: object, message: str, line: int | None = None,
                 field: str | None = None) -> None:
        where = f"{path}" + (f", line {line}" if line is not None else "")
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")
        self.path, self.line, self.field = path, line, field


def validated(model: type, data: object, path: object, line: int | None = None) -> object:
    """``model.model_validate(data)``, with the first pydantic error turned into a DataError
    that names the file, line and dotted field."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise DataError(path, err["msg"], line=line, field=field) from exc
