/*{
	"ISFVSN": "2",
	"DESCRIPTION": "the new picture opens as a circle from a point",
	"CREDIT": "written for this project's tests",
	"CATEGORIES": [ "Transition" ],
	"INPUTS": [
		{ "NAME": "startImage", "TYPE": "image" },
		{ "NAME": "endImage", "TYPE": "image" },
		{ "NAME": "progress", "TYPE": "float", "MIN": 0.0, "MAX": 1.0, "DEFAULT": 0.0 },
		{ "NAME": "center", "LABEL": "Centre", "TYPE": "point2D", "DEFAULT": [ 0.0, 0.0 ], "MIN": [ 0.0, 0.0 ], "MAX": [ 4096.0, 4096.0 ] },
		{ "NAME": "edge", "TYPE": "float", "MIN": 0.0, "MAX": 0.5, "DEFAULT": 0.0 }
	]
}*/

void main() {
	// the farthest corner from the centre: progress 1 covers the whole picture
	vec2 far = max(center, RENDERSIZE - center);
	float reach = progress * length(far);
	float d = distance(gl_FragCoord.xy, center);
	float t = edge > 0.0 ? smoothstep(reach - edge * length(far), reach, d) : step(reach, d);
	gl_FragColor = mix(IMG_THIS_PIXEL(endImage), IMG_THIS_PIXEL(startImage), t);
}
