// Prepended to every GLSL generator layer (shows/<name>/shaders/*.glsl).
// Generators are written Shadertoy-style: define
//     void mainImage(out vec4 fragColor, in vec2 fragCoord)
// fragCoord is in the layer's own pixels with the origin at the BOTTOM-left (as on
// Shadertoy); iResolution is the layer region's size; iTime is the layer's media time in
// seconds (show time since its content was set), so renders are frame-exact.
uniform vec3 iResolution;
uniform float iTime;
uniform int iFrame;
out vec4 _fragColor;
void mainImage(out vec4 fragColor, in vec2 fragCoord);
void main() {
    vec4 c = vec4(0.0, 0.0, 0.0, 1.0);
    mainImage(c, vec2(gl_FragCoord.x, iResolution.y - gl_FragCoord.y));
    _fragColor = c;
}
