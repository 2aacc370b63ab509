/*{
	"CREDIT": "written for this project's tests, in the style of ISF v1 blur filters",
	"DESCRIPTION": "averages each pixel with four neighbours the vertex shader placed",
	"CATEGORIES": [ "Blur" ],
	"INPUTS": [
		{ "NAME": "inputImage", "TYPE": "image" },
		{ "NAME": "spread", "TYPE": "float", "MIN": 0.0, "MAX": 8.0, "DEFAULT": 1.0 }
	]
}*/

#ifdef GL_ES
precision mediump float;
#endif

varying vec2 around[5];

void main()
{
	vec4 sum = vec4(0.0);
	for (int i = 0; i < 5; ++i)
		sum += texture2D(inputImage, around[i]);
	gl_FragColor = sum / 5.0;
}
