"""The command line's one error boundary.

Every `detente` command runs inside `guarded`: an expected error (bad input data, a corpus or
config that cannot be used, a model that cannot be loaded or fails its manifest, a file that
cannot be read or written) ends the command with exit code 2 and one line on stderr,
`error: <file>:<line>: <field>: <why>` as the raising code words it. Ctrl-C ends it with 130.
Anything else is a bug and keeps its traceback.

Exit codes: 0 success, 1 some inputs of `detente score` or `detente batch` failed (reported,
the rest scored), 2 an expected error stopped the command, 130 interrupted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    """An expected error raised by a command; its message is the whole report."""


def model_load_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "this model cannot be loaded" (one tuple for every command)."""
    from detente.model.base import BaseModelError
    from detente.model.errors import ModelLoadError

    # load_predictor raises ValueError for an unknown or unusable backend
    return (ModelLoadError, BaseModelError, ValueError, OSError)


def expected_errors() -> tuple[type[BaseException], ...]:
    """Every exception type that is a user's problem rather than a bug."""
    import yaml

    from detente.model.base import BaseModelError
    from detente.model.errors import ModelLoadError
    from detente.training.corpora import DataError

    found: list[type[BaseException]] = [
        CliError,
        DataError,  # CorpusError and config errors are DataErrors too
        ModelLoadError,
        BaseModelError,
        UnicodeError,
        OSError,
        yaml.YAMLError,
    ]
    try:
        from detente.training.evaluation.evaluator import EvaluationError

        found.append(EvaluationError)
    except ImportError:  # pragma: no cover - evaluation extras missing
        pass
    try:
        from detente.model.onnx_backend import OnnxExportError

        found.append(OnnxExportError)
    except ImportError:  # pragma: no cover - onnxruntime missing
        pass
    return tuple(found)


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (an OSError names its file)."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}"
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(message.split())


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr; return the Exit to raise (code 2)."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(EXIT_ERROR)


@contextmanager
def loading_model(model: object) -> Iterator[None]:
    """Turn any model-load failure inside the block into a CliError naming the model."""
    try:
        yield
    except model_load_errors() as exc:
        raise CliError(f"model {model}: {one_line(exc)}") from exc


def guarded(command: F) -> F:
    """Run a command inside the error boundary (see the module docstring)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if isinstance(exc, expected_errors()):
                raise fail(one_line(exc)) from None
            raise

    return run  # type: ignore[return-value]
