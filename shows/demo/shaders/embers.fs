/*{
    "ISFVSN": "2",
    "DESCRIPTION": "Demo generator: warm embers drifting up the facade",
    "CREDIT": "projection-mapping demo show",
    "CATEGORIES": ["Generator"],
    "INPUTS": [
        { "NAME": "speed", "LABEL": "Speed", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0 },
        { "NAME": "count", "LABEL": "Columns", "TYPE": "float", "DEFAULT": 24.0, "MIN": 4.0, "MAX": 80.0 },
        { "NAME": "tint", "LABEL": "Colour", "TYPE": "color", "DEFAULT": [1.0, 0.45, 0.12, 1.0] }
    ]
}*/

float hash(float n) { return fract(sin(n * 127.1) * 43758.5453); }

// One ember per column of the facade, each rising at its own pace and flickering.
void main() {
    vec2 uv = isf_FragNormCoord;
    float t = TIME * speed;
    float column = floor(uv.x * count);
    float seed = hash(column + 1.0);
    float x = (column + 0.5 + 0.3 * sin(t * 2.0 + seed * 6.2832)) / count;
    float y = fract(seed + t * (0.15 + 0.2 * seed));
    vec2 d = (uv - vec2(x, y)) * vec2(count, count * RENDERSIZE.y / RENDERSIZE.x);
    float glow = exp(-dot(d, d) * 6.0) * (0.6 + 0.4 * sin(t * 9.0 + seed * 40.0));
    float base = 0.25 * smoothstep(0.4, 0.0, uv.y);   // a low warm glow along the ground
    gl_FragColor = vec4(tint.rgb * (glow + base), 1.0);
}
