/*{
    "ISFVSN": "2",
    "DESCRIPTION": "Demo generator: slow tides of light rising up the facade",
    "CREDIT": "projection-mapping demo show",
    "CATEGORIES": ["Generator"],
    "INPUTS": [
        { "NAME": "speed", "LABEL": "Speed", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0 },
        { "NAME": "bands", "LABEL": "Bands", "TYPE": "float", "DEFAULT": 5.0, "MIN": 1.0, "MAX": 20.0 },
        { "NAME": "tint", "LABEL": "Colour", "TYPE": "color", "DEFAULT": [0.2, 0.55, 1.0, 1.0] }
    ]
}*/

// Soft bands of light drift upwards; each band sways sideways a little. Black between the
// bands, so the facade's own stone shows.
void main() {
    vec2 uv = isf_FragNormCoord;            // 0..1, origin bottom-left
    float t = TIME * speed;
    float sway = 0.04 * sin(uv.x * 6.2832 * 1.5 + t * 1.3);
    float phase = (uv.y + sway - t * 0.25) * bands;
    float band = 0.5 + 0.5 * cos(6.2832 * phase);
    band = pow(band, 6.0);                  // thin bright crests
    float fade = smoothstep(0.0, 0.35, uv.y) * (0.6 + 0.4 * uv.y);
    gl_FragColor = vec4(tint.rgb * band * fade, 1.0);
}
