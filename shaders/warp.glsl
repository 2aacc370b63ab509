// Draw every surface of one output: each surface's polygon, already mapped into
// projector_px, is rasterised; each fragment finds its canvas point through the
// surface's H_projector_to_canvas (a per-vertex, flat mat3) — a perspective-correct warp
// per pixel, clipped to the polygon by rasterisation.
// Same maths as mapping.geometry.warp_image_reference (tests hold the two together).
#if defined VERTEX_SHADER

in vec2 a_projector_px;
in mat3 a_H_projector_to_canvas;
in vec4 a_mesh;                 // atlas column, row, columns, rows (0 columns: no mesh)
in vec4 a_mesh_rect;            // the grid's rectangle in projector_px: x0, y0, x1, y1
uniform vec2 u_output_size_px;
flat out mat3 v_H_projector_to_canvas;
flat out vec4 v_mesh;
flat out vec4 v_mesh_rect;

void main() {
    v_H_projector_to_canvas = a_H_projector_to_canvas;
    v_mesh = a_mesh;
    v_mesh_rect = a_mesh_rect;
    gl_Position = vec4(a_projector_px / u_output_size_px * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

flat in mat3 v_H_projector_to_canvas;
flat in vec4 v_mesh;
flat in vec4 v_mesh_rect;
uniform sampler2D u_mesh;       // mesh offsets (projector_px) of this output's surfaces
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

// Catmull-Rom weights of the four grid points around t (between the 2nd and 3rd)
vec4 catmull_rom(float t) {
    float t2 = t * t;
    float t3 = t2 * t;
    return 0.5 * vec4(-t3 + 2.0 * t2 - t, 3.0 * t3 - 5.0 * t2 + 2.0,
                      -3.0 * t3 + 4.0 * t2 + t, t3 - t2);
}

// The mesh offset D(p): bicubic Catmull-Rom over the surface's grid, borders clamped
// (mapping.mesh.mesh_offset is the same in numpy).
vec2 mesh_offset(vec2 p) {
    vec2 n = v_mesh.zw;
    vec2 g = clamp((p - v_mesh_rect.xy) / (v_mesh_rect.zw - v_mesh_rect.xy) * (n - 1.0),
                   vec2(0.0), n - 1.0);
    vec2 i = min(floor(g), n - 2.0);
    vec4 wx = catmull_rom(g.x - i.x);
    vec4 wy = catmull_rom(g.y - i.y);
    ivec2 origin = ivec2(v_mesh.xy);
    ivec2 last = ivec2(n) - 1;
    ivec2 first = ivec2(i) - 1;     // the four rows / columns used: first .. first + 3
    vec2 rows[4];
    for (int a = 0; a < 4; a++) {
        int row = clamp(first.y + a, 0, last.y);
        vec2 cols[4];
        for (int b = 0; b < 4; b++) {
            cols[b] = texelFetch(u_mesh, origin + ivec2(clamp(first.x + b, 0, last.x), row), 0).rg;
        }
        // beyond the grid's ends the spline continues its last step (2·P0 − P1)
        if (first.x < 0) cols[0] = 2.0 * cols[1] - cols[2];
        if (first.x + 3 > last.x) cols[3] = 2.0 * cols[2] - cols[1];
        rows[a] = wx[0] * cols[0] + wx[1] * cols[1] + wx[2] * cols[2] + wx[3] * cols[3];
    }
    if (first.y < 0) rows[0] = 2.0 * rows[1] - rows[2];
    if (first.y + 3 > last.y) rows[3] = 2.0 * rows[2] - rows[1];
    return wy[0] * rows[0] + wy[1] * rows[1] + wy[2] * rows[2] + wy[3] * rows[3];
}

void main() {
    // gl_FragCoord is the pixel centre (i + 0.5, j + 0.5) in projector_px, y down
    // because our framebuffers store row 0 at the top.
    vec2 p = gl_FragCoord.xy;
    if (v_mesh.z > 0.0) {
        p -= mesh_offset(p);    // a mesh warp: content moves by the offsets
    }
    vec3 q = v_H_projector_to_canvas * vec3(p, 1.0);
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
