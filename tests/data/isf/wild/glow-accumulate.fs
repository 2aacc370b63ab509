/*{
    "ISFVSN": "2.0",
    "DESCRIPTION": "light builds up frame after frame in a float buffer (no clamping at 1)",
    "CREDIT": "written for this project's tests",
    "CATEGORIES": [ "Generator" ],
    "INPUTS": [
        { "NAME": "rate", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 1.0 },
        { "NAME": "restart", "TYPE": "event" }
    ],
    "PASSES": [
        { "TARGET": "energy", "PERSISTENT": true, "FLOAT": true },
        { }
    ]
}*/

void main() {
    if (PASSINDEX == 0) {
        vec4 before = restart ? vec4(0.0) : IMG_THIS_PIXEL(energy);
        gl_FragColor = before + vec4(rate);
    } else {
        vec4 e = IMG_THIS_PIXEL(energy);
        // above 1 is kept in the FLOAT buffer: shown divided by 4
        gl_FragColor = vec4(e.rgb / 4.0, 1.0);
    }
}
