// Shrink an output texture into a thumbnail by exact area averaging: each thumbnail pixel
// is the mean of the source texels under its footprint, each weighted by the part of it
// covered (OpenCV's INTER_AREA), read with texelFetch. No mipmaps are built on, and no
// filter state is changed in, the output texture. Row 0 stays at the top.
#if defined VERTEX_SHADER

in vec2 a_unit;

void main() {
    gl_Position = vec4(a_unit * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

uniform sampler2D u_texture;
uniform vec2 u_scale;  // source pixels per thumbnail pixel, in x and y
out vec4 f_color;

void main() {
    ivec2 size = textureSize(u_texture, 0);
    vec2 lo = floor(gl_FragCoord.xy) * u_scale;  // the footprint [lo, hi) in source pixels
    vec2 hi = min(lo + u_scale, vec2(size));
    ivec2 first = ivec2(floor(lo));
    ivec2 last = ivec2(ceil(hi)) - 1;
    vec4 sum = vec4(0.0);
    for (int y = first.y; y <= last.y; ++y) {
        float wy = min(hi.y, float(y + 1)) - max(lo.y, float(y));
        vec4 row = vec4(0.0);
        for (int x = first.x; x <= last.x; ++x) {
            float wx = min(hi.x, float(x + 1)) - max(lo.x, float(x));
            row += wx * texelFetch(u_texture, ivec2(x, y), 0);
        }
        sum += wy * row;
    }
    f_color = sum / ((hi.x - lo.x) * (hi.y - lo.y));
}

#endif
