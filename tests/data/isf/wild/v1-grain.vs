varying vec2 shifted;

void main()
{
	vv_vertShaderInit();
	shifted = vv_FragNormCoord + drift / RENDERSIZE;
}
