/*{
    "ISFVSN": "2",
    "DESCRIPTION": "colours the picture with one of four blend modes",
    "CREDIT": "written for this project's tests",
    "CATEGORIES": [ "Color Adjustment" ],
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "tint", "LABEL": "Tint", "TYPE": "color", "DEFAULT": [ 1.0, 0.5, 0.25, 1.0 ] },
        { "NAME": "mode", "LABEL": "Mode", "TYPE": "long",
          "VALUES": [ 0, 1, 2, 3 ], "LABELS": [ "Multiply", "Screen", "Add", "Replace" ],
          "DEFAULT": 0 },
        { "NAME": "amount", "TYPE": "float", "DEFAULT": 1.0 }
    ]
}*/

void main() {
    vec4 src = IMG_THIS_PIXEL(inputImage);
    vec3 c = src.rgb;
    vec3 t = tint.rgb;
    vec3 result;
    if (mode == 0) result = c * t;
    else if (mode == 1) result = 1.0 - (1.0 - c) * (1.0 - t);
    else if (mode == 2) result = min(c + t, 1.0);
    else result = t;
    gl_FragColor = vec4(mix(c, result, amount), src.a);
}
