"""Shader compile logs as drivers really write them, one sample per family and wording.

Mesa llvmpipe's were captured on this project's CI machine (moderngl's text, headers and
all: ``GLSL Compiler failed`` …). The others are quoted verbatim from public issue threads
(each sample names its thread) or from issue 8 (NVIDIA 580, measured on the lent H200).
Only the log lines are quoted; prefixes programs put in front are kept where they were part
of the line, because real logs arrive with them.

``expected`` lists, in order, each diagnostic ``map_driver_log`` must give: the line in the
artist's file (``None``: the log names none), the severity, and a piece of the message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogSample:
    family: str
    source: str
    log: str
    expected: tuple[tuple[int | None, str, str], ...]


E, W = "error", "warning"

SAMPLES: tuple[LogSample, ...] = (
    # --- Mesa: the same GLSL front end in every Mesa driver (llvmpipe, radeonsi, iris, …)
    LogSample(
        "mesa-llvmpipe",
        "captured here: llvmpipe (LLVM 15.0.6), moderngl 5, generator with iTmie on line 3",
        "GLSL Compiler failed\n\nfragment_shader\n===============\n"
        "0:3(12): error: `iTmie' undeclared\n"
        "0:3(12): error: operands to arithmetic operators must be numeric\n"
        "0:4(23): warning: `t' used uninitialized\n\n",
        ((3, E, "`iTmie' undeclared"), (3, E, "must be numeric"), (4, W, "used uninitialized")),
    ),
    LogSample(
        "mesa-llvmpipe",
        "captured here: missing ';' at the end of line 2, seen at line 3",
        "GLSL Compiler failed\n\nfragment_shader\n===============\n"
        "0:3(1): error: syntax error, unexpected '}', expecting ',' or ';'\n\n",
        ((3, E, "syntax error, unexpected '}'"),),
    ),
    LogSample(
        "mesa-llvmpipe",
        "captured here: a warning before the error",
        "GLSL Compiler failed\n\nfragment_shader\n===============\n"
        "0:3(11): warning: `x' used uninitialized\n0:4(8): error: `nope' undeclared\n\n",
        ((3, W, "`x' used uninitialized"), (4, E, "`nope' undeclared")),
    ),
    LogSample(
        "mesa-llvmpipe",
        "captured here: preprocessor errors (`#if` alone on line 1)",
        "GLSL Compiler failed\n\nfragment_shader\n===============\n"
        "0:1(1): preprocessor error: #if with no expression\n"
        "0:1(1): preprocessor error: Unterminated #if\n\n\n",
        ((1, E, "#if with no expression"), (1, E, "Unterminated #if")),
    ),
    LogSample(
        "mesa-llvmpipe",
        "captured here: a link error (a function declared, never defined): no line",
        "GLSL Linker failed\n\nProgram\n=======\n"
        "error: unresolved reference to function `helper'\n\n",
        ((None, E, "unresolved reference to function `helper'"),),
    ),
    LogSample(
        "mesa-radeonsi",
        "github.com/Tinob/Ishiiruka/issues/101 (AMD VEGA10, Mesa 17.2.5)",
        "0:372(33): error: syntax error, unexpected ';', expecting $end",
        ((372, E, "syntax error, unexpected ';'"),),
    ),
    LogSample(
        "mesa-intel",
        "github.com/mobstac-private/tqrcg-barcode.js/issues/10 (ChromeOS, Intel, Mesa)",
        "0:9(39): error: initializer of global variable `webgl_f601b3120c3bdd70' must be a "
        "constant expression\n"
        "0:10(39): error: initializer of global variable `webgl_86842248626e140d' must be a "
        "constant expression",
        ((9, E, "must be a constant expression"), (10, E, "must be a constant expression")),
    ),
    LogSample(
        "mesa",
        "github.com/luanti-org/luanti/issues/3682 (Irrlicht's prefix in front)",
        "2016-02-09 22:34:58,453 [ERROR] Irrlicht: 0:31(1): preprocessor error: #version must "
        "appear on the first line",
        ((31, E, "#version must appear on the first line"),),
    ),
    # --- NVIDIA: "0(line) : error Cnnnn: message", source string 0
    LogSample(
        "nvidia",
        "issue 8: NVIDIA 580 driver, measured on the lent H200",
        '0(10) : error C1503: undefined variable "iTmie"',
        ((10, E, 'undefined variable "iTmie"'),),
    ),
    LogSample(
        "nvidia",
        "github.com/bradleybauer/music_visualizer/issues/6 (NVIDIA 418.87.01)",
        '0(32) : error C1503: undefined variable "uvl"\n'
        '0(36) : error C1503: undefined variable "uvl"\n'
        '0(40) : error C1503: undefined variable "uvl"',
        ((32, E, '"uvl"'), (36, E, '"uvl"'), (40, E, '"uvl"')),
    ),
    LogSample(
        "nvidia",
        "github.com/djeada/Standard-of-Iron/issues/350 (a program's prefix on the line)",
        'Shader compilation failed: 0(47) : error C1503: undefined variable "F"',
        ((47, E, 'undefined variable "F"'),),
    ),
    LogSample(
        "nvidia",
        "github.com/xemu-project/xemu/issues/315",
        'nv2a: vertex shader compilation failed: 0(274) : error C1503: undefined variable "c107"\n'
        '0(300) : error C1503: undefined variable "c107"',
        ((274, E, '"c107"'), (300, E, '"c107"')),
    ),
    LogSample(
        "nvidia",
        "github.com/luanti-org/luanti/pull/3684 (older code C1008)",
        "2016-02-10 04:24:34: ERROR[Main]: Irrlicht: 0(38) : error C1008: undefined variable "
        '"color1"',
        ((38, E, 'undefined variable "color1"'),),
    ),
    LogSample(
        "nvidia",
        "github.com/jeske/SimpleScene/issues/7 (per-stage headers)",
        "Vertex info\n-----------\n0(38) : error C5025: lvalue in assignment too complex\n\n"
        "Geometry info\n-------------\n0(102) : error C5025: lvalue in assignment too complex",
        ((38, E, "lvalue in assignment too complex"), (102, E, "lvalue in assignment")),
    ),
    LogSample(
        "nvidia",
        "github.com/dune3d/dune3d/issues/131 (several codes)",
        "0(2) : error C0201: unsupported version 330\n"
        '0(2) : error C0000: syntax error, unexpected \'(\', expecting "::" at token "("\n'
        '0(6) : error C7532: global type vec4 requires "#version 100" or later',
        (
            (2, E, "unsupported version 330"),
            (2, E, "syntax error, unexpected '('"),
            (6, E, "global type vec4 requires"),
        ),
    ),
    LogSample(
        "nvidia",
        "github.com/VictorGordan/opengl-tutorials/issues/8 (a continued message, a link error)",
        "Fragment info\n-------------\n"
        "0(4) : error C7548: 'layout(location)' requires \"#extension "
        'GL_ARB_separate_shader_objects : enable" before use\n'
        "0(4) : error C0000: ... or #version 410\n"
        "(0) : error C2003: incompatible options for link",
        (
            (4, E, "'layout(location)' requires"),
            (4, E, "... or #version 410"),
            (None, E, "incompatible options for link"),
        ),
    ),
    LogSample(
        "nvidia",
        "github.com/Falconerd/engine-from-scratch/issues/23 (NVIDIA 536.23, no line)",
        "Error linking shader. Vertex info\n-----------\n(0) : error C5145: must write to "
        "gl_Positionc",
        ((None, E, "must write to gl_Position"),),
    ),
    LogSample(
        "nvidia",
        "github.com/ValveSoftware/Proton/issues/3048 (warnings, wined3d's prefix)",
        "547.038:0034:0044:fixme:d3d_shader:print_glsl_info_log     Vertex info\n"
        "547.038:0034:0044:fixme:d3d_shader:print_glsl_info_log     -----------\n"
        "547.038:0034:0044:fixme:d3d_shader:print_glsl_info_log     0(23) : warning C7050: "
        '"vs_out[1].zw" might be used before being initialized',
        ((23, W, '"vs_out[1].zw" might be used before being initialized'),),
    ),
    # --- glslang-style: AMD (current), Intel on Windows, ANGLE's translator, Apple
    LogSample(
        "amd",
        "the task's AMD wording",
        "ERROR: 0:10: 'iTmie' : undeclared identifier",
        ((10, E, "'iTmie' : undeclared identifier"),),
    ),
    LogSample(
        "amd",
        "github.com/Luna5ama/Alpha-Piscium/pull/1 (RDNA; summary line left out)",
        "composite61.csh: composite61.csh: ERROR: 0:561: 'shared' : initializer can only be a "
        "null initializer ('{}') \nERROR: 1 compilation errors.  No code generated.",
        ((561, E, "initializer can only be a null initializer"),),
    ),
    LogSample(
        "amd",
        "github.com/stuntrally/stuntrally3/issues/46 (follow-ups and summary left out)",
        "ERROR: 0:522: 'worldMaterialIdx' : undeclared identifier \n"
        "ERROR: 0:522: 'worldMaterialIdx' :  left of '[' is not of type array, matrix, or "
        "vector  \n"
        "ERROR: 0:522: 'assign' :  cannot convert from ' const float' to ' flat out uint'\n"
        "ERROR: 0:522: '' : compilation terminated \n"
        "ERROR: 4 compilation errors.  No code generated.",
        (
            (522, E, "'worldMaterialIdx' : undeclared identifier"),
            (522, E, "left of '['"),
            (522, E, "cannot convert"),
        ),
    ),
    LogSample(
        "amd-catalyst",
        "github.com/yvt/openspades/issues/144 (older AMD: error(#nnn) codes)",
        "Vertex shader failed to compile with the following errors:\n"
        "ERROR: 0:89: error(#143) Undeclared identifier: viewPos\n"
        'ERROR: 0:89: error(#216) Vector field selection out of range "xyz"\n'
        "ERROR: error(#273) 3 compilation errors.  No code generated",
        ((89, E, "Undeclared identifier: viewPos"), (89, E, "Vector field selection")),
    ),
    LogSample(
        "amd-catalyst",
        "github.com/PixarAnimationStudios/OpenSubdiv/issues/189 (source string 2)",
        "ERROR: 2:218: error(#143) Undeclared identifier: gl_PrimitiveID\n\n"
        'ERROR: 2:218: error(#160) Cannot convert from: "float" to: "highp int"\n\n'
        "ERROR: error(#273) 8 compilation errors.  No code generated",
        ((218, E, "Undeclared identifier: gl_PrimitiveID"), (218, E, "Cannot convert")),
    ),
    LogSample(
        "intel-windows",
        "github.com/castle-engine/demo-models/issues/5 (Intel HD 4400, 4.3.0 - Build 20…)",
        "WARNING: 0:4: '' : #version directive missing\n"
        "ERROR: 0:12: 'texture2D' : no matching overloaded function found (using implicit "
        "conversion)\n"
        "ERROR: 0:14: 'texture2D' : no matching overloaded function found (using implicit "
        "conversion)",
        (
            (4, W, "#version directive missing"),
            (12, E, "no matching overloaded function"),
            (14, E, "no matching overloaded function"),
        ),
    ),
    LogSample(
        "intel-windows",
        "github.com/RPCS3/rpcs3/issues/3313 (Intel, 20.19.15.4703)",
        "ERROR: 0:222: 'r8' : syntax error syntax error",
        ((222, E, "'r8' : syntax error"),),
    ),
    LogSample(
        "intel-windows",
        "github.com/zesterer/openmw-shaders/issues/1 (Intel HD 4600, source string 9)",
        "ERROR: 9:90: '' :  illegal character (\") (0x22)",
        ((90, E, "illegal character"),),
    ),
    LogSample(
        "apple",
        "the task's Apple/macOS wording",
        "ERROR: 0:10: Use of undeclared identifier 'iTmie'",
        ((10, E, "Use of undeclared identifier 'iTmie'"),),
    ),
    LogSample(
        "apple",
        "github.com/projectM-visualizer/projectm/issues/460 (macOS)",
        "Failed to compile shader 'Fragment: blur1'. Error: ERROR: 0:37: Invalid call of "
        "undeclared identifier 'texture2D'\n"
        "ERROR: 0:50: Use of undeclared identifier 'blur'",
        ((37, E, "Invalid call of undeclared identifier"), (50, E, "'blur'")),
    ),
    LogSample(
        "apple",
        "github.com/armory3d/armory/issues/1911 (macOS; the link error after it has no line)",
        "GLSL compiler error: ERROR: 0:6: Unknown identifier 'binding' in layout\n"
        "ERROR: 0:20: Use of undeclared identifier 'tex'\n\n"
        "GLSL linker error: ERROR: One or more attached shaders not successfully compiled",
        ((6, E, "Unknown identifier 'binding' in layout"), (20, E, "'tex'")),
    ),
    LogSample(
        "angle",
        "github.com/Strilanc/Quirk/issues/378 (Chrome 61, ANGLE's translator)",
        "Info: ERROR: 0:18: 'webgl_286cc28ba4512e72' : undeclared identifier\n"
        "ERROR: 0:18: 'assign' : l-value required (can't modify a const)",
        ((18, E, "undeclared identifier"), (18, E, "l-value required")),
    ),
    LogSample(
        "angle-d3d",
        "github.com/servo/webrender/issues/3661 (ANGLE's HLSL back end: a line of generated "
        "HLSL, not of the artist's file, so no line)",
        "C:\\fakepath(126,1-2): error X3004: undeclared identifier 's3'\n\n"
        "Warning: D3D shader compilation failed with default flags. (vs_5_0)",
        ((None, E, "error X3004: undeclared identifier 's3'"),),
    ),
)
