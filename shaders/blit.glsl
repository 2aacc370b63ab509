// Copy a texture over the whole target. u_flip_y turns our top-row-first images the right
// way up on a window's default framebuffer (whose row 0 is at the bottom).
#if defined VERTEX_SHADER

in vec2 a_unit;
uniform bool u_flip_y;
out vec2 v_uv;

void main() {
    v_uv = a_unit;
    vec2 ndc = a_unit * 2.0 - 1.0;
    gl_Position = vec4(ndc.x, u_flip_y ? -ndc.y : ndc.y, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

in vec2 v_uv;
uniform sampler2D u_texture;
out vec4 f_color;

void main() {
    f_color = texture(u_texture, v_uv);
}

#endif
