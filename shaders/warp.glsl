// Draw every surface of one output: each surface's polygon, already mapped into
// projector_px, is rasterised; each fragment finds its canvas point through the
// surface's H_projector_to_canvas (a per-vertex, flat mat3) — a perspective-correct warp
// per pixel, clipped to the polygon by rasterisation.
// Same maths as mapping.geometry.warp_image_reference (tests hold the two together).
#if defined VERTEX_SHADER

in vec2 a_projector_px;
in mat3 a_H_projector_to_canvas;
uniform vec2 u_output_size_px;
flat out mat3 v_H_projector_to_canvas;

void main() {
    v_H_projector_to_canvas = a_H_projector_to_canvas;
    gl_Position = vec4(a_projector_px / u_output_size_px * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

flat in mat3 v_H_projector_to_canvas;
uniform sampler2D u_canvas;
uniform vec2 u_canvas_size_px;
uniform float u_level;          // master level × this output's level (0..1)
uniform bool u_blend_on;        // soft-edge blending (mapping/blend.py)
uniform sampler2D u_blend;      // over the canvas: r multiplies linear light, g is added
uniform float u_gamma;          // this projector's gamma
// per-output colour (mapping/color.py has the same maths in numpy)
uniform bool u_signal_on;       // LUT, contrast, brightness or gamma differ from identity
uniform bool u_lut_on;
uniform sampler3D u_lut;        // the .cube table, red along x
uniform float u_lut_size;
uniform vec3 u_lut_min;
uniform vec3 u_lut_max;
uniform float u_brightness;
uniform float u_contrast;
uniform float u_color_gamma;
uniform bool u_linear_on;       // gains differ from 1, or blending
uniform vec3 u_gains;           // per channel, in linear light
out vec4 f_color;

void main() {
    // gl_FragCoord is the pixel centre (i + 0.5, j + 0.5) in projector_px, y down
    // because our framebuffers store row 0 at the top.
    vec3 q = v_H_projector_to_canvas * vec3(gl_FragCoord.xy, 1.0);
    vec2 p_canvas_px = q.xy / q.z;
    vec2 uv = p_canvas_px / u_canvas_size_px;
    vec3 rgb = texture(u_canvas, uv).rgb;
    if (u_signal_on) {
        if (u_lut_on) {
            // trilinear between the LUT's points: texel centres at (i + 0.5) / N
            vec3 c = clamp((rgb - u_lut_min) / (u_lut_max - u_lut_min), 0.0, 1.0);
            rgb = texture(u_lut, (c * (u_lut_size - 1.0) + 0.5) / u_lut_size).rgb;
        }
        rgb = clamp((rgb - 0.5) * u_contrast + 0.5 + u_brightness, 0.0, 1.0);
        rgb = pow(rgb, vec3(1.0 / u_color_gamma));
    }
    if (u_linear_on) {
        // in linear light: decode with the projector's gamma, apply the gains and take
        // this output's share (plus the black-level lift), encode again
        vec3 linear = pow(max(rgb, 0.0), vec3(u_gamma)) * u_gains;
        if (u_blend_on) {
            vec2 m = texture(u_blend, uv).rg;
            linear = linear * m.r + m.g;
        }
        rgb = pow(clamp(linear, 0.0, 1.0), vec3(1.0 / u_gamma));
    }
    f_color = vec4(rgb * u_level, 1.0);
}

#endif
