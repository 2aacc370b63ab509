/*{
	"CREDIT": "written for this project's tests, in the style of ISF v1 generators",
	"DESCRIPTION": "an imported picture, drifting",
	"CATEGORIES": [ "Generator" ],
	"INPUTS": [
		{ "NAME": "drift", "TYPE": "point2D", "DEFAULT": [ 0.0, 0.0 ] }
	],
	"IMPORTED": {
		"grain": { "PATH": "grain.png" }
	}
}*/

varying vec2 shifted;

void main()
{
	gl_FragColor = texture2D(grain, shifted);
}
