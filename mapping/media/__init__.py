"""Media content without GL: video clips addressed by media time, images, the MP4 writer, placeholders."""
