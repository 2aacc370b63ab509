"""Media content without GL.

Video clips addressed by media time (video.py), decoded ahead on a worker thread
(decode_ahead.py), HAP clips as compressed textures (hap.py), live devices read on a
capture thread (live_input.py), images, the MP4 writer, placeholders.
"""
