/*{
    "ISFVSN": "2",
    "DESCRIPTION": "sixteen bars from the sound's spectrum, the waveform as a line",
    "CREDIT": "written for this project's tests",
    "CATEGORIES": [ "Audio Reactive", "Generator" ],
    "INPUTS": [
        { "NAME": "fft", "TYPE": "audioFFT", "MAX": 16 },
        { "NAME": "wave", "TYPE": "audio", "MAX": 64 },
        { "NAME": "gain", "TYPE": "float", "MIN": 0.0, "MAX": 10.0, "DEFAULT": 1.0 },
        { "NAME": "barColor", "TYPE": "color", "DEFAULT": [ 0.2, 0.8, 1.0, 1.0 ] }
    ]
}*/

void main() {
    vec2 uv = isf_FragNormCoord;
    float column = (floor(uv.x * 16.0) + 0.5) / 16.0;
    float level = IMG_NORM_PIXEL(fft, vec2(column, 0.5)).r * gain;
    float bar = uv.y < level ? 1.0 : 0.0;
    float sample = IMG_NORM_PIXEL(wave, vec2(uv.x, 0.5)).r;
    float line = 1.0 - smoothstep(0.0, 0.02, abs(uv.y - sample));
    gl_FragColor = vec4(barColor.rgb * bar + vec3(line), 1.0);
}
