/*{
    "ISFVSN": "2",
    "DESCRIPTION": "Demo filter: the picture ripples as if seen through moving water",
    "CREDIT": "projection-mapping demo show",
    "CATEGORIES": ["Distortion Effect"],
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "strength", "LABEL": "Strength", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0 },
        { "NAME": "waves", "LABEL": "Waves", "TYPE": "float", "DEFAULT": 12.0, "MIN": 1.0, "MAX": 40.0 }
    ]
}*/

// Strength 0 leaves the picture untouched; 1 shifts it by up to 2 % of its size.
void main() {
    vec2 uv = isf_FragNormCoord;
    float a = 0.02 * strength;
    vec2 shift = a * vec2(sin(uv.y * waves + TIME * 2.0), cos(uv.x * waves * 0.7 + TIME * 1.6));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, clamp(uv + shift, 0.0, 1.0));
}
