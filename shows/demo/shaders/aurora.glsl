// Demo generator: slow aurora bands over a night sky (Shadertoy-style mainImage).
// iTime is the layer's media time in seconds, so renders are frame-exact.

vec3 palette(float t) {
    return 0.5 + 0.5 * cos(6.28318 * (vec3(0.0, 0.33, 0.67) + t));
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    float t = iTime * 0.25;
    float bands = 0.0;
    for (int i = 0; i < 3; i++) {
        float fi = float(i);
        float y = 0.55 + 0.12 * sin(uv.x * (3.0 + fi) + t * (1.0 + 0.3 * fi) + fi * 1.7);
        bands += 0.018 / (abs(uv.y - y) + 0.02);
    }
    vec3 sky = mix(vec3(0.01, 0.02, 0.06), vec3(0.05, 0.03, 0.12), uv.y);
    vec3 colour = sky + bands * 0.35 * palette(uv.x * 0.5 + t * 0.2);
    fragColor = vec4(clamp(colour, 0.0, 1.0), 1.0);
}
