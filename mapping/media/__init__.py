"""Media content without GL.

Video clips addressed by media time, images, the MP4 writer, placeholders.
"""
