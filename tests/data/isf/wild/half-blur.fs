/*{
    "ISFVSN": "2",
    "DESCRIPTION": "a cheap blur: blurred at half size across, then down, then scaled up",
    "CREDIT": "written for this project's tests",
    "CATEGORIES": [ "Blur" ],
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "radius", "LABEL": "Radius", "TYPE": "float", "MIN": 0.0, "MAX": 4.0, "DEFAULT": 2.0 }
    ],
    "PASSES": [
        { "TARGET": "across", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2" },
        { "TARGET": "down", "WIDTH": "$WIDTH/2", "HEIGHT": "$HEIGHT/2" },
        { }
    ]
}*/

vec4 taps(vec2 step) {
    vec4 sum = vec4(0.0);
    float total = 0.0;
    for (int i = -4; i <= 4; i++) {
        float w = exp(-float(i * i) / 8.0);
        vec2 at = isf_FragNormCoord + step * float(i) * radius / 4.0;
        if (PASSINDEX == 0)
            sum += w * IMG_NORM_PIXEL(inputImage, at);
        else
            sum += w * IMG_NORM_PIXEL(across, at);
        total += w;
    }
    return sum / total;
}

void main() {
    if (PASSINDEX == 0)
        gl_FragColor = taps(vec2(1.0 / RENDERSIZE.x, 0.0));
    else if (PASSINDEX == 1)
        gl_FragColor = taps(vec2(0.0, 1.0 / RENDERSIZE.y));
    else
        gl_FragColor = IMG_NORM_PIXEL(down, isf_FragNormCoord);
}
