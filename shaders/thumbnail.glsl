// Shrink an output texture into a thumbnail: each thumbnail pixel is the mean of
// u_taps x u_taps bilinear samples spread evenly over its footprint in the source (a box
// filter of about (2 u_taps)^2 texels), so a 1280-wide output becomes a 192-wide picture
// without aliasing and without mipmaps on the output texture. Row 0 stays at the top.
#if defined VERTEX_SHADER

in vec2 a_unit;
out vec2 v_uv;

void main() {
    v_uv = a_unit;
    gl_Position = vec4(a_unit * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

in vec2 v_uv;
uniform sampler2D u_texture;
uniform vec2 u_footprint;  // one thumbnail pixel, in source uv
uniform int u_taps;
out vec4 f_color;

void main() {
    vec4 sum = vec4(0.0);
    vec2 corner = v_uv - 0.5 * u_footprint;
    for (int j = 0; j < u_taps; ++j) {
        for (int i = 0; i < u_taps; ++i) {
            vec2 offset = (vec2(i, j) + 0.5) / float(u_taps);
            sum += texture(u_texture, corner + offset * u_footprint);
        }
    }
    f_color = sum / float(u_taps * u_taps);
}

#endif
