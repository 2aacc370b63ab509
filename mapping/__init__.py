"""facade-mapper: the projection-mapping controller.

Show model, geometry, cues, commands, renderer and outputs.
"""
