varying vec2 around[5];

void main()
{
	vv_vertShaderInit();
	vec2 px = spread / RENDERSIZE;
	around[0] = vv_FragNormCoord;
	around[1] = vv_FragNormCoord + vec2(px.x, 0.0);
	around[2] = vv_FragNormCoord - vec2(px.x, 0.0);
	around[3] = vv_FragNormCoord + vec2(0.0, px.y);
	around[4] = vv_FragNormCoord - vec2(0.0, px.y);
}
