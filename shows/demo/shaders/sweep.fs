/*{
    "ISFVSN": "2",
    "DESCRIPTION": "Demo transition: a soft diagonal sweep from the old picture to the new",
    "CREDIT": "projection-mapping demo show",
    "CATEGORIES": ["Wipe"],
    "INPUTS": [
        { "NAME": "startImage", "TYPE": "image" },
        { "NAME": "endImage", "TYPE": "image" },
        { "NAME": "progress", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0 },
        { "NAME": "softness", "LABEL": "Edge softness", "TYPE": "float", "DEFAULT": 0.15, "MIN": 0.0, "MAX": 0.5 }
    ]
}*/

// The new picture sweeps in from the bottom-left corner; the edge is a soft band of
// width `softness`. Progress 0: all old; 1: all new.
void main() {
    vec2 uv = isf_FragNormCoord;
    float d = (uv.x + uv.y) * 0.5;          // 0 at the bottom-left corner, 1 at the top-right
    float soft = max(softness, 0.001);     // smoothstep needs a band of some width
    float edge = progress * (1.0 + soft);
    float w = 1.0 - smoothstep(edge - soft, edge, d);
    if (progress >= 1.0) w = 1.0;
    gl_FragColor = mix(IMG_NORM_PIXEL(startImage, uv), IMG_NORM_PIXEL(endImage, uv), w);
}
