// Composite one layer into the canvas framebuffer (canvas_px, rows top-first).
// Output is premultiplied; the renderer sets the blend equation for the layer's blend mode:
//   normal   (ONE, ONE_MINUS_SRC_ALPHA)   add (ONE, ONE)
//   multiply (DST_COLOR, ZERO)            screen (ONE, ONE_MINUS_SRC_COLOR)
#if defined VERTEX_SHADER

in vec2 a_unit;                 // 0..1 across the layer's region
uniform vec4 u_rect_canvas_px;  // x, y, width, height
uniform vec2 u_canvas_size_px;
out vec2 v_uv;

void main() {
    vec2 p_canvas_px = u_rect_canvas_px.xy + a_unit * u_rect_canvas_px.zw;
    v_uv = a_unit;
    // Our framebuffers store row 0 at the top: y_down maps straight to NDC, no flip.
    gl_Position = vec4(p_canvas_px / u_canvas_size_px * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

in vec2 v_uv;
uniform int u_source;           // 0 colour, 1 RGBA texture, 2 YUV planes, 3 premultiplied RGBA,
                                // 4 scaled YCoCg (Hap Q), 5 scaled YCoCg + alpha (Hap Q Alpha)
uniform sampler2D u_texture;    // unit 0: the RGBA texture, the Y plane, or HAP's CoCg_Y
uniform sampler2D u_plane_u;    // unit 1: U plane (subsampled; sampled at the same uv), or
                                //   Hap Q Alpha's alpha (red channel)
uniform sampler2D u_plane_v;    // unit 2: V plane
uniform mat3 u_yuv_to_rgb;      // rgb = M * (yuv - offset), see media.video.yuv_to_rgb_matrix
uniform vec3 u_yuv_offset;
uniform vec4 u_color;
uniform float u_opacity;
uniform int u_blend;            // 0 normal, 1 add, 2 multiply, 3 screen
uniform bool u_straight;        // straight alpha out (a layer's picture for its ISF effects)
out vec4 f_color;

void main() {
    vec4 c = u_color;
    if (u_source == 1) {
        c *= texture(u_texture, v_uv);
    } else if (u_source == 2) {
        vec3 yuv = vec3(texture(u_texture, v_uv).r, texture(u_plane_u, v_uv).r,
                        texture(u_plane_v, v_uv).r);
        c *= vec4(clamp(u_yuv_to_rgb * (yuv - u_yuv_offset), 0.0, 1.0), 1.0);
    } else if (u_source == 3) {  // a crossfade mixed by the renderer, premultiplied
        vec4 p = texture(u_texture, v_uv);
        c = vec4(p.a > 0.0 ? p.rgb / p.a : vec3(0.0), p.a);
    } else if (u_source == 4 || u_source == 5) {
        // Scaled YCoCg in DXT5 (HapVideoDRAFT.md; van Waveren & Castaño 2007): Co in red,
        // Cg in green, (scale - 1) * 8 in blue, Y in alpha.
        vec4 t = texture(u_texture, v_uv);
        float scale = t.b * (255.0 / 8.0) + 1.0;
        float co = (t.r - 128.0 / 255.0) / scale;
        float cg = (t.g - 128.0 / 255.0) / scale;
        float alpha = u_source == 5 ? texture(u_plane_u, v_uv).r : 1.0;
        c *= vec4(clamp(vec3(t.a + co - cg, t.a + cg, t.a - co - cg), 0.0, 1.0), alpha);
    }
    float a = c.a * u_opacity;
    if (u_straight) {
        f_color = vec4(c.rgb, a);
    } else if (u_blend == 2) {
        f_color = vec4(mix(vec3(1.0), c.rgb, a), 1.0);
    } else {
        f_color = vec4(c.rgb * a, a);
    }
}

#endif
