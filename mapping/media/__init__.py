"""Media content without GL.

Video clips addressed by media time, HAP clips as compressed textures (hap.py), images,
the MP4 writer, placeholders.
"""
