/*{
	"CREDIT": "written for this project's tests, in the style of ISF v1 feedback filters",
	"DESCRIPTION": "leaves fading trails behind bright things",
	"CATEGORIES": [ "Stylize", "Feedback" ],
	"INPUTS": [
		{ "NAME": "inputImage", "TYPE": "image" },
		{ "NAME": "decay", "TYPE": "float", "MIN": 0.0, "MAX": 0.99, "DEFAULT": 0.5 }
	],
	"PERSISTENT_BUFFERS": [ "trails" ],
	"PASSES": [ { "TARGET": "trails" }, { } ]
}*/

void main()
{
	vec4 fresh = texture2D(inputImage, vv_FragNormCoord);
	vec4 old = texture2D(trails, vv_FragNormCoord);
	if (PASSINDEX == 0)
		gl_FragColor = max(fresh, old * decay);
	else
		gl_FragColor = old;
}
