"""The Interactive Shader Format (ISF) without GL: reading files, pass sizes, GLSL 3.30 source.

:func:`parse_isf` reads an ISF file into an :class:`IsfDocument` (inputs, passes, imported
images, the kind: generator, filter or transition); :mod:`mapping.isf.translate` turns a
document into the vertex and fragment shaders :class:`mapping.gl.isf.IsfProgram` compiles.
"""

from pathlib import Path

from mapping.isf.document import (
    IsfDocument,
    IsfImport,
    IsfInput,
    IsfPass,
    parse_isf,
)
from mapping.isf.expr import ExprError, Expression
from mapping.params import ParamSpec


def param_specs(path: Path) -> tuple[ParamSpec, ...]:
    """The layer parameters an ISF file declares (its settable inputs); the kind table's
    ``params`` function. Raises :class:`~mapping.errors.ValidationError`."""
    return parse_isf(path).params


__all__ = [
    "ExprError",
    "Expression",
    "IsfDocument",
    "IsfImport",
    "IsfInput",
    "IsfPass",
    "param_specs",
    "parse_isf",
]
