"""Everything that touches OpenGL: contexts, shader loading and the renderer.

Only the render thread uses it.
"""
